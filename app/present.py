"""How the dashboard words and colours its numbers: verdicts, human column names, rounding, context labels.

Pure functions (no Streamlit): each view formats through these, so every view reads the same way.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# Okabe & Ito's colour-blind-safe palette (Okabe M., Ito K., "Color Universal Design", 2008,
# https://jfly.uni-koeln.de/color/): blue, orange and vermillion stay distinct under every common colour-vision
# deficiency; each state also carries its own symbol, so colour is never the only cue.
FITS, TIGHT, NO = "fits", "tight", "does not fit"
COLOURS = {FITS: "#0072B2", TIGHT: "#E69F00", NO: "#D55E00"}
SYMBOLS = {FITS: "✓", TIGHT: "≈", NO: "✗"}
COMPONENT_COLOURS = {"weights": "#0072B2", "KV cache": "#009E73", "activations": "#CC79A7", "overhead": "#999999"}
# A training step's components (planner.training.TrainEstimate.components, plus overhead), in the same palette
TRAIN_COLOURS = {"weights": "#0072B2", "master weights": "#56B4E9", "gradients": "#009E73",
                 "optimizer states": "#E69F00", "activations": "#CC79A7", "logits": "#F0E442",
                 "temporaries": "#D55E00", "overhead": "#999999"}
DEFAULT_RESERVE_PCT = 5.0  # "tight" below this share of usable memory left free (display only; user-set)

COLUMN_NAMES = {  # internal column → what a reader sees (bytes columns get the unit appended)
    "model": "Model", "params": "Parameters", "quant": "Weights", "kv_dtype": "KV cache", "context": "Context",
    "batch": "Concurrent requests", "gpu": "GPU", "n_gpus": "GPUs", "weights_bytes": "Weights",
    "kv_cache_bytes": "KV cache", "activation_bytes": "Activations", "overhead_bytes": "Overhead",
    "total_bytes": "Total", "per_gpu_total_bytes": "Per GPU", "gpu_memory_bytes": "GPU memory",
    "usable_bytes": "Usable", "verdict": "Verdict", "decode_tokens_per_s": "Decode (tok/s per request)",
    "throughput_tokens_per_s": "Throughput (tok/s)", "prefill_seconds": "Time to first token (s)",
    "max_context": "Largest context", "reason": "Why not", "explanation": "Per GPU, by component",
    "meets_target": "Meets speed target", "split": "Split",
}


@dataclass(frozen=True)
class Verdict:
    state: str  # FITS, TIGHT or NO
    text: str   # one sentence for the reader

    @property
    def symbol(self) -> str:
        return SYMBOLS[self.state]


def verdict_state(total_bytes: int, usable_bytes: int, reserve_pct: float, *, refused: bool = False) -> str:
    """FITS with at least `reserve_pct` % of usable memory free, TIGHT with less, NO above it (or refused)."""
    if refused or total_bytes > usable_bytes:
        return NO
    return TIGHT if usable_bytes - total_bytes < usable_bytes * reserve_pct / 100 else FITS


def context_label(tokens: int) -> str:
    """1024 → '1K', 131072 → '128K', 8000 → '8,000' (exact: never rounds a context)."""
    if tokens >= 1024 and tokens % 1024 == 0:
        k = tokens // 1024
        return f"{k // 1024}M" if k % 1024 == 0 else f"{k}K"
    return f"{tokens:,}"


def largest_label(tokens: int) -> str:
    """A largest context as the number it is ('27,462', '131,072'; 'none' for 0): one form in a column of them,
    where context_label would mix '128K' with '27,462'."""
    return f"{tokens:,}" if tokens else "none"


def gpu_label(name: str, memory_bytes: int, unit: str) -> str:
    """The catalog name, which carries the marketed memory ('NVIDIA GeForce RTX 4090 24GB', which is GiB: in GB its
    bytes are added, '… · 25.8 GB'); where it does not, the memory in the chosen unit is added ('… · 24 GiB')."""
    from planner.units import to_unit

    if re.search(r"\d\s?GB\b", name):  # marketing's "24GB" is 24 GiB: in GB, say how many
        return name.removeprefix("NVIDIA ") + (f" · {to_unit(memory_bytes, 'GB'):.1f} GB" if unit == "GB" else "")
    return f"{name.removeprefix('NVIDIA ')} · {to_unit(memory_bytes, unit):.0f} {unit}"


def speed(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:,.2f} s"


def params_label(count: float) -> str:
    return f"{count / 1e12:.2f} T" if count >= 1e12 else f"{count / 1e9:.2f} B"


def columns(names, unit: str) -> dict[str, str]:
    """Rename map for a table's columns: human names, bytes columns labelled with `unit`."""
    return {c: COLUMN_NAMES.get(c, c.replace("_", " ")) + (f" ({unit})" if c.endswith("_bytes") else "")
            for c in names}


def quant_groups(names) -> dict[str, list[str]]:
    """The quantization catalog in groups a reader knows, each in catalog order, without duplicates."""
    from planner import get_quant

    groups: dict[str, list[str]] = {"16/32-bit": [], "8-bit GPU formats": [], "4-bit and other GPU formats": [],
                                    "llama.cpp presets (GGUF)": [], "GGUF, one type for every tensor": []}
    for name in dict.fromkeys(get_quant(n).name for n in names):  # aliases (awq, f16) once, by their own name
        if name == "checkpoint":
            continue
        fmt = get_quant(name)
        if name.startswith("gguf-"):
            groups["GGUF, one type for every tensor"].append(name)
        elif fmt.gguf_preset is not None and name not in ("bf16", "f16", "f32"):
            groups["llama.cpp presets (GGUF)"].append(name)
        elif name in ("bf16", "fp16", "fp32", "f16", "f32"):
            groups["16/32-bit"].append(name)
        elif re.search(r"(^|-)(fp8|int8|8bit)", name):
            groups["8-bit GPU formats"].append(name)
        else:
            groups["4-bit and other GPU formats"].append(name)
    return {k: v for k, v in groups.items() if v}


def verdict(total_bytes: int, usable_bytes: int, reserve_pct: float, *, unit: str, where: str,
            reason: str | None = None, refused: bool = False, fills_memory: bool = False) -> Verdict:
    """One sentence: fits (with how much free), tight (under the reserve), or does not fit (and why).

    `fills_memory`: the engine takes a fixed share of memory up front (vLLM's KV pool), so free memory says
    nothing and only its own verdict counts."""
    from planner.units import format_bytes

    state = NO if refused else FITS if fills_memory else verdict_state(total_bytes, usable_bytes, reserve_pct)
    free = usable_bytes - total_bytes
    if state == NO:
        why = reason or f"{format_bytes(-free, unit)} short of {format_bytes(usable_bytes, unit)} usable"
        return Verdict(NO, f"Does not fit {where}: {why}")
    if fills_memory:
        return Verdict(FITS, f"Fits {where}: the engine starts and runs every request at once (it takes its share "
                             "of the memory up front, so no reserve applies).")
    pct = 100 * free / usable_bytes if usable_bytes else 0.0
    if state == TIGHT:  # never shown as the reserve it is under ("5.0 %, under the 5 % reserve")
        pct = math.floor(pct * 10) / 10
    text = f"{format_bytes(free, unit)} free of {format_bytes(usable_bytes, unit)} usable ({pct:.1f} %)"
    if state == TIGHT:
        return Verdict(TIGHT, f"Tight {where}: only {text}, under the {reserve_pct:g} % reserve.")
    return Verdict(FITS, f"Fits {where}: {text}.")


def fit_table(values, states, *, first: dict | None = None):
    """A pandas Styler of `values` (2 decimals, with the state's symbol) tinted by `states` (fits / tight / does
    not fit), with `first` columns (name → list of text) in front, untinted."""
    cells = values.copy().astype(object)
    for col in values.columns:
        cells[col] = [f"{v:,.2f} {SYMBOLS[s]}" for v, s in zip(values[col], states[col], strict=True)]
    for i, (name, column) in enumerate((first or {}).items()):
        cells.insert(i, name, column)
    tint = {s: f"background-color: {c}33" for s, c in COLOURS.items()}  # the state's colour at 20 % opacity

    def colour(col):
        return [tint[s] for s in states[col.name]] if col.name in states.columns else [""] * len(col)

    return cells.style.apply(colour)
