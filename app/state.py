"""One state for the whole dashboard, shared by every view and mirrored in the URL.

Every choice lives in st.session_state[STATE] (a plain dict), not in the widgets: a widget is seeded from
it before it is drawn and writes back to it in its on_change callback, so a choice made on one view is the
same on every other and survives page switches. After each change the non-default values are written to
the query string, so the address bar is a link that restores the state exactly.

A link is untrusted. Each value is parsed once, when a session starts; one that fails is named in a notice
above the page and the default is used instead — never a silent substitute.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import streamlit as st
from link_values import choice, flag, mm_counts_text, number, params, text, tokens
from safety import clip, plain

from planner.limits import (
    MAX_BATCH,
    MAX_BYTES,
    MAX_CONTEXT,
    MAX_D_FF,
    MAX_D_MODEL,
    MAX_GPUS,
    MAX_HEAD_DIM,
    MAX_HEADS,
    MAX_LAYERS,
    MAX_LORA_RANK,
    MAX_VOCAB,
)

STATE, NOTICES, LOCAL = "planner_state", "planner_notices", "planner_local_keys"
DEFAULT_MODEL = "microsoft/Phi-3-small-8k-instruct"
SOURCES = ["bundled", "Hugging Face id", "parameter count", "custom", "config.json", "local file"]
ENGINES = ["analytic", "vllm", "sglang", "llama.cpp", "ollama", "transformers"]
# vLLM releases whose memory rules the engine picker offers (planner.engines.vllm.VLLM_RULES: one per period)
VLLM_VERSIONS = ["current", "0.19.1", "0.16.0", "0.10.2", "0.9.0", "0.7.3", "0.6.4", "0.6.3"]
# Ollama releases the engine picker offers (planner.engines.ollama.releases: one for each row of OLLAMA_RULES and
# for the releases before OLLAMA_KV_CACHE_TYPE and ROCm's flash attention)
OLLAMA_VERSIONS = ["current", "0.24.0", "0.15.4", "0.13.3", "0.12.10", "0.12.3", "0.11.11", "0.10.1", "0.9.6",
                   "0.6.8", "0.6.6", "0.5.4", "0.4.7"]
# llama.cpp builds the engine picker offers: one in each period of planner.engines.llamacpp.releases.LLAMACPP_RULES
LLAMACPP_VERSIONS = ["current", "b8000", "b7450", "b7000", "b6900", "b6500", "b6000", "b5600", "b5500", "b5000",
                     "b2800", "b2000"]
KV_CHOICES = ["default", "bf16", "fp16", "fp8", "int8", "int4", "q8_0", "q4_0", "fp32"]
# Fine-tuning: the LoRA target modules offered (peft's names; Phi-3 fuses qkv_proj and gate_up_proj)
LORA_TARGETS = ["all-linear", "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "qkv_proj",
                "gate_up_proj"]
HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
# Custom architecture: key, label, default (a Llama-3-8B-like model), upper bound
CUSTOM_FIELDS = [("c_layers", "layers", 32, MAX_LAYERS), ("c_hidden", "hidden size", 4096, MAX_D_MODEL),
                 ("c_heads", "query heads", 32, MAX_HEADS), ("c_kv", "KV heads", 8, MAX_HEADS),
                 ("c_head_dim", "head dim", 128, MAX_HEAD_DIM), ("c_ff", "intermediate size", 14336, MAX_D_FF),
                 ("c_vocab", "vocabulary", 128256, MAX_VOCAB), ("c_ctx", "max context", 8192, MAX_CONTEXT)]


@cache
def models() -> list[str]:
    """The bundled profiles and the fine-tuned variants planned with them (meta-llama/Llama-3.1-8B-Instruct)."""
    from planner import list_models
    from planner.profiles import variants

    return sorted({*list_models(), *variants().values()}, key=str.lower)


@cache
def gpus() -> list[str]:
    from planner import list_gpus

    return list_gpus()


@cache
def train_choices(field: str) -> list[str]:
    """The values planner.training.TrainSetup accepts for `field` (method, precision, optimizer, distribution);
    "single" is left out of the distributions: one GPU is always single, several need one of the others."""
    from typing import get_args

    from planner.training import TrainSetup

    return [v for v in get_args(TrainSetup.model_fields[field].annotation) if v != "single"]


@cache
def quants() -> list[str]:
    from planner import quant_names

    return [q for q in dict.fromkeys(quant_names()) if q != "checkpoint"]  # the lists put the checkpoint's own first


# --- parsing a link: link_values ------------------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    key: str
    default: object
    parse: Callable[[str], object]
    many: bool = False  # a list: the key repeats in the URL


FIELDS = {f.key: f for f in [
    Field("source", "bundled", choice(lambda: SOURCES)),
    Field("model", DEFAULT_MODEL, choice(models)),
    Field("hub", "", text(HUB_ID, 200, "a Hugging Face id such as org/name")),
    Field("params", "7B", params),
    *[Field(k, d, number(1, top)) for k, _, d, top in CUSTOM_FIELDS],
    Field("c_tied", False, flag),
    Field("path", "", text(None, 1000, "a path")),
    Field("gpu", "rtx-4090", choice(lambda: ["custom", *gpus()])),
    Field("budget", 24.0, number(0.001, MAX_BYTES / 2**30, whole=False)),
    Field("custom_bw", None, number(1.0, 1e5, whole=False)),
    Field("custom_tflops", None, number(0.1, 1e5, whole=False)),
    Field("gpu_mem", None, number(1.0, 1e6, whole=False)),
    Field("own_eff", None, number(0.01, 1.0, whole=False)),  # your own decode share of the bandwidth
    Field("own_pre", None, number(0.01, 1.0, whole=False)),  # and prefill share of the peak FLOP/s
    Field("n_gpus", 1, number(1, MAX_GPUS)),
    Field("split", "tensor", choice(lambda: ["tensor", "pipeline"])),
    Field("quant", "checkpoint", choice(lambda: ["checkpoint", *quants()])),
    Field("kv", "default", choice(lambda: KV_CHOICES)),
    Field("context", 4096, tokens(1, MAX_CONTEXT)),
    Field("max_context", None, number(1, MAX_CONTEXT)),  # rope scaling: the model run beyond its config's context
    Field("generated", 0, number(0, MAX_CONTEXT)),
    Field("batch", 1, number(1, MAX_BATCH)),
    Field("engine", "analytic", choice(lambda: ENGINES)),
    Field("chunk", None, number(1, MAX_CONTEXT)),  # the analytic engine's prefill chunk (the CLI's --chunk)
    Field("vllm_version", "current", choice(lambda: VLLM_VERSIONS)),
    Field("vllm_entry", "serve", choice(lambda: ["serve", "llm"])),
    Field("ollama_version", "current", choice(lambda: OLLAMA_VERSIONS)),
    Field("llamacpp_version", "current", choice(lambda: LLAMACPP_VERSIONS)),
    Field("gmu", None, number(0.01, 1.0, whole=False)),
    Field("fi_sampler", False, flag),
    Field("eager", False, flag),
    Field("prefix_cache", "default", choice(lambda: ["default", "on", "off"])),
    Field("custom_ar", "default", choice(lambda: ["default", "on", "off"])),
    Field("vllm_core", "default", choice(lambda: ["default", "v0", "v1"])),
    Field("cg_gib", None, number(0.0, 1024.0, whole=False)),
    Field("vllm_dp", None, number(1, MAX_GPUS)),  # --data-parallel-size: replicas of the GPUs' split
    Field("block_size", None, number(1, 1024)),  # vLLM --block-size
    Field("sg_chunk", None, number(1, MAX_CONTEXT)),  # SGLang --chunked-prefill-size
    Field("n_batch", None, number(1, MAX_CONTEXT)),  # llama.cpp -b
    Field("cpp_fit", "default", choice(lambda: ["default", "on", "off"])),  # llama.cpp --fit
    Field("kv_unified", False, flag),  # llama.cpp --kv-unified
    Field("vllm_ep", False, flag),  # --enable-expert-parallel
    Field("mm_limits", "", mm_counts_text),
    Field("mxfp4_kernel", "default", choice(lambda: ["default", "marlin", "triton", "flashinfer", "none"])),
    Field("mfs", None, number(0.01, 0.99, whole=False)),
    Field("cpu_offload", None, number(0.0, 1e6, whole=False)),
    Field("max_model_len", None, number(1, MAX_CONTEXT)),
    Field("max_num_seqs", None, number(1, MAX_BATCH)),
    Field("max_batched", None, number(1, MAX_CONTEXT)),
    Field("chunked_prefill", "default", choice(lambda: ["default", "on", "off"])),
    Field("n_ubatch", None, number(1, MAX_CONTEXT)),
    Field("flash_attn", "default", choice(lambda: ["default", "on", "off"])),
    Field("ngl", None, number(0, MAX_LAYERS + 1)),
    Field("n_cpu_moe", None, number(0, MAX_LAYERS)),
    Field("override_tensor", "", text(None, 500, "llama.cpp -ot patterns")),
    Field("no_op_offload", False, flag),
    Field("program", "llama-server", choice(lambda: ["llama-server", "library"])),
    Field("mmproj", False, flag),
    Field("legacy_mla", False, flag),
    Field("host_gib", None, number(0.0, 1e6, whole=False)),
    Field("host_gbps", None, number(1.0, 1e5, whole=False)),
    Field("n_parallel", None, number(1, 256)),
    Field("hf_cache", "dynamic", choice(lambda: ["dynamic", "static"])),
    Field("hf_attention", "sdpa", choice(lambda: ["sdpa", "eager"])),
    Field("max_cache_len", None, number(1, MAX_CONTEXT)),
    Field("unit", "GiB", choice(lambda: ["GiB", "GB"])),
    Field("reserve", 5.0, number(0.0, 50.0, whole=False)),
    # view controls
    Field("models", ("microsoft/Phi-3-small-8k-instruct", "meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-7B",
                     "google/gemma-2-9b"), choice(models), many=True),
    Field("groups", ("common",), choice(lambda: ["common", *quant_group_map()]), many=True),
    Field("gpus", (), choice(gpus), many=True),
    Field("target", 0.0, number(0.0, 1e6, whole=False)),
    # fine-tuning (planner.training.TrainSetup's fields; n_gpus and the GPU are the shared ones)
    Field("method", "full", choice(lambda: train_choices("method"))),
    Field("precision", "bf16", choice(lambda: train_choices("precision"))),
    Field("optimizer", "adamw_fused", choice(lambda: train_choices("optimizer"))),  # the Trainer's default
    Field("lora_rank", 16, number(1, MAX_LORA_RANK)),
    Field("lora_targets", ("all-linear",), choice(lambda: LORA_TARGETS), many=True),
    Field("checkpointing", "default", choice(lambda: ["default", "on", "off"])),
    Field("micro_batch", 1, number(1, MAX_BATCH)),
    Field("seq_len", 2048, number(1, MAX_CONTEXT)),
    Field("grad_accum", 1, number(1, MAX_BATCH)),
    Field("distribution", "ddp", choice(lambda: train_choices("distribution"))),
]}


@cache
def quant_group_map() -> dict[str, list[str]]:
    """The catalog's formats in their groups (present.quant_groups), computed once per process."""
    from present import quant_groups

    return quant_groups(quants())


def start() -> dict:
    """The session's state; on a session's first run, read from the link (bad values become notices)."""
    if STATE in st.session_state:
        return st.session_state[STATE]
    state, notes = {k: f.default for k, f in FIELDS.items()}, []
    local = local_gpu_defaults()[0] if _local_allowed() else {}
    state.update(local)  # this machine's GPU, unless the link names one
    for key in st.query_params:
        field = FIELDS.get(key)
        if field is None:
            notes.append(f"Link parameter {clip(key)} is not one this dashboard knows; ignored.")
            continue
        raws = st.query_params.get_all(key) if field.many else [st.query_params.get(key)]
        if field.many and raws == [""]:  # an empty selection
            state[key] = ()
            continue
        good = []
        for raw in raws[:64]:
            try:
                good.append(field.parse(raw.strip()))  # a pasted link's spaces
            except ValueError as e:
                notes.append(f"Link parameter {key}={clip(raw)} {e}; " + (
                    f"showing {_display(field.default, 'the default')} instead." if not field.many else "left out."))
        if good:
            state[key] = tuple(dict.fromkeys(good)) if field.many else good[0]
        elif field.many:
            notes.append(f"Link parameter {key}: none of its values is usable; showing the default selection.")
    if state["source"] == "local file" and not _local_allowed():
        notes.append("Link parameter source=local file: this server does not read local files; showing a "
                     "bundled model instead.")
        state["source"] = "bundled"
    st.session_state[STATE], st.session_state[NOTICES] = state, notes
    st.session_state[LOCAL] = frozenset(local)
    return state


@cache
def local_gpu_defaults() -> tuple[dict, str | None]:
    """The GPU picker's values for this machine's first NVIDIA GPU (NVML; detected once per process) and its name:
    its catalog id, or a memory budget of its total memory when the catalog lacks it. ({}, None) when there is none,
    when pynvml is missing, or when detection fails in any way: the usual default stays."""
    try:
        from planner.machine import nvidia_gpus

        found = nvidia_gpus()[0]
    except Exception:
        return {}, None
    if not found:
        return {}, None
    g = found[0]
    if g.catalog_id in gpus():
        return {"gpu": g.catalog_id}, g.name
    return {"gpu": "custom", "budget": round(g.total_bytes / 2**30, 3)}, g.name


def local_gpu_choice() -> tuple[str | None, str | None]:
    """(picker value, NVML name) this session pre-selected for this machine's GPU; (None, None) when it did not."""
    if "gpu" not in st.session_state.get(LOCAL, ()):
        return None, None
    values, name = local_gpu_defaults()
    return values.get("gpu"), name


def _display(value, empty: str = "none") -> str:
    return empty if value is None or value == "" else str(value)


def _local_allowed() -> bool:
    from hosting import local_paths_allowed

    return local_paths_allowed()


def show_notices() -> None:
    """The link's problems, above the page, until the first change."""
    for note in st.session_state.get(NOTICES, []):
        st.warning(plain(note))


def sync_url() -> None:
    """Write every non-default value to the query string; drop the rest."""
    state = st.session_state[STATE]
    wanted: dict[str, list[str]] = {}
    for key, field in FIELDS.items():
        value = state[key]
        if (value == field.default and key not in st.session_state.get(LOCAL, ())) or value is None:
            continue  # a value chosen for this machine's GPU is always written: the link must not depend on it
        if key == "path" and state["source"] != "local file":
            continue
        if field.many:
            wanted[key] = list(value) or [""]  # "key=" keeps an empty selection empty
        elif isinstance(value, bool):
            wanted[key] = ["1" if value else "0"]
        else:
            wanted[key] = [_number_text(value)]
    for key in list(st.query_params):
        if key not in wanted:
            del st.query_params[key]
    for key, values in wanted.items():
        if st.query_params.get_all(key) != values:
            st.query_params[key] = values if len(values) > 1 else values[0]


def _number_text(value) -> str:
    """24.0 → '24'; any other float as its shortest exact repr, so a link restores the very same value."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


# --- widgets -------------------------------------------------------------------------------------------------

def _commit(key: str) -> None:
    value = st.session_state[key]
    field = FIELDS[key]
    if field.many:
        value = tuple(value)
    elif isinstance(field.default, float) and value is not None:
        value = float(value)
    elif isinstance(value, str):
        value = value.strip()  # " Qwen/Qwen3-8B " is what the user meant, and what the link must restore
    st.session_state[STATE][key] = value
    if key == "gpu":  # another GPU: a memory size given for the last one is not its
        st.session_state[STATE]["gpu_mem"] = None
    st.session_state[NOTICES] = []  # the link's notices are answered once the user changes something


def widget(kind: str, key: str, label: str, where=None, **kw):
    """A Streamlit widget of `kind` bound to state[key] (seeded from it, written back on change)."""
    state = st.session_state[STATE]
    value = state[key]
    st.session_state[key] = list(value) if FIELDS[key].many else value
    draw = getattr(where or st.sidebar, kind)
    return draw(label, key=key, on_change=_commit, args=(key,), **kw)


_FROZEN: list[bool] = []


def freeze_once() -> None:
    """After the process's first run: move what is loaded by then (modules, catalogs, plotly's classes) out of the
    garbage collector's reach (gc.freeze), so a full collection during a later run scans only that run's objects.
    Measured with benchmarks/app_latency.py: a model's first table went from ~130 ms to the figures printed there."""
    if not _FROZEN:
        import gc

        gc.collect()
        gc.freeze()
        _FROZEN.append(True)


def set_value(key: str, value) -> None:
    """Change state[key] from code (a preset button); the widget shows it on the next run."""
    st.session_state[STATE][key] = value
    st.session_state[NOTICES] = []
