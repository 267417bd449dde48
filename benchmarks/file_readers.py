"""Header-reading speed: a GGUF with a 151,936-token vocabulary (Qwen-sized) and a 1000-tensor safetensors file.

    python benchmarks/file_readers.py

Prints planner's reader time next to gguf.GGUFReader's (which materializes every metadata array).
Damaged or hostile files must fail within a second; a sound header should read in well under that.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "files"))
from make_seeds import write_gguf, write_safetensors  # noqa: E402
from timing import best  # noqa: E402

from planner.files.gguf_reader import read_gguf_header  # noqa: E402
from planner.files.safetensors_reader import read_safetensors_header  # noqa: E402


def main() -> None:
    import gguf
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big-vocab.gguf"
        w = gguf.GGUFWriter(str(path), "llama")
        w.add_block_count(1)
        w.add_token_list([f"token{i}" for i in range(151936)])
        w.add_token_scores([0.0] * 151936)
        w.add_tensor("token_embd.weight", np.zeros((8, 8), dtype=np.float16))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        ours = best(lambda: read_gguf_header(path))
        theirs = best(lambda: gguf.GGUFReader(str(path)), n=1)
        size = path.stat().st_size / 1e6
        print(f"GGUF, 151,936-token vocabulary ({size:.1f} MB header): planner {1000 * ours:.0f} ms, "
              f"gguf.GGUFReader {1000 * theirs:.0f} ms")
        st = Path(tmp) / "many.safetensors"
        write_safetensors(st, {f"model.layers.{i}.w": ("BF16", (64, 64)) for i in range(1000)})
        print(f"safetensors, 1000 tensors: planner {1000 * best(lambda: read_safetensors_header(st)):.1f} ms")
        write_gguf(Path(tmp) / "tiny.gguf")
        print(f"tiny GGUF (seed file): {1000 * best(lambda: read_gguf_header(Path(tmp) / 'tiny.gguf')):.2f} ms")


if __name__ == "__main__":
    main()
