"""Ollama's own memory estimate, llm/memory.go EstimateGPULayers with fs/ggml GraphSize (v0.3–v0.12.10; read at
v0.5.1, v0.9.0 and v0.12.10): the figure Ollama decided its layers on, printed as its "offload to cuda" line.

It is a guess made before anything is allocated, not what llama.cpp then allocates (engines.llamacpp):
  - KV per layer: the context of all slots × (key + value head dims) × KV heads × 2 bytes (q8_0 1, q4_0 0.5).
    Gemma 3's sliding layers (all but every sixth) hold slots × window + batch; gpt-oss's even layers
    slots × 4096 + batch.
  - Compute graphs: a formula per architecture for a full and a partial offload (GraphSize); architectures without
    one get GQA × all layers' KV / 6 for both.
  - Layers: a GPU is used when its free memory holds the larger graph, the 457 MiB minimum and two of blk.0 (its
    weights and KV); it then reserves the minimum and one blk.0. Layers go on while free memory exceeds what is
    reserved, the larger graph and the next layer; the output layer (output_norm and output, or the tied token
    embedding) last. The graph added is the full one when every layer and the output fit, else the partial one.
  - memory.required.partial is what the GPU holds by the estimate, memory.required.full that plus the layers left
    in system RAM.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...spec import ModelSpec
from ...weights import stored_tensors
from .releases import since

# planner's model_type → the GGUF architecture Ollama's GraphSize switches on (Mistral and Mixtral GGUFs are "llama")
OLLAMA_ARCHS = {"llama": "llama", "mistral": "llama", "mixtral": "llama", "qwen2": "qwen2", "gemma": "gemma",
                "gemma2": "gemma2", "gemma3": "gemma3", "gemma3_text": "gemma3", "deepseek_v2": "deepseek2",
                "deepseek_v3": "deepseek2", "gpt_oss": "gptoss", "phi": "phi2", "stablelm": "stablelm",
                "cohere": "command-r", "chatglm": "chatglm", "llama4": "llama4", "llama4_text": "llama4"}
KV_BYTES_PER_ELEMENT = {"fp16": 2.0, "q8_0": 1.0, "q4_0": 0.5}  # kvCacheBytesPerElement: halves, not GGML blocks
GEMMA3_GLOBAL_EVERY = 6   # gemma3GlobalCacheCount
GPT_OSS_WINDOW = 4096     # the even layers' cells in GraphSize (not the model's 128-token window)


@dataclass(frozen=True)
class OllamaEstimate:
    """EstimateGPULayers' result for one GPU, in bytes."""

    layers: int                 # layers.offload: repeating layers and the output layer put on the GPU
    layers_model: int           # n_layers + 1
    kv: int                     # memory.required.kv
    kv_layers: tuple[int, ...]  # each layer's KV
    graph_full: int
    graph_partial: int
    repeating: int              # the blocks' tensors
    output: int                 # memory.weights.nonrepeating: output_norm + output (or the tied token_embd)
    vram: int                   # memory.required.partial (and `ollama ps`'s share on the GPU)
    total: int                  # memory.required.full (`ollama ps` SIZE)


def _heads(spec: ModelSpec) -> tuple[int, int, int]:
    """(KV heads, key head dim, value head dim) as the GGUF's metadata gives them; MLA models as the GGUFs of
    Ollama's library give them (every head's uncompressed key and value)."""
    if spec.mla is not None:
        return spec.n_heads, spec.mla.qk_nope_head_dim + spec.mla.qk_rope_head_dim, spec.mla.v_head_dim
    return spec.n_kv_heads, spec.head_dim, spec.head_dim


def _row(spec: ModelSpec, cache: str) -> float:
    """KV bytes per cell of one layer."""
    heads_kv, k, v = _heads(spec)
    return (k + v) * heads_kv * KV_BYTES_PER_ELEMENT[cache]


def kv_per_layer(spec: ModelSpec, *, context: int, batch: int, slots: int, cache: str,
                 release: tuple[int, ...]) -> list[int]:
    """GraphSize's KV of each layer for `context` cells over all slots (Gemma 3's sliding layers smaller from 0.6.3)."""
    row = _row(spec, cache)
    arch = OLLAMA_ARCHS.get(spec.model_type)
    gemma3_sliding = arch == "gemma3" and spec.sliding_window and since(release, "gemma3_sliding_kv")
    out = []
    for i in range(spec.n_layers):
        cells = context
        if gemma3_sliding and (i + 1) % GEMMA3_GLOBAL_EVERY:
            cells = slots * spec.sliding_window + batch
        elif arch == "gptoss" and i % 2 == 0:
            cells = slots * GPT_OSS_WINDOW + batch
        out.append(int(cells * row))
    return out


def graph_sizes(spec: ModelSpec, *, context: int, batch: int, kv_total: int, slots: int, flash_attn: bool,
                gate_exps_bytes: int, release: tuple[int, ...]) -> tuple[int, int]:
    """(partial, full) compute graphs by GraphSize's formula for the architecture; (0, 0) where it has none."""
    e, h, vocab = spec.d_model, spec.n_heads, spec.vocab_size
    heads_kv, k, _ = _heads(spec)
    eh = e // h  # EmbeddingHeadCountMax: embedding / heads
    b, c = batch, context
    arch = OLLAMA_ARCHS.get(spec.model_type)
    vocab_graph = 4 * b * (e + vocab)
    vocab_partial = vocab_graph + e * vocab * 105 // 128
    if arch in ("llama", "llama4"):
        full = max(4 * b * (1 + 4 * e + c * (1 + h)), vocab_graph)
        partial = 4 * b * e + max(4 * b * (1 + e + max(c, e)) + e * e * 9 // 16 + 4 * c * (b * h + eh * heads_kv),
                                  vocab_partial)
        if spec.moe is not None:  # the Mixtral 8x22B branch: experts in one ffn_gate_exps tensor per layer
            ff = spec.moe.expert_d_ff
            partial = max(3 * gate_exps_bytes + 4 * b * (2 * ff + heads_kv + e + c + eh * heads_kv),
                          4 * (c * b * h + c * eh * heads_kv + b * 1024 + eh * heads_kv * b))
        return partial, full
    if arch in ("gemma", "gemma2", "gemma3"):
        full = max(vocab_graph, 4 * b * (2 + c + c * h + 2 * e + 2 * k * h))
        partial = max(4 * e * b + e * vocab * 105 // 128 + 4 * vocab * b,
                      4 * b * (2 * e + 1 + 2 * k * h + c + c * h) + 4 * k * c * 8 + e * k * h * 9 // 16)
        return partial, full
    if arch == "command-r":
        return (max(vocab_partial, 4 * b * (1 + 2 * e + c * (1 + h)) + 4 * e * c + e * e * 9 // 16),
                max(vocab_graph, 4 * b * (2 + 4 * e + c * (1 + h))))
    if arch == "qwen2":
        return (max(vocab_partial, 4 * (b * (1 + 2 * e + c * (1 + h)) + e * (1 + c))),
                max(vocab_graph, 4 * b * (1 + 2 * e + c + c * h)))
    if arch == "phi2":
        return (max(4 * b * (2 * e + vocab) + e * vocab * 105 // 128, 4 * b * (2 + 3 * e + c + c * h)),
                max(vocab_graph, 4 * b * (1 + 4 * e + c + c * h)))
    if arch == "stablelm":
        full = 4 * b * (c * (1 + h) + 3 * e + 2)
        return max(4 * b * (vocab + 2 * e), full), full
    if arch == "deepseek2":
        return (max(4 * b * (3 * e + vocab) + e * vocab * 105 // 128,
                    4 * b * (2 * e + 1 + 2 * k * heads_kv + c + c * heads_kv) + 4 * k * c * heads_kv
                    + e * k * heads_kv * 9 // 16),
                max(4 * b * (3 * e + vocab), 4 * b * (3 * e + 2 + c * (1 + heads_kv) + 2 * k * heads_kv)))
    if arch == "gptoss":  # kvTotal here is every layer at the full context, before gpt-oss's own rows replace it
        if not since(release, "gptoss_graph_halved"):  # 0.11.0-0.11.7: full = partial, twice the later figure
            full = 4 * h // max(spec.n_kv_heads, 1) * kv_total // 6
            return full, full
        partial = 2 * h // max(spec.n_kv_heads, 1) * kv_total // 6
        if flash_attn:  # "rough estimate of graph size with flash attention on"
            partial = (4 * slots + (c >> 10) + 110) * 2**20
        return partial, 0
    return 0, 0


def graph_batch(release: tuple[int, ...], cells: int, slots: int, num_batch: int) -> int:
    """The batch GraphSize sizes its graphs for, min(num_ctx, num_batch), for a cache of `cells` over `slots`: the
    scheduler handed the estimate num_ctx × slots until 0.11.4, one slot's num_ctx after (GraphSize multiplies)."""
    return min(cells // slots if since(release, "per_sequence_batch") else cells, num_batch)


def estimate_gpu_layers(spec: ModelSpec, quant: str, *, context: int, batch: int, slots: int, cache: str,
                        flash_attn: bool, free_bytes: int, minimum_bytes: int, gpu_overhead_bytes: int = 0,
                        release: tuple[int, ...], metal: bool = False, num_gpu: int | None = None) -> OllamaEstimate:
    """EstimateGPULayers of `release` for one GPU with free_bytes free: `context` cells over all `slots`, graphs of
    `batch` tokens (min(num_ctx, num_batch)); num_gpu: the layers asked for (the num_gpu option), None for all that
    fit."""
    blocks = [0] * spec.n_layers
    output_norm = output = embedding = gate_exps = 0
    for t in stored_tensors(spec, quant):
        if t.layer is not None:
            blocks[t.layer] += t.nbytes
            if t.layer == 0 and t.name.startswith("blk.0.ffn_gate_exps"):
                gate_exps += t.nbytes
        elif t.name.startswith("output_norm"):
            output_norm += t.nbytes
        elif t.name.startswith("output."):
            output += t.nbytes
        elif t.name.startswith("token_embd"):
            embedding += t.nbytes
    out_layer = output_norm + (output or embedding)
    kv = kv_per_layer(spec, context=context, batch=batch, slots=slots, cache=cache, release=release)
    kv_total = sum(kv)
    full_context_kv = spec.n_layers * int(context * _row(spec, cache))
    partial, full = graph_sizes(spec, context=context, batch=batch, kv_total=full_context_kv, slots=slots,
                                flash_attn=flash_attn, gate_exps_bytes=gate_exps, release=release)
    if partial == 0:  # no formula: GQA × KV / 6
        partial = spec.n_heads // max(_heads(spec)[0], 1) * kv_total // 6
    if full == 0:
        full = partial
    if metal:  # "on metal there's no partial offload overhead"
        partial = full
    graph = max(partial, full)
    free = free_bytes - gpu_overhead_bytes
    buffer = blocks[0] + kv[0]
    placed = 0
    overflow = 0
    allocated = 0
    last_first = since(release, "last_first")
    if free >= graph + minimum_bytes + 2 * buffer:
        allocated = minimum_bytes + buffer
        room = True
        order = range(spec.n_layers - 1, -1, -1) if last_first else range(spec.n_layers)
        for i in order:
            size = blocks[i] + kv[i]
            if num_gpu is not None and placed >= num_gpu:
                overflow += size
            elif room and free > allocated + graph + size:
                allocated += size
                placed += 1
            else:
                room = False
                overflow += size
        if not last_first:  # until 0.6.8 every layer left off counted at the last layer's size
            overflow = (spec.n_layers - placed) * (blocks[-1] + kv[-1])
        capped = num_gpu is not None and placed >= num_gpu
        blocks_placed = placed
        if room and not capped and free > allocated + graph + out_layer:
            allocated += out_layer
            placed += 1
        elif not capped or since(release, "output_overflow_always"):  # until 0.7.0 skipped under a num_gpu cap
            overflow += out_layer
        whole = placed == spec.n_layers + 1 or (capped and blocks_placed >= spec.n_layers
                                                and not since(release, "output_overflow_always"))
        if placed:
            allocated += full if whole else partial
    else:
        overflow = sum(blocks) + kv_total + out_layer
    vram = allocated if placed else 0
    return OllamaEstimate(layers=placed, layers_model=spec.n_layers + 1, kv=kv_total, kv_layers=tuple(kv),
                          graph_full=full, graph_partial=partial, repeating=sum(blocks), output=out_layer,
                          vram=vram, total=allocated + overflow)
