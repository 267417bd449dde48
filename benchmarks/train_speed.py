"""How fast training answers come: train_estimate, the searches, and `planner train` as a whole process.

    python benchmarks/train_speed.py

The target is "well under a second" for `planner train MODEL --method qlora --gpu G` (which runs the two searches
too); the dashboard's Fine-tuning view runs the same calls plus plans().
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from timing import best  # noqa: E402

from planner.spec import ModelSpec  # noqa: E402
from planner.training import train_estimate  # noqa: E402
from planner.training.search import max_micro_batch, max_seq_len, plans  # noqa: E402


def time_case(label: str, model, opts: dict) -> None:
    first = best(lambda: train_estimate(model, gpu="h100-sxm", **opts), 1)
    warm = best(lambda: train_estimate(model, gpu="h100-sxm", **opts), 5)
    search = best(lambda: (max_micro_batch(model, gpu="h100-sxm", **opts),
                           max_seq_len(model, gpu="h100-sxm", **opts)), 1)
    plan = best(lambda: plans(model, gpu="h100-sxm", seq_len=opts.get("seq_len", 2048)), 1)
    print(f"{label:<26} estimate {1e3 * first:7.1f} ms first, {1e3 * warm:6.2f} ms warm; both searches "
          f"{1e3 * search:7.1f} ms; plans() {1e3 * plan:7.1f} ms")


def main() -> None:
    widest = ModelSpec(name="1024-layer custom", source="benchmark", model_type="llama", n_layers=1024, d_model=16384,
                       n_heads=128, n_kv_heads=8, head_dim=128, d_ff=53248, vocab_size=128256, max_context=131072,
                       tie_embeddings=False)
    cases = [("Phi-3-small qlora", "microsoft/Phi-3-small-8k-instruct", {"method": "qlora", "seq_len": 4096}),
             ("Llama-3.1-8B full", "meta-llama/Llama-3.1-8B", {}),
             ("Mixtral-8x7B lora ckpt", "mistralai/Mixtral-8x7B-v0.1", {"method": "lora",
                                                                       "gradient_checkpointing": True}),
             ("1,024 layers lora ckpt", widest, {"method": "lora", "gradient_checkpointing": True})]
    for label, model, opts in cases:
        time_case(label, model, opts)
    cmd = [sys.executable, "-m", "planner", "train", "microsoft/Phi-3-small-8k-instruct", "--method", "qlora",
           "--rank", "16", "--seq-len", "4096", "--gpu", "rtx-4090"]
    wall = best(lambda: subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True), 3)
    print(f"`planner train ... --method qlora --gpu rtx-4090` as a process: {wall:.2f} s (best of 3)")


if __name__ == "__main__":
    main()
