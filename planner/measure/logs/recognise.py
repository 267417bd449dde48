"""What a log says about itself: the model by name, the GPU by the name the runtime prints, the runtime's version.

A model name from a log ('Meta Llama 3.1 8B Instruct', 'meta-llama/Llama-3.1-8B-Instruct', a GGUF path, an HF cache
folder) is matched to a bundled profile by the profile's short name inside it, at word boundaries, the longest
first; an instruct or chat fine-tune has its base model's shapes, so it maps to the base profile. A GPU name
('NVIDIA GeForce RTX 3090', 'NVIDIA_H100_80GB_HBM3', 'Tesla T4') is matched to the catalog by the rules below.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .common import first, line_of

_FINETUNE = re.compile(r"-(?:instruct|chat|it|base|hf|gguf)(?=-|$)")


def _normal(name: str) -> str:
    s = re.sub(r"[\s_]+", "-", name.strip().lower())
    return re.sub(r"-+", "-", s)


@lru_cache(maxsize=1)
def _short_names() -> dict[str, str]:
    """Normalised short names and aliases of every bundled profile (with and without -instruct, -hf, …) → id."""
    from ...profiles import _index

    out: dict[str, str] = {}
    for key, canonical in _index().items():
        short = _normal(key.split("/")[-1])
        for variant in (short, _FINETUNE.sub("", short)):
            out.setdefault(variant, canonical)
    return out


def profile_for(name: str) -> str | None:
    """The bundled profile a model name from a log names, or None."""
    from ...profiles import _index

    name = name.strip().strip("'\"")
    if (exact := _index().get(name.lower())) is not None:
        return exact
    last = re.split(r"[\\/]", name.rstrip("/\\"))[-1].split("--")[-1]  # a path, or models--org--name
    last = re.sub(r"\.gguf$", "", last, flags=re.IGNORECASE)
    best = None
    for candidate in {_normal(last), _FINETUNE.sub("", _normal(last))}:
        for short, canonical in _short_names().items():
            if re.search(rf"(?<![a-z0-9.]){re.escape(short)}(?![a-z0-9])", candidate) and (
                    best is None or len(short) > len(best[0])):
                best = (short, canonical)
    return best[1] if best else None


_MODEL_NAMES = [  # where each runtime prints the model's name or path
    re.compile(r"general\.name\s+(?:str\s+)?=\s+([^\n]+?)\s*$", re.MULTILINE),  # llama.cpp, Ollama
    re.compile(r"loaded meta data .* from (\S+\.gguf)"),
    re.compile(r"loading model '([^']+)'"),
    re.compile(r"model_path='([^']+)'"),  # SGLang server_args
    re.compile(r"(?<![\w.])model='([^']+)'"),  # vLLM engine config
    re.compile(r"'model': '([^']+)'"),  # vLLM non-default args
    re.compile(r"Starting to load model (\S+?)\.\.\."),
    re.compile(r"--model(?:-path)?[ =](\S+)"),
    re.compile(r"vllm serve (\S+)"),
]


def model_in_log(text: str) -> tuple[str | None, list[tuple[str, int]]]:
    """(the profile the log names, every (name, line) it names a model by)."""
    names = []
    for pattern in _MODEL_NAMES:
        for m in pattern.finditer(text):
            names.append((m[1].strip(), line_of(text, m.start())))
    for name, _ in names:
        if (found := profile_for(name)) is not None:
            return found, names
    return None, names


# Catalog id by the device name the runtimes print (torch.cuda.get_device_name, cudaGetDeviceProperties, Metal).
# Order matters: the more specific name first. None: a GPU the catalog does not have.
_GPU_RULES = [
    (r"H100.*NVL", None), (r"H100.*PCIE", "h100-pcie"), (r"H100", "h100-sxm"), (r"H200", "h200"), (r"B200", "b200"),
    (r"A100.*PCIE.*80|A100.*80.*PCIE", "a100-pcie-80gb"), (r"A100.*80", "a100-sxm-80gb"), (r"A100", "a100-sxm-40gb"),
    (r"A10G", "a10g"), (r"\bA10\b", "a10"), (r"\bA40\b", "a40"), (r"L40S", "l40s"), (r"\bL40\b", "l40"),
    (r"\bL4\b", "l4"), (r"\bT4\b", "t4"), (r"V100.*32", "v100-32gb"),
    (r"RTX PRO 6000", "rtx-pro-6000"),  # the Workstation, Max-Q Workstation and Server editions: 96 GB at 1.8 TB/s
    (r"LAPTOP|MAX-Q|MOBILE", None),  # a laptop GPU shares its desktop card's name, not its memory or clocks
    (r"RTX A6000", "rtx-a6000"), (r"RTX A5000", "rtx-a5000"), (r"RTX A4500", "rtx-a4500"), (r"RTX A4000", "rtx-a4000"),
    (r"RTX 6000 ADA", "rtx-6000-ada"),
    (r"RTX 3060 TI", None), (r"RTX 3060", "rtx-3060"), (r"RTX 3070 TI", None), (r"RTX 3070", "rtx-3070"),
    (r"RTX 3080 TI", "rtx-3080-ti"), (r"RTX 3080", "rtx-3080"), (r"RTX 3090 TI", "rtx-3090-ti"),
    (r"RTX 3090", "rtx-3090"), (r"RTX 4060 TI", "rtx-4060-ti-16gb"), (r"RTX 4060", "rtx-4060"),
    (r"RTX 4070 TI SUPER", "rtx-4070-ti-super"), (r"RTX 4070 (TI|SUPER)", None), (r"RTX 4070", "rtx-4070"),
    (r"RTX 4080 SUPER", "rtx-4080-super"), (r"RTX 4080", "rtx-4080"), (r"RTX 4090 D", None), (r"RTX 4090", "rtx-4090"),
    (r"RTX 5060 TI", "rtx-5060-ti-16gb"), (r"RTX 5070 TI", "rtx-5070-ti"), (r"RTX 5070", "rtx-5070"),
    (r"RTX 5080", "rtx-5080"), (r"RTX 5090", "rtx-5090"),
    (r"RX 7900 XTX", "rx-7900-xtx"), (r"RX 7900 XT\b", "rx-7900-xt"), (r"RX 7900 GRE", "rx-7900-gre"),
    (r"RX 7800 XT", "rx-7800-xt"), (r"RX 9070 XT", "rx-9070-xt"), (r"\bW7900\b", "w7900"), (r"\bW7800\b", "w7800"),
    (r"MI100", "mi100"), (r"MI210", "mi210"), (r"MI250X", "mi250x"), (r"MI300X", "mi300x"), (r"MI325X", "mi325x"),
    (r"MI355X", "mi355x"),
    # Apple: the chip Metal names (its GPU core count is not in the name: the catalog has one per chip)
    (r"\bM(\d) (PRO|MAX|ULTRA)\b", r"m\1-\2"), (r"APPLE M(\d)\b", r"m\1"),
]
# Cards sold in two memory sizes under one name: the catalog's size, by the total a runtime prints (GiB, inclusive)
_SIZES = {"rtx-4060-ti-16gb": (12, None), "rtx-5060-ti-16gb": (12, None), "rtx-3060": (10, None),
          "rtx-3080": (None, 11), "w7800": (None, 40)}


@lru_cache(maxsize=1)
def _catalog_ids() -> frozenset[str]:
    from ...gpus import list_gpus

    return frozenset(list_gpus())


def catalog_gpu(name: str, total_mib: float | None = None) -> str | None:
    """The catalog id of a GPU by the name a runtime prints, or None (not in the catalog, or not one of its
    sizes: an RTX 4060 Ti with 8 GiB is not the 16 GiB card)."""
    key = re.sub(r"[\s_]+", " ", name.upper())
    for pattern, gid in _GPU_RULES:
        if m := re.search(pattern, key):
            gid = gid and m.expand(gid).lower()
            if gid not in _catalog_ids():
                return None  # an Apple chip the catalog does not have (an M5)
            low, high = _SIZES.get(gid, (None, None))
            if total_mib is not None and ((low and total_mib < low * 1024) or (high and total_mib > high * 1024)):
                return None
            return gid
    return None


_GPU_NAMES = [  # (pattern, group of the name, group of the total MiB or GiB and its unit)
    re.compile(r"Device \d+: ([^,\n]+), compute capability[^\n]*?(?:VRAM: (\d+) MiB)?$", re.MULTILINE),  # ggml
    re.compile(r"using device \w+ \(([^)]+)\)"),  # llama.cpp ≥ 2025
    re.compile(r'msg="inference compute".*?name="([^"]+)"(?:.*?total="([0-9.]+) GiB")?'),  # Ollama
    re.compile(r"ggml_metal_init: found device: ([^\n]+)"),
    re.compile(r"GPU \d+: (NVIDIA [^\n,(]+?|Tesla [^\n,(]+?|AMD [^\n,(]+?)\s*(?:\(|,|$)", re.MULTILINE),  # collect_env
    re.compile(r"device_name=([A-Za-z0-9_-]+?)(?:,|\.json)"),  # vLLM/SGLang MoE kernel config files
]


def gpus_in_log(text: str) -> list[tuple[str, float | None, int]]:
    """(device name, total MiB if printed, line) for every device the log names."""
    out = []
    for i, pattern in enumerate(_GPU_NAMES):
        for m in pattern.finditer(text):
            total = None
            if m.lastindex and m.lastindex >= 2 and m[2]:
                total = float(m[2]) * (1024 if i == 2 else 1)
            out.append((m[1].strip().replace("_", " "), total, line_of(text, m.start())))
    return out


def gpu_in_log(text: str) -> tuple[str | None, str | None, int]:
    """(catalog id, the name the log gives, how many devices it lists): the first device the catalog knows."""
    devices = gpus_in_log(text)
    listed = len(re.findall(r"^\s*Device \d+:", text, re.MULTILINE)) or text.count('msg="inference compute"')
    known = [(catalog_gpu(name, total), name) for name, total, _ in devices]
    gid, name = next(((g, n) for g, n in known if g is not None), (None, known[0][1] if known else None))
    return gid, name, max(listed, 1 if devices else 0)


_VERSIONS = [
    re.compile(r"\bbuild(?: =|:) (\d+ \(\w+\))"),  # llama.cpp
    re.compile(r"\(version (\d+\.\d+\.\d+[\w.+-]*)\)"),  # Ollama's 'Listening on … (version 0.5.4)'
    re.compile(r"LLM engine \(v(\d[\w.+-]*)\)"),  # vLLM
    re.compile(r"vLLM (?:API server )?version:?\s*v?(\d[\w.+-]*)"),
    re.compile(r"█\s+version (\d[\w.+-]*)"),  # vLLM ≥ 0.11's banner
    re.compile(r"sglang(?:==| version:? ?v?)(\d+\.\d+[\w.+-]*)", re.IGNORECASE),
]


def version_in_log(text: str) -> str | None:
    for pattern in _VERSIONS:
        m, _ = first(pattern, text)
        if m:
            return m[1]
    return None
