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
    from ...profiles import profile_names

    out: dict[str, str] = {}
    for key, canonical in profile_names().items():
        short = _normal(key.split("/")[-1])
        for variant in (short, _FINETUNE.sub("", short)):
            out.setdefault(variant, canonical)
    return out


def profile_for(name: str) -> str | None:
    """The bundled profile a model name from a log names, or None."""
    from ...profiles import profile_names, variants

    name = name.strip().strip("'\"")
    if (exact := profile_names().get(name.lower()) or variants().get(name.lower())) is not None:
        return exact  # a bundled profile, or a fine-tuned variant of one (its own max_position_embeddings)
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


VOCAB_APART = 0.02  # a tokenizer's count this far from the embedding's rows is another model (padding is < 1 %)
_SHAPES = {  # llama.cpp's print_info (llm_load_print_meta before mid-2025) lines of the model it loaded
    "n_layer": re.compile(r"(?:print_info|llm_load_print_meta): n_layer\s+=\s+(\d+)\s*$", re.MULTILINE),
    "n_layer_all": re.compile(r"print_info: n_layer_all\s+=\s+(\d+)\s*$", re.MULTILINE),
    "n_embd": re.compile(r"(?:print_info|llm_load_print_meta): n_embd\s+=\s+(\d+)\s*$", re.MULTILINE),
    "n_vocab": re.compile(r"(?:print_info|llm_load_print_meta): n_vocab\s+=\s+(\d+)\s*$", re.MULTILINE),
    # the next-token (MTP) layers: print_info's own line (nextn_predict_layers for a few architectures, n_layer_nextn
    # from the hparams rework of June 2026), else the GGUF metadata the loader lists (<arch>.nextn_predict_layers)
    "nextn": re.compile(r"(?:(?:print_info|llm_load_print_meta): (?:n_layer_nextn|nextn_predict_layers)\s+=|"
                        r"\.nextn_predict_layers\s+u32\s+=)\s+(\d+)\s*$", re.MULTILINE),
}
# Next-token layers a log may count in n_layer without saying how many: every model with them that llama.cpp
# converts has one (GLM-4.5 to 4.7, DeepSeek-V3's is dropped by the converter, MiMo, Qwen3.5's)
UNSTATED_NEXTN = 1


def shapes_in_log(text: str) -> dict[str, tuple[int, int]]:
    """The loaded model's shapes a llama.cpp log prints: name → (value, line)."""
    out = {}
    for name, pattern in _SHAPES.items():
        m, line = first(pattern, text)
        if m:
            out[name] = (int(m[1]), line)
    return out


def shape_mismatch(text: str, spec) -> str | None:
    """Where a llama.cpp log's printed shapes contradict `spec` (the model planner would plan with), what they say;
    None where they agree or the log prints none. Layers: llama.cpp's n_layer counted the next-token (MTP) layers
    in the file (GLM-4.5's 47 for 46 blocks) until June 2026, when it became the blocks without them and n_layer_all
    the whole count; a spec read from a GGUF file counts them too. So a count within the log's next-token layers
    (UNSTATED_NEXTN where it gives none) of the spec's agrees. The vocabulary only where it is VOCAB_APART off: the
    log counts the tokenizer's tokens, which a checkpoint may pad to more embedding rows (Qwen2.5: 151,665 for
    152,064), but Mistral-7B's 32,768 against Llama 3's 128,256 is another model of the same layers."""
    shapes = shapes_in_log(text)
    nextn = shapes["nextn"][0] if "nextn" in shapes else UNSTATED_NEXTN
    wrong = []
    layers = [shapes[k] for k in ("n_layer", "n_layer_all") if k in shapes]
    if layers and min(abs(v - spec.n_layers) for v, _ in layers) > nextn:
        v, line = layers[0]
        wrong.append(f"n_layer = {v:,} (line {line})")
    if "n_embd" in shapes and shapes["n_embd"][0] != spec.d_model:
        wrong.append(f"n_embd = {shapes['n_embd'][0]:,} (line {shapes['n_embd'][1]})")
    vocab = "n_vocab" in shapes and abs(shapes["n_vocab"][0] - spec.vocab_size) > VOCAB_APART * spec.vocab_size
    if vocab:
        wrong.append(f"n_vocab = {shapes['n_vocab'][0]:,} (line {shapes['n_vocab'][1]})")
    if not wrong:
        return None
    return (f"the log's model has {' and '.join(wrong)}, where {spec.name} has {spec.n_layers} layers and hidden size "
            f"{spec.d_model:,}" + (f" and a {spec.vocab_size:,}-token vocabulary" if vocab else ""))


def catalog_gpu(name: str, total_mib: float | None = None) -> str | None:
    """The catalog id of a GPU by the name a runtime prints and the total it prints (MiB), or None: the catalog's
    one matcher (planner.gpus.match_gpu), which `planner machine` uses on NVML's names too (an RTX 4060 Ti with
    8 GiB is not the 16 GiB card; an A100-PCIE-40GB is not the catalog's SXM 40 GB)."""
    from ...gpus import match_gpu

    return match_gpu(name, None if total_mib is None else int(total_mib * 2**20))


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
