"""Weight bytes of a model in a quantization format, tensor by tensor."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import ceil, prod

from .quant.catalog import QuantFormat, get_quant
from .quant.gguf import gguf_shape_bytes, gguf_tensor_bytes, tensor_types
from .quant.layout import Category, layout_bytes
from .spec import ModelSpec
from .tensors import WeightTensor, weight_tensors

# Component groups of the weights breakdown.
GROUPS = ("embedding", "attention", "mlp", "experts", "router", "output", "norms_biases", "vision")


def tensor_category(t: WeightTensor) -> Category | None:
    """Which catalog category a tensor belongs to; None for norms, biases and sinks (never quantized)."""
    return _role_category(t.role, t.is_matrix)


@lru_cache(maxsize=256)
def _role_category(role: str, is_matrix: bool) -> Category | None:
    if role == "vision":  # an image encoder: no weight format here quantizes it (checkpoints keep it 16-bit)
        return "vision"
    if not is_matrix or role == "bias" or role.startswith("ssm_"):  # a linear layer's conv weights stay 16-bit
        return None
    if role == "token_embd":
        return "embedding"
    if role == "output":
        return "output"
    if role.startswith("attn_"):
        return "attn"
    if role.startswith("ffn_gate_inp"):
        return "router"
    if role.endswith("_exps"):
        return "experts"
    if role.endswith("_shexp"):
        return "shared_experts"
    return "mlp"


def _group(cat: Category | None) -> str:
    return {None: "norms_biases", "attn": "attention", "shared_experts": "experts"}.get(cat, cat)


@lru_cache(maxsize=256)
def _tensor_meta(spec: ModelSpec) -> tuple[tuple[str, Category | None, tuple[int, ...]], ...]:
    return tuple((t.name, tensor_category(t), t.shape) for t in weight_tensors(spec))


@lru_cache(maxsize=256)
def _shape_classes(spec: ModelSpec) -> tuple[tuple[Category | None, tuple[int, ...], int], ...]:
    """(category, shape, how many tensors) — formats that treat tensors alike need only these."""
    counts: dict[tuple, int] = {}
    for t in weight_tensors(spec):
        key = (tensor_category(t), t.shape)
        counts[key] = counts.get(key, 0) + 1
    return tuple((cat, shape, n) for (cat, shape), n in counts.items())


def _plain_bytes(cat: Category | None, shape: tuple[int, ...], fmt: QuantFormat,
                 layer: int | None = None) -> tuple[str, int]:
    if layer is not None and (cat, layer) in fmt.keep_layers:
        return f"{fmt.keep_bits}-bit", ceil(prod(shape) * fmt.keep_bits / 8)
    if cat in fmt.overrides:
        return f"{fmt.overrides[cat].bits:g}-bit", layout_bytes(fmt.overrides[cat], shape)
    if cat in fmt.quantizes:
        return fmt.name, layout_bytes(fmt.layout, shape)
    return f"{fmt.keep_bits}-bit", ceil(prod(shape) * fmt.keep_bits / 8)


def file_tensor_group(name: str) -> str:
    """Breakdown group of a tensor named as GGUF (blk.N.attn_q.weight) or Hugging Face (…self_attn.q_proj…) names it."""
    n = name.lower()
    if n.endswith(".bias") and "exps" not in n and "experts" not in n:
        return "norms_biases"
    if "norm" in n or "rope_freqs" in n or "sinks" in n:
        return "norms_biases"
    if n.startswith("token_embd") or "embed_tokens" in n or n.startswith("wte") or "word_embeddings" in n:
        return "embedding"
    if n.startswith("output.") or n.startswith("lm_head"):
        return "output"
    if "gate_inp" in n or ".router." in n or n.endswith("mlp.gate.weight") or "e_score_correction" in n \
            or "exp_probs" in n:
        return "router"
    if "exps" in n or "experts" in n or "shexp" in n or "shared_expert" in n:
        return "experts"
    if "attn" in n or "attention" in n:
        return "attention"
    if "ffn" in n or "mlp" in n or "feed_forward" in n:
        return "mlp"
    return "norms_biases"


@lru_cache(maxsize=4096)
def tensor_bytes(spec: ModelSpec, quant: str) -> tuple[tuple[str, str, int], ...]:
    """(tensor name, stored type, bytes) for every tensor of `spec` stored as `quant`."""
    fmt = get_quant(quant)
    if fmt.name == "checkpoint":
        if spec.checkpoint is None:
            from .errors import UnknownQuantError

            raise UnknownQuantError(f"quant 'checkpoint' needs a model read from a GGUF or safetensors file; "
                                    f"{spec.name} has none")
        return tuple((t.name, t.dtype, t.nbytes) for t in spec.checkpoint.tensors)
    if fmt.is_gguf:
        types = tensor_types(spec, fmt.gguf_preset)
        # an image encoder is not in the model file (llama.cpp's separate mmproj file): none of its bytes here
        return tuple((t.name, types[t.name], gguf_tensor_bytes(t, types[t.name])) if t.name in types
                     else (t.name, "mmproj", 0) for t in weight_tensors(spec))
    return tuple((t.name, *_plain_bytes(tensor_category(t), t.shape, fmt, t.layer)) for t in weight_tensors(spec))


@dataclass(frozen=True)
class StoredTensor:
    """A weight tensor as stored: where it sits (layer, group) and its bytes in the chosen format."""

    name: str
    group: str            # embedding, attention, mlp, experts, router, output, norms_biases
    layer: int | None
    is_matrix: bool       # split by tensor parallelism; 1-D tensors are replicated
    is_routed_expert: bool
    nbytes: int
    cols: int = 0         # row length (the last dimension)
    stored_as: str = ""   # the type it is stored in
    rows: int = 1         # rows of one matrix (the second-to-last dimension)


def _layer_from_name(name: str) -> int | None:
    parts = name.split(".")
    for marker in ("blk", "layers", "h"):
        if marker in parts:
            i = parts.index(marker)
            if i + 1 < len(parts) and parts[i + 1].isdigit():
                return int(parts[i + 1])
    return None


@lru_cache(maxsize=4096)
def stored_tensors(spec: ModelSpec, quant: str) -> tuple[StoredTensor, ...]:
    """Every stored tensor with its bytes: the spec's tensors in `quant`, or a loaded file's own tensors."""
    if get_quant(quant).name == "checkpoint":
        out = []
        for t, (_, _, n) in zip(spec.checkpoint.tensors, tensor_bytes(spec, quant), strict=True):
            group = file_tensor_group(t.name)
            routed = group == "experts" and "shexp" not in t.name and "shared_expert" not in t.name
            out.append(StoredTensor(t.name, group, _layer_from_name(t.name),
                                    len(t.shape) >= 2 and not t.name.endswith(".bias"), routed, n, t.shape[-1],
                                    t.dtype, t.shape[-2] if len(t.shape) >= 2 else 1))
        return tuple(out)
    return tuple(StoredTensor(t.name, _group(tensor_category(t)), t.layer, t.is_matrix and t.role != "bias",
                              t.is_expert or (t.role == "bias" and "_exps." in t.name), n, t.shape[-1], kind,
                              t.shape[-2] if len(t.shape) >= 2 else 1)
                 for t, (_, kind, n) in zip(weight_tensors(spec), tensor_bytes(spec, quant), strict=True))


@lru_cache(maxsize=4096)
def _breakdown(spec: ModelSpec, quant: str) -> tuple[tuple[str, int], ...]:
    out = dict.fromkeys(GROUPS, 0)
    if get_quant(quant).name == "checkpoint":
        for name, _, n in tensor_bytes(spec, quant):
            out[file_tensor_group(name)] += n
    elif get_quant(quant).is_gguf:
        types = tensor_types(spec, get_quant(quant).gguf_preset)
        counts: dict[tuple, int] = {}
        for name, cat, shape in _tensor_meta(spec):
            if name not in types:  # the image encoder's tensors: in the mmproj file, not the model's
                continue
            key = (cat, shape, types[name])
            counts[key] = counts.get(key, 0) + 1
        for (cat, shape, typ), count in counts.items():
            out[_group(cat)] += count * gguf_shape_bytes(shape, typ)
    elif get_quant(quant).keep_layers:  # some layers differ: tensor by tensor
        for (_, _, n), (_, cat, _) in zip(tensor_bytes(spec, quant), _tensor_meta(spec), strict=True):
            out[_group(cat)] += n
    else:
        fmt = get_quant(quant)
        for cat, shape, count in _shape_classes(spec):
            out[_group(cat)] += count * _plain_bytes(cat, shape, fmt)[1]
    return tuple(out.items())


def weights_breakdown(spec: ModelSpec, quant: str) -> dict[str, int]:
    """Weight bytes per component group (embedding, attention, mlp, experts, router, output, norms_biases)."""
    return dict(_breakdown(spec, quant))


def vision_encoder_bytes(spec: ModelSpec) -> int:
    """A vision-language model's image encoder kept 16-bit, as llama.cpp's mmproj files and Ollama's model files hold
    it beside a GGUF's quantized layers; 0 for a text model."""
    return 0 if spec.vision is None else weights_breakdown(spec, "bf16")["vision"]


def weights_bytes(spec: ModelSpec | str, quant: str | None = None) -> int:
    """Bytes of all weights stored as `quant` (None: the checkpoint's own weights_dtype); `spec` a ModelSpec or
    anything load_model takes ("llama-3.1-8b")."""
    if not isinstance(spec, ModelSpec):
        from .profiles import load_model

        spec = load_model(spec)
    return sum(weights_breakdown(spec, quant or spec.weights_dtype).values())


__all__ = ["GROUPS", "stored_tensors", "tensor_bytes", "tensor_category", "vision_encoder_bytes",
           "weights_breakdown", "weights_bytes"]


@lru_cache(maxsize=4096)
def gpu_placement(n_layers: int, n_gpu_layers: int, *, output_first: bool = False) -> tuple[int, bool]:
    """(the first layer llama.cpp's -ngl puts on the GPU, whether the output layer is there): the last layers go to
    the GPU (llama-model.cpp load_tensors, i_gpu_start), the output counted as layer n_layers. Before PR #18148 the
    output went last, only with every layer (n_gpu_layers > n_layers); from it (`output_first`, "llama: offload output
    layer to GPU first") it goes first: n_gpu_layers ≥ 1 puts it there beside the last n_gpu_layers − 1 layers."""
    if output_first:
        return min(max(n_layers + 1 - n_gpu_layers, 0), n_layers), n_gpu_layers >= 1
    return max(n_layers - n_gpu_layers, 0), n_gpu_layers > n_layers


def llamacpp_on_gpu(t: StoredTensor, first: int, output_on_gpu: bool, *, cpu_moe_layers: int = 0,
                    on_cpu=None) -> bool:
    """Whether llama.cpp holds tensor `t` on the GPU under gpu_placement's (first layer, output on the GPU): a name
    `on_cpu` finds (-ot …=CPU) stays in system RAM, as do the routed experts of the first `cpu_moe_layers` layers
    (--n-cpu-moe); a tensor outside the layers goes with the output (the embedding table only as a tied lm_head's
    copy, the table itself staying in system RAM)."""
    if on_cpu is not None and on_cpu(t.name):
        return False
    if t.layer is None:
        return output_on_gpu
    return t.layer >= first and not (t.is_routed_expert and t.layer < cpu_moe_layers)


def offload_split(spec: ModelSpec, quant: str, gpu_layers: int) -> tuple[int, int, int]:
    """(device, host, token_embd) weight bytes with `gpu_layers` layers on the GPU (llama.cpp -ngl before b7467):
    the embedding table stays in system RAM unless it is the tied lm_head of a full offload; the other tensors
    outside the layers (output, final norm) go to the GPU only with every layer."""
    device = host = token_embd = 0
    for t in stored_tensors(spec, quant):
        on_device = (t.layer is not None and t.layer < gpu_layers) or (
            t.layer is None and t.group != "embedding" and gpu_layers == spec.n_layers)
        if t.group == "embedding" and spec.tie_embeddings and gpu_layers == spec.n_layers:
            on_device = True  # the tied matrix is the lm_head
        if t.group == "embedding" and not spec.tie_embeddings:
            token_embd += t.nbytes
        device, host = (device + t.nbytes, host) if on_device else (device, host + t.nbytes)
    return device, host, token_embd


def is_mxfp4_expert(t: StoredTensor) -> bool:
    """A routed expert's matrix stored as MXFP4: the catalog's mxfp4 type, GGUF's MXFP4, or a safetensors checkpoint's
    packed blocks and their scales (gpt-oss: experts.gate_up_proj_blocks, …_scales)."""
    return t.is_routed_expert and t.is_matrix and (
        t.stored_as.lower() == "mxfp4" or (t.stored_as == "U8" and t.name.endswith(("_blocks", "_scales"))))


# Matrices tensor parallelism keeps whole on every rank: MLA's low-rank down-projections (q_a_proj and
# kv_a_proj_with_mqa: ReplicatedLinear in vLLM's models/deepseek_v2.py and SGLang's, whose outputs feed a norm over
# the whole latent) and a MoE layer's router (the gate: ReplicatedLinear in vLLM's mixtral.py, qwen2_moe.py,
# deepseek_v2.py), whose logits every rank needs whole.
TP_REPLICATED_ROLES = (".attn_q_a.", ".attn_kv_a_mqa.")


def tp_replicated(t: StoredTensor) -> bool:
    """Whether tensor parallelism keeps this matrix whole on every rank (TP_REPLICATED_ROLES and routers)."""
    return t.group == "router" or any(role in t.name for role in TP_REPLICATED_ROLES)


# A decoder layer's key and value projections, alone or fused with the query's, as planner (GGUF) and a Hugging Face
# checkpoint name them; an image encoder's (vision, visual, v.blk) are not the text model's KV heads
_KV_PROJ = re.compile(r"(?:^|\.)(?:attn_k|attn_v|k_proj|v_proj)\.")
_QKV_PROJ = re.compile(r"(?:^|\.)(?:attn_qkv|qkv_proj)\.")
_IMAGE_ENCODER = re.compile(r"vision|visual|^v\.|^mm\.")


def tp_matrix_share(t: StoredTensor, spec: ModelSpec, tp: int) -> Fraction:
    """The share of matrix `t` one of `tp` tensor-parallel ranks holds: 1 for the matrices kept whole (tp_replicated),
    else 1/tp, but for the key and value projections when tp exceeds the KV heads: each rank then holds one whole KV
    head, 1/n_kv_heads of K and V (vLLM 0.33 and SGLang 0.5.23 QKVParallelLinear, model_executor/layers/linear.py and
    srt/layers/linear.py: `if tp_size >= self.total_num_kv_heads: self.num_kv_heads = 1; self.num_kv_head_replicas =
    divide(tp_size, self.total_num_kv_heads)`), so K and V split min(tp, n_kv_heads) ways; a fused QKV matrix holds
    1/tp of the query heads beside that (an MLA latent has no KV heads: its down-projection is tp_replicated)."""
    if tp_replicated(t):
        return Fraction(1)
    kv_ways = min(tp, spec.n_kv_heads)
    if kv_ways == tp or spec.mla is not None or t.layer is None or _IMAGE_ENCODER.search(t.name):
        return Fraction(1, tp)
    if _KV_PROJ.search(t.name):
        return Fraction(1, kv_ways)
    if _QKV_PROJ.search(t.name):  # q heads of head_dim, then K and V of n_kv_heads each: by heads, whatever the layout
        q, kv = spec.n_heads, 2 * spec.n_kv_heads
        return (Fraction(q, tp) + Fraction(kv, kv_ways)) / (q + kv)
    return Fraction(1, tp)


def stage_weights(spec: ModelSpec, quant: str, layers_per_stage: list[int], *, tp: int = 1,
                  ep: int | None = None, whole_experts: bool = False, only=None) -> list[int]:
    """Weight bytes on one GPU of each pipeline stage holding `layers_per_stage` consecutive layers, its matrices
    split `tp` ways (tensor parallel: attention by heads, K and V at most n_kv_heads ways (tp_matrix_share), MLP by
    columns, embedding and lm_head by vocabulary; norms,
    biases, MLA's down-projections and MoE routers whole: tp_replicated) and its routed experts `ep` ways (default
    tp): each expert's columns split, or with whole_experts (expert parallel) whole experts spread over the GPUs, the
    first n_experts % ep GPUs one more each (vLLM's expert_map_manager, SGLang's alike): the heaviest GPU's bytes.
    The first stage also holds the embedding, the last the lm_head and the final norm (and the tied embedding matrix
    again as its lm_head when there is more than one stage). only: a test of a StoredTensor; the tensors it passes
    alone (is_mxfp4_expert, say)."""
    return list(_stage_weights(spec, quant, tuple(layers_per_stage), tp, tp if ep is None else ep,
                               whole_experts and spec.moe is not None, only))


@lru_cache(maxsize=4096)
def _stage_weights(spec: ModelSpec, quant: str, layers_per_stage: tuple[int, ...], tp: int, ep: int,
                   whole_experts: bool, only) -> tuple[int, ...]:
    stage_of = {}
    start = 0
    for s, n in enumerate(layers_per_stage):
        stage_of.update({layer: s for layer in range(start, start + n)})
        start += n
    last = len(layers_per_stage) - 1
    out = [0] * len(layers_per_stage)
    for t in stored_tensors(spec, quant):
        if only is not None and not only(t):
            continue
        if whole_experts and t.is_routed_expert:  # ceil(E / ep) of the layer's E experts, stacked or one by one
            experts = spec.moe.n_experts
            share = ceil(t.nbytes * -(-experts // ep) / experts)
        elif not t.is_matrix:
            share = t.nbytes
        else:
            share = ceil(t.nbytes * (Fraction(1, ep) if t.is_routed_expert else tp_matrix_share(t, spec, tp)))
        if t.layer is not None and t.layer in stage_of:
            out[stage_of[t.layer]] += share
        elif t.group == "embedding":
            out[0] += share
            if spec.tie_embeddings and last > 0:
                out[last] += share
        else:
            out[last] += share
    return tuple(out)
