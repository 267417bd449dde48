"""GGUF: GGML types, and the type llama.cpp's quantizer picks for each tensor under a preset.

The rules follow llama.cpp's src/llama-quant.cpp (llama_tensor_get_type) as it stood from 2024 to
early 2026 — the version that made the GGUF files published on the Hub — re-expressed here, not
copied. (Its Feb 2026 refactor, PR #19770, routes Phi-3's fused attn_qkv and DeepSeek's attn_kv_b
through the attn_v rule instead of the dedicated qkv rule used here: Q4_K_M/Q5_K_M files of fused-qkv
models then come out ~2% smaller.) Summary for a dense GQA model:
  output (or tied token_embd) → Q6_K;  Q4_K_M/Q5_K_M: attn_v and ffn_down on "more bits" layers → Q6_K;
  Q3_K_M: first attn_v → Q5_K, rest Q4_K, ffn_down Q5_K/Q4_K, attn_output Q4_K;  Q2_K: attn_v Q4_K/Q3_K,
  ffn_down and attn_output Q3_K;  8-expert models: attn_v/attn_k Q8_0, attn_output Q5_K;  80-layer GQA
  models ("70B"): attn_v Q3_K/Q4_K → Q5_K.  A row not divisible by the block falls back (Q4_K → Q5_0 …).
1-D tensors (norms, biases, sinks) and the MoE router stay F32, as convert_hf_to_gguf.py writes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from math import prod

from ..paths import profiles_dir, read_yaml
from ..spec import ModelSpec
from ..tensors import WeightTensor, language_tensors


@dataclass(frozen=True)
class GGMLType:
    name: str
    id: int      # ggml_type number in GGUF tensor infos
    block: int   # elements per block
    bytes: int   # bytes per block

    def row_bytes(self, n: int) -> int:
        if n % self.block:
            raise ValueError(f"row of {n} is not a multiple of {self.name}'s block {self.block}")
        return n // self.block * self.bytes


@lru_cache(maxsize=1)
def _data() -> dict:
    return read_yaml(profiles_dir() / "quants" / "ggml_types.yaml")


@lru_cache(maxsize=1)
def ggml_types() -> dict[str, GGMLType]:
    return {k: GGMLType(k, v["id"], v["block"], v["bytes"]) for k, v in _data()["types"].items()}


# Types that only ever hold activations or integer data, never a weight format to choose.
NOT_WEIGHT_FORMATS = {"Q8_1", "Q8_K", "I8", "I16", "I32", "I64", "F64"}


@lru_cache(maxsize=1)
def presets() -> dict[str, dict]:
    """Preset name (and alias) → {'name', 'default', 'imatrix'}."""
    out = {}
    for name, p in _data()["presets"].items():
        row = {"name": name, "default": p["default"], "imatrix": bool(p.get("imatrix"))}
        for key in (name, *p.get("aliases", ())):
            out[key.lower()] = row
    return out


def gguf_format_names() -> list[str]:
    unique = sorted({p["name"].lower() for p in presets().values()})
    return unique + [f"gguf-{t.lower()}" for t in ggml_types() if t not in NOT_WEIGHT_FORMATS]


# llama-quantize's rules changed over time (research/llamacpp_presets.md, from every commit that touched them):
# "q2_k@b1500" is the Q2_K preset as build 1500 applied it. Builds of GGUF (from 1012, PR #2398) up to 1827 gave
# Q2_K's attn_v, attn_output, ffn_down, ffn_gate and ffn_up Q3_K (PR #2707) — PR #4872 (b1828, 2024-01-11) moved
# gate and up back to Q2_K and made Q3_K_M's and Q4_K_S's "first layers" relative to the depth (n/16, n/8; they had
# been 2 and 4); PR #4996 (b1897) gave Q2_K's attn_v Q4_K where a KV head serves 4 query heads or more.
GGUF_FIRST_BUILD, Q2K_GATE_UP_UNTIL, Q2K_GQA_FROM = 1012, 1828, 1897
_BUILD = re.compile(r"^(.+)@b(\d{1,6})$")


def gguf_format(key: str):
    """QuantFormat for a preset name ("q4_k_m", "q2_k@b1500": as that llama.cpp build applied it) or a pure type
    ("gguf-q4_k"); None if neither."""
    from .catalog import QuantFormat

    src = "https://github.com/ggml-org/llama.cpp/blob/master/src/llama-quant.cpp"
    if (m := _BUILD.match(key)) and (p := presets().get(m[1])):
        build = int(m[2])
        if build < GGUF_FIRST_BUILD:
            from ..errors import UnknownQuantError

            raise UnknownQuantError(f"quant {key!r}: llama.cpp wrote GGUF files from build {GGUF_FIRST_BUILD} on "
                                    f"(PR #2398); b{build} wrote the older GGML format")
        return QuantFormat(name=f"{p['name'].lower()}@b{build}", source=src, gguf_preset=f"{p['name']}@{build}",
                           description=f"llama.cpp {p['name']} preset as build {build}'s llama-quantize chose each "
                                       "tensor's type")
    if key.startswith("gguf-") and key[5:].upper() in ggml_types() and key[5:].upper() not in NOT_WEIGHT_FORMATS:
        t = key[5:].upper()
        return QuantFormat(name=f"gguf-{t.lower()}", source=src, gguf_preset=f"pure:{t}",
                           description=f"GGUF with every matrix in {t} (llama-quantize --pure), "
                                       "falling back where a row does not divide into blocks")
    if p := presets().get(key):
        return QuantFormat(name=p["name"].lower(), source=src, gguf_preset=p["name"],
                           description=f"llama.cpp {p['name']} preset: {p['default']} by default, "
                                       "more bits for attn_v, ffn_down and output as llama-quantize decides")
    return None


_IQ_LOW = {"IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ1_S", "IQ1_M"}
_FALLBACK = {**dict.fromkeys(["IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S", "IQ4_XS"], "IQ4_NL"),
             "Q2_K": "Q4_0", "Q3_K": "Q4_0", "TQ1_0": "Q4_0", "TQ2_0": "Q4_0",
             "Q4_K": "Q5_0", "Q5_K": "Q5_1", "Q6_K": "Q8_0"}


def _use_more_bits(i: int, n: int) -> bool:
    """The first and last eighth of layers, and every third layer between them."""
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


@lru_cache(maxsize=65536)
def _category(name: str) -> str:
    """llama.cpp's name → category test, first match wins."""
    if name == "output.weight":
        return "output"
    if name == "token_embd.weight":
        return "token_embd"
    for pattern, cat in (("attn_qkv.weight", "qkv"), ("attn_v.weight", "v"),
                         ("attn_k.weight", "k"), ("attn_q.weight", "q"), ("attn_output.weight", "attn_output"),
                         ("ffn_up", "ffn_up"), ("ffn_gate", "ffn_gate"), ("ffn_down", "ffn_down")):
        if pattern in name:
            return cat
    return "other"


def _quantizable(t: WeightTensor) -> bool:
    # llama.cpp src/llama-quant.cpp: the router stays unquantized, and "do not quantize Mamba's small yet 2D
    # weights": ssm_conv1d.weight (the convolution of Mamba and of linear-attention layers)
    return t.is_matrix and t.name.endswith("weight") and "_norm.weight" not in t.name \
        and "ffn_gate_inp" not in t.name and "ssm_conv1d.weight" not in t.name


def _shape_fallback(t: WeightTensor, typ: str) -> str:
    types = ggml_types()
    row = t.shape[-1]
    if row % types[typ].block == 0:
        return typ
    fb = _FALLBACK.get(typ)
    if fb is None:
        raise ValueError(f"{t.name}: row of {row} does not divide into {typ} blocks and llama.cpp has no fallback")
    return fb if row % types[fb].block == 0 else "F16"


class _Rules:
    """One pass over the tensors in llama.cpp's visiting order, carrying its counters."""

    def __init__(self, spec: ModelSpec, ft: str, default: str, imatrix: bool, build: int | None = None):
        self.spec, self.ft, self.default, self.imatrix = spec, ft, default, imatrix
        self.build = 10**9 if build is None else build  # None: the current rules
        self.gqa = spec.n_heads // spec.n_kv_heads
        self.n_expert = spec.moe.n_experts if spec.moe else 0
        self.n_layer = spec.n_layers
        self.is_70b = spec.n_layers == 80 and (
            (spec.model_type in ("llama", "mistral") and spec.n_heads != spec.n_kv_heads)
            or spec.model_type == "qwen2")
        self.tied = spec.tie_embeddings
        self.n_wv = sum(_category(t.name) in ("v", "qkv") or "attn_kv_b" in t.name for t in language_tensors(spec))
        self.i_wv = self.i_down = 0

    def _layer(self, counter: int, t: WeightTensor) -> int:
        return t.layer if self.n_expert > 1 else counter

    def pick(self, t: WeightTensor) -> str:
        ft, T, cat, n = self.ft, self.default, _category(t.name), self.n_layer
        E, gqa = self.n_expert, self.gqa
        if cat == "output" or (cat == "token_embd" and self.tied):
            if ft == "MXFP4_MOE" or t.shape[-1] % ggml_types()[T].block:
                return "Q8_0"
            if ft in ("IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ2_S", "IQ2_M", "IQ1_M"):
                return "Q5_K"
            return T if T == "Q8_0" else "Q6_K"
        if ft == "MXFP4_MOE":
            return "MXFP4" if len(t.shape) == 3 else "Q8_0"
        if cat == "token_embd":
            if ft in ("IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ1_M"):
                return "Q2_K"
            if ft in ("IQ2_S", "IQ2_M", "IQ3_XXS"):
                return "IQ3_S"
            return "Q4_K" if ft in ("TQ1_0", "TQ2_0") else T
        if ft in _IQ_LOW:
            if cat == "v":
                self.i_wv += 1
                return "Q4_K" if (gqa >= 4 or E >= 4) else ("IQ3_S" if ft in ("IQ2_S", "IQ2_M") else "Q2_K")
            if E == 8 and cat == "k":
                return "Q4_K"
            if cat == "ffn_down":
                low = self.i_down < n // 8
                self.i_down += 1
                return ("IQ3_S" if ft in ("IQ2_S", "IQ2_M") else "Q2_K") if low else T
            if cat == "attn_output":
                if E == 8:
                    return "Q5_K"
                if ft in ("IQ1_S", "IQ1_M"):
                    return "IQ2_XXS"
                if ft in ("IQ2_S", "IQ2_M"):
                    return "IQ3_S"
            return T
        if cat == "v":
            return self._attn_v(T)
        if cat == "k":
            if E == 8:
                return "Q8_0"
            return {"IQ3_XS": "IQ3_XXS", "IQ3_XXS": "IQ2_S"}.get(ft, T)
        if cat == "q":
            return {"IQ3_XS": "IQ3_XXS", "IQ3_XXS": "IQ2_S"}.get(ft, T)
        if cat == "ffn_down":
            i = self._layer(self.i_down, t)
            self.i_down += 1
            return self._ffn_down(T, i, n)
        if cat == "attn_output":
            if E == 8:
                five = {"Q2_K", "IQ3_XS", "IQ3_XXS", "Q3_K_S", "Q3_K_M", "IQ4_NL", "Q4_K_S", "Q4_K_M",
                        "IQ3_S", "IQ3_M", "IQ4_XS"}
                return "Q5_K" if ft in five else T
            return {"Q2_K": "Q3_K", "IQ3_XXS": "IQ3_S", "Q3_K_M": "Q4_K", "Q3_K_L": "Q5_K",
                    "IQ3_M": "Q4_K"}.get(ft, T)
        if cat == "qkv":
            return {"Q3_K_M": "Q4_K", "Q3_K_L": "Q4_K", "IQ3_M": "Q4_K", "Q4_K_M": "Q5_K", "Q5_K_M": "Q6_K"}.get(ft, T)
        if cat in ("ffn_gate", "ffn_up") and ft == "Q2_K" and self.build < Q2K_GATE_UP_UNTIL:
            return "Q3_K"
        if cat in ("ffn_gate", "ffn_up") and ft == "IQ3_XS":
            i = t.layer if t.layer is not None else 0
            return "IQ3_XXS" if n // 8 <= i < 7 * n // 8 else T
        return T

    def _attn_v(self, T: str) -> str:
        ft, gqa, i, n = self.ft, self.gqa, self.i_wv, self.n_wv
        if ft == "Q2_K":
            T = "Q4_K" if gqa >= 4 and self.build >= Q2K_GQA_FROM else "Q3_K"
        elif ft == "Q2_K_S" and gqa >= 4:
            T = "Q4_K"
        elif ft == "IQ3_XXS":
            T = "Q4_K" if gqa >= 4 else ("IQ3_XXS" if self.imatrix else "IQ3_S")
        elif ft in ("IQ3_XS", "IQ3_S") and gqa >= 4:
            T = "Q4_K"
        elif ft == "IQ3_M":
            T = "Q4_K"
        elif ft == "Q3_K_M":
            T = "Q5_K" if i < 2 else "Q4_K"
        elif ft == "Q3_K_L":
            T = "Q5_K"
        elif ft in ("IQ4_NL", "IQ4_XS") and gqa >= 4:
            T = "Q5_K"
        elif ft in ("Q4_K_M", "Q5_K_M") and _use_more_bits(i, n):
            T = "Q6_K"
        elif ft == "Q4_K_S" and i < 4:
            T = "Q5_K"
        if self.is_70b and T in ("Q3_K", "Q4_K"):
            T = "Q5_K"
        if self.n_expert == 8:
            T = "Q8_0"
        self.i_wv += 1
        return T

    def _ffn_down(self, T: str, i: int, n: int) -> str:
        ft, E = self.ft, self.n_expert
        if ft == "Q2_K":
            return "Q3_K"
        if ft == "Q2_K_S":
            return "Q4_K" if i < n // 8 else T
        if ft == "IQ3_XXS" and not self.imatrix:
            return "Q4_K" if i < n // 8 else "Q3_K"
        relative = self.build >= Q2K_GATE_UP_UNTIL  # PR #4872: the "first layers" counts follow the depth
        if ft == "Q3_K_M":
            return "Q5_K" if i < (n // 16 if relative else 2) else "Q4_K"
        if ft == "IQ3_M" and (i < n // 8 or (E == 8 and _use_more_bits(i, n))):
            return "Q4_K"
        if ft == "Q3_K_L":
            return "Q5_K"
        if ft == "Q4_K_M":
            return "Q6_K" if _use_more_bits(i, n) else T
        if i < n // 8 and ft in ("IQ4_NL", "IQ4_XS") and not self.imatrix:
            return "Q5_K"
        if ft == "Q5_K_M" and _use_more_bits(i, n):
            return "Q6_K"
        if ft == "Q4_K_S" and i < (n // 8 if relative else 4):
            return "Q5_K"
        if ft in ("Q4_0", "Q5_0") and self.imatrix and i < n // 8:
            return "Q4_1" if ft == "Q4_0" else "Q5_1"
        return T


@lru_cache(maxsize=256)
def _visit_order(spec: ModelSpec) -> tuple[tuple[WeightTensor, bool], ...]:
    """Tensors as llama-quantize visits them (layer, then name), each with whether it may be quantized."""
    order = sorted(language_tensors(spec), key=lambda t: (-1 if t.layer is None else t.layer, t.name))
    return tuple((t, _quantizable(t)) for t in order)


@lru_cache(maxsize=1024)
def tensor_types(spec: ModelSpec, preset: str) -> dict[str, str]:
    """GGML type of every tensor of `spec` under a preset ("Q4_K_M") or a pure type ("pure:Q4_K")."""
    build = None
    if preset.startswith("pure:"):
        ft, default, pure, imatrix = None, preset[5:], True, False
    else:
        preset, _, at = preset.partition("@")
        build = int(at) if at else None
        p = presets()[preset.lower()]
        ft, default, pure, imatrix = p["name"], p["default"], False, p["imatrix"]
    mixture = default not in ("F16", "BF16", "F32") and not pure
    rules = _Rules(spec, ft, default, imatrix, build) if mixture else None
    out: dict[str, str] = {}
    for t, quantizable in _visit_order(spec):
        if not quantizable:
            out[t.name] = "F32"  # convert_hf_to_gguf.py writes 1-D tensors and the router in F32
            continue
        typ = rules.pick(t) if rules else default
        if t.is_expert and spec.weights_dtype == "mxfp4" and not t.shape[-1] % ggml_types()["MXFP4"].block:
            # convert_hf_to_gguf.py writes gpt-oss's experts as MXFP4 even in an F16 file, and llama-quantize
            # leaves a tensor already quantized as it is: every published preset keeps them MXFP4 ("All quants keep
            # the feed forward networks at mxfp4", bartowski/openai_gpt-oss-20b-GGUF; Q6_K 12.04 GB, MXFP4 12.1 GB)
            out[t.name] = "MXFP4"
        elif default in ("F16", "BF16", "F32"):
            out[t.name] = typ
        else:
            out[t.name] = _shape_fallback(t, typ)
    return out


def gguf_shape_bytes(shape: tuple[int, ...], typ: str) -> int:
    """Bytes of a tensor of `shape` stored as GGML type `typ`: rows × blocks per row × bytes per block."""
    return prod(shape[:-1]) * ggml_types()[typ].row_bytes(shape[-1])


def gguf_tensor_bytes(t: WeightTensor, typ: str) -> int:
    return gguf_shape_bytes(t.shape, typ)
