"""How fast a user error comes back from the command line, as a whole process (start-up included).

Runs each erroneous command line a few times with the installed `planner` console script and prints the median
wall time per case and over all cases. Target: median < 0.3 s. Usage: python benchmarks/cli_errors.py [--repeat N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

CASES = [
    ["estimate", "meta-llama/Meta-Llama-3-8B", "--batch", "0"],
    ["estimate", "meta-llama/Meta-Llama-3-8B", "--unit", "TiB"],
    ["estimate", "meta-llama/Meta-Llama-3-8B", "--engine", "tgi"],
    ["estimate", "meta-llama/Meta-Llama-3-8B", "--context", "eight"],
    ["estimate", "no-such-model"],
    ["estimate", "meta-llama/Meta-Llama-3-8B", "--quant", "q4_k_z"],
    ["estimate", "meta-llama/Meta-Llama-3-8B", "--gpu", "rtx-9999"],
    ["estimate", "meta-llama/Meta-Llama-3-8B", "--context", "1M"],
    ["estimate", "meta-llama/Meta-Llama-3-8B", "--engine", "llama.cpp", "--kv-dtype", "int4"],
    ["estimate", "meta-llama/Meta-Llama-3-8B", "--engine", "vllm", "--gpu", "rtx-4090", "--context", "8K",
     "--max-model-len", "4K"],
    ["fit", "meta-llama/Meta-Llama-3-8B", "--context", "8K", "--min-tokens-per-s", "nan"],
    ["table", "no-such-model"],
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    exe = shutil.which("planner")
    command = [exe] if exe else [sys.executable, "-m", "planner"]
    medians = []
    for case in CASES:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            done = subprocess.run(command + case, capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            assert done.returncode == 2 and done.stderr.count("\n") == 1, (case, done.returncode, done.stderr)
        medians.append(statistics.median(times))
        print(f"{statistics.median(times):6.3f} s  {' '.join(case)[:90]}")
    print(f"median over {len(CASES)} error cases: {statistics.median(medians):.3f} s "
          f"(slowest {max(medians):.3f} s); target < 0.3 s")


if __name__ == "__main__":
    main()
