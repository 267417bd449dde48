"""Upper bounds on every dimension planner accepts, so that a hostile file, link or call is refused at once.

Each bound is far above any published model (the largest noted beside it) and low enough that the
work of an estimate stays bounded: tensors are enumerated layer by layer, so MAX_LAYERS bounds the
time of one estimate (about 0.08 s at 1,024 layers of a 405B-wide model on the project's 2-core machine), and
the products of the other bounds stay far below 2^63 bytes in the vectorized sweeps (planner.sweep also checks).
"""

from __future__ import annotations

MAX_LAYERS = 1024            # Llama-3.1-405B: 126; PaLM-540B: 118
MAX_D_MODEL = 2**17          # 131,072; Llama-3.1-405B: 16,384
MAX_HEADS = 4096             # query or KV heads; Llama-3.1-405B: 128
MAX_HEAD_DIM = 4096          # Gemma-2/3: 256; DeepSeek-V3 MLA qk: 192
MAX_D_FF = 2**20             # 1,048,576; Llama-3.1-405B: 53,248
MAX_VOCAB = 2**23            # 8,388,608; Gemma-3: 262,208
MAX_CONTEXT = 2**27          # 134,217,728 tokens; Llama-4-Scout: 10,485,760
MAX_EXPERTS = 4096           # Qwen3-Next: 512
MAX_LORA_RANK = 2**16        # MLA ranks; DeepSeek-V3 q_lora_rank: 1,536
MAX_BATCH = 2**20            # concurrent sequences in one workload (vLLM's default max_num_seqs: 256)
MAX_GPUS = 1024              # GPUs in one plan
MAX_BYTES = 2**62            # any total above this is refused (4 EiB: no machine holds it; int64 stays exact)
MAX_CONFIG_BYTES = 10 * 2**20  # a config.json (the largest published ones are a few hundred KiB)
