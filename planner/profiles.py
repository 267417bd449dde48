"""Find a model: bundled profile (by Hugging Face id or short name), config.json path, or Hub id."""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from .checks import positive_int
from .errors import ConfigImportError, PlannerError, UnknownModelError, WorkloadError, close_matches, shown
from .limits import MAX_CONFIG_BYTES, MAX_CONTEXT
from .paths import profiles_dir, read_yaml

if TYPE_CHECKING:
    from .spec import ModelSpec

MAX_NAME = 4096  # characters of a model name or path (PATH_MAX on Linux)

# pydantic and the ModelSpec classes (spec, hf_import) are imported where a spec is built, not with this module: a
# name is looked up, and a mistyped one answered, from the profiles' raw YAML (benchmarks/cli_errors.py)


@lru_cache(maxsize=1)
def _profile_data() -> dict[str, tuple[str, dict]]:
    """Every profile under profiles/models as read (file name, YAML content), keyed by its Hugging Face id."""
    out = {}
    for path in sorted((profiles_dir() / "models").glob("*.yaml")):
        data = read_yaml(path)
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise PlannerError(f"profile {path.name}: ('name',): a profile is a mapping with a name")
        out[data["name"]] = (path.name, data)
    return out


def _spec(file_name: str, data: dict) -> ModelSpec:
    from pydantic import ValidationError

    from .spec import ModelSpec

    try:
        return ModelSpec(**data)
    except ValidationError as e:
        raise PlannerError(f"profile {file_name}: {e.errors()[0]['loc']}: {e.errors()[0]['msg']}") from None


@lru_cache(maxsize=1)
def bundled_profiles() -> dict[str, ModelSpec]:
    """Every profile under profiles/models, keyed by its Hugging Face id."""
    return {name: _bundled(name) for name in _profile_data()}


@cache
def _bundled(name: str) -> ModelSpec:
    """One bundled profile's spec (built once; bundled_profiles holds the same objects)."""
    return _spec(*_profile_data()[name])


@lru_cache(maxsize=1)
def profile_names() -> dict[str, str]:
    """Lower-cased id, id without org, and aliases → canonical id."""
    out: dict[str, str] = {}
    for name, (_, data) in _profile_data().items():
        for key in (name, name.split("/")[-1], *(data.get("aliases") or ())):
            out.setdefault(str(key).lower(), name)
    return out


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    """profile_names, then Ollama's library names (ollama_tags): what a user may call a model. A log's model name is
    read against profile_names alone ('Phi3' in a GGUF's general.name is no Ollama tag)."""
    return {**{tag.lower(): name for tag, name in ollama_tags()[0].items()}, **profile_names()}


@lru_cache(maxsize=1)
def ollama_tags() -> tuple[dict[str, str], dict[str, str]]:
    """(Ollama library name[:tag] → bundled profile id, tag → what it is where planner does not bundle its model),
    from profiles/ollama.yaml."""
    data = _ollama_yaml()
    # a tag of a model the profiles folder lacks is left out (tests hold the bundled file to the bundled profiles)
    tags = {t: name for t, name in dict(data.get("tags") or {}).items() if name in _profile_data()}
    return tags, dict(data.get("not_bundled") or {})


@lru_cache(maxsize=1)
def _ollama_yaml() -> dict:
    path = profiles_dir() / "ollama.yaml"
    return read_yaml(path) if path.is_file() else {}  # a PLANNER_PROFILES folder of one's own may have none


def ollama_format(name: str) -> str | None:
    """The quantization of the file `ollama pull name` fetches (profiles/ollama.yaml: formats, else default_format);
    None for a name that is not an Ollama tag of a bundled model (a profile's own name wins over a tag, but not
    over the tag spelt with :latest)."""
    explicit = name.strip().lower().endswith(":latest")  # "mistral-nemo:latest" is Ollama's, "mistral-nemo" a profile
    key = name.strip().lower().removesuffix(":latest")
    return None if key in profile_names() and not explicit else _tag_formats().get(key)


@lru_cache(maxsize=1)
def _tag_formats() -> dict[str, str]:
    """Each Ollama tag of a bundled model (lower-cased) → its file's quantization."""
    data = _ollama_yaml()
    formats = {t.lower(): q for t, q in dict(data.get("formats") or {}).items()}
    return {t.lower(): formats.get(t.lower(), data.get("default_format")) for t in ollama_tags()[0]}


OLLAMA_LIBRARY = "https://ollama.com/library/"


def ollama_tag_of(name: str) -> tuple[str, str] | None:
    """(the Ollama library tag whose file is this bundled model, that file's quantization): the shortest name:size tag
    (qwen3:8b rather than qwen3); None where the library has none in profiles/ollama.yaml."""
    tags = [t for t, model in ollama_tags()[0].items() if model == name]
    if not tags:
        return None
    tag = min(tags, key=lambda t: (":" not in t, len(t), t))
    return tag, _tag_formats()[tag.lower()]


@lru_cache(maxsize=256)
def _as_ollama_file(canonical: str, quant: str, tag: str) -> ModelSpec:
    """The bundled profile as the GGUF file an Ollama tag fetches: its weights in that tag's quantization, its context
    length where the file records another (profiles/ollama.yaml: contexts), its source the library page (what the
    engines know of Ollama's files follows from it)."""
    context = dict(_ollama_yaml().get("contexts") or {}).get(tag)  # the file's context_length, where it differs
    return _bundled(canonical).model_copy(update={"weights_dtype": quant, "source": OLLAMA_LIBRARY + tag,
                                                            **({"max_context": context} if context else {})})


@lru_cache(maxsize=1)
def _variant_entries() -> dict[str, dict]:
    """profiles/variants.yaml's entries, by variant id (none where a profiles folder of one's own has no such file)."""
    path = profiles_dir() / "variants.yaml"
    return dict((read_yaml(path) if path.is_file() else {}).get("variants") or {})


@lru_cache(maxsize=1)
def variants() -> dict[str, str]:
    """Lower-cased id and id without org of each fine-tuned variant in profiles/variants.yaml → its id."""
    return {k: name for name in _variant_entries() for k in (name.lower(), name.split("/")[-1].lower())}


def variant_base(name: str) -> str | None:
    """The bundled base profile a variant id is planned with; None for any other name."""
    variant = variants().get(name.lower())
    return None if variant is None else _variant_entries()[variant]["base"]


@lru_cache(maxsize=64)
def _variant(name: str) -> ModelSpec:
    """A variant's spec: its base's profile under its own name, with its config's differences (profiles/
    variants.yaml) and the source it was read from."""
    entry = _variant_entries()[name]
    base = _bundled(entry["base"])
    return type(base).model_validate({**base.model_dump(), "name": name, "source": entry["source"], "aliases": (),
                                      **dict(entry.get("overrides") or {})})


def list_models() -> list[str]:
    return sorted(_profile_data(), key=str.lower)


def from_hub(repo_id: str) -> ModelSpec | None:
    """config.json of an unbundled org/name from the Hugging Face Hub, if huggingface_hub and the network allow,
    with the exact tensors of its safetensors checkpoint read from the headers (planner.files.hub) when it has
    one and they can be fetched; the weights from config.json otherwise.

    Its size is asked first (a HEAD request): a file above MAX_CONFIG_BYTES is refused before any byte of it is
    downloaded, so no repository can make planner (or a dashboard that serves it) fetch gigabytes."""
    try:
        from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url
    except ImportError:
        return None
    try:
        size = get_hf_file_metadata(hf_hub_url(repo_id, "config.json")).size
    except Exception:  # offline, gated, or not found: the caller reports close matches instead
        return None
    if size is not None and size > MAX_CONFIG_BYTES:
        raise ConfigImportError(f"{repo_id}: its config.json has {size:,} bytes, more than the "
                                f"{MAX_CONFIG_BYTES // 2**20} MiB a config.json may have")
    try:
        path = hf_hub_download(repo_id, "config.json")
    except Exception:
        return None
    from .hf_import import load_config_json

    spec = load_config_json(path, name=repo_id)
    spec = spec.model_copy(update={"source": f"https://huggingface.co/{repo_id}/blob/main/config.json"})
    from .files.hub import HubError, repo_ref, with_hub_weights

    if (ref := repo_ref(repo_id)) is None:
        return spec
    try:
        return with_hub_weights(spec, ref)
    except HubError:  # unreachable or refused with the token planner has: config.json's weights, as before
        return spec


def checkpoint_summary(path: str | Path) -> dict:
    """Bytes per dtype of a .safetensors file, a sharded index or a folder, from the headers alone."""
    from .files.safetensors_reader import bytes_per_dtype, read_safetensors, safetensors_files

    tensors = read_safetensors(path)
    per_dtype = bytes_per_dtype(tensors)
    return {"files": [f.name for f in safetensors_files(path)], "tensors": len(tensors),
            "bytes_per_dtype": per_dtype, "total_bytes": sum(per_dtype.values())}


def load_model(model: str | Path | ModelSpec | dict) -> ModelSpec:
    """A ModelSpec from a profile name, a config.json path or folder, a .gguf file, a folder of safetensors
    with its config.json, a Hub name (hf://org/name[@rev] or hf://org/name[@rev]/file.gguf), a parsed config dict,
    or a spec."""
    if not isinstance(model, (str, Path)):
        from .spec import ModelSpec

        if isinstance(model, ModelSpec):
            return model
        if isinstance(model, dict):
            from .hf_import import spec_from_config

            return spec_from_config(model, name=str(model.get("_name_or_path") or "custom"), source="dict")
    if isinstance(model, (str, Path)) and not str(model).strip():
        raise UnknownModelError(f"model is empty ({shown(model)}): give a bundled name (planner models lists them), a "
                                "Hugging Face id or the path of a config.json")
    if not isinstance(model, (str, Path)):
        raise UnknownModelError(f"model must be a name, a path or a ModelSpec, got {shown(model)}")
    key = str(model).strip()
    if len(key) > MAX_NAME:
        raise UnknownModelError(f"model name or path of {len(key):,} characters is longer than {MAX_NAME:,}")
    if key.lower().endswith(":latest") and (what := ollama_tags()[1].get(key.lower().removesuffix(":latest"))):
        raise UnknownModelError(what)  # Ollama's latest of a name a profile also answers to (qwen3.5: its 9b)
    if (canonical := _index().get(key.lower().removesuffix(":latest"))) is not None:  # Ollama's default tag
        quant = ollama_format(key)  # an Ollama tag: the file it fetches (llama3.1:8b is a Q4_K_M GGUF)
        return _bundled(canonical) if quant is None else _as_ollama_file(
            canonical, quant, key.lower().removesuffix(":latest"))
    if (variant := variants().get(key.lower())) is not None:  # an instruct model of a bundled base's shapes
        return _variant(variant)
    if key.startswith("hf://"):  # the Hub, by range requests: config.json and the safetensors or GGUF headers
        from .files.hub import load_hub_model

        return load_hub_model(key)
    try:
        return _load_path(key)
    except (OSError, RuntimeError, ValueError) as e:  # ~nosuchuser, a name too long, a NUL byte, no permission
        if isinstance(e, PlannerError):
            raise
        raise UnknownModelError(f"model {key[:200]!r} cannot be read as a path ({type(e).__name__}: "
                                f"{e.strerror if isinstance(e, OSError) and e.strerror else e})") from None


def with_max_context(model, max_context: int) -> ModelSpec:
    """The model run to `max_context` tokens, as rope scaling lets an engine run it beyond its config's
    max_position_embeddings (YaRN: vLLM's --rope-scaling with --max-model-len, llama.cpp's --rope-scaling yarn;
    Qwen3's card gives 131,072 tokens this way). Memory follows the tokens: the weights and the per-token cache are
    those of the model; whether the model answers well that far is its card's to say."""
    spec = load_model(model)
    if positive_int("max_context", max_context, MAX_CONTEXT) < spec.max_context:
        raise WorkloadError(f"max_context {max_context:,} is below {spec.name}'s {spec.max_context:,}: it runs a model "
                            "beyond its config's context (rope scaling); the context of a run is `context`")
    return spec.model_copy(update={"max_context": max_context})


def within_context(name: str, value: int, spec) -> int:
    """A token count no longer than the model's max_context (estimate's context, a training seq_len, vLLM's
    max_model_len), named when it is longer."""
    if value > spec.max_context and spec.source.startswith(OLLAMA_LIBRARY) and spec.name in _profile_data():
        full = _bundled(spec.name).max_context  # an Ollama tag whose file records less than the checkpoint
        raise WorkloadError(f"{name} {value:,} exceeds the {spec.max_context:,} tokens the Ollama file "
                            f"{spec.source.removeprefix(OLLAMA_LIBRARY)} records"
                            + (f" (the checkpoint {spec.name} takes {full:,})" if full >= value else ""))
    if value > spec.max_context:
        v = longer_variant(spec, value)
        cli = "" if name == "seq_len" else f"--max-context {v} plans it (Python: "  # training: Python only
        hint = ("" if v is None else f"; the bundled {v} runs it" if isinstance(v, str) else
                f"; its card lists {v:,} tokens: where rope scaling gives them (YaRN), {cli}"
                f"planner.with_max_context(model, {v}){')' if cli else ' plans it'}")
        raise WorkloadError(f"{name} {value:,} exceeds {spec.name}'s max_context {spec.max_context:,}{hint}")
    return value


def longer_variant(spec: ModelSpec, tokens: int) -> str | int | None:
    """What runs `spec` to `tokens` beyond its max_context, where its card says something does: the name of a bundled
    profile of the same shapes with that context (Phi-3's -128k checkpoints), else the longest context the card
    lists, which rope scaling gives (with_max_context). None where the card lists no context that long."""
    variants = spec.card.context_variants.value if spec.card and spec.card.context_variants else []
    if not any(v >= tokens for v in variants):
        return None
    shape = ("model_type", "n_layers", "d_model", "n_heads", "n_kv_heads", "vocab_size")
    for other in bundled_profiles().values():
        if other.max_context >= tokens and _stem(other.name) == _stem(spec.name) and \
                all(getattr(other, k) == getattr(spec, k) for k in shape):
            return other.name
    return max(variants)


def _stem(name: str) -> str:
    """A model's name without its context: 'microsoft/Phi-3-mini-128k-instruct' → 'microsoft/phi-3-mini-instruct'."""
    import re

    return re.sub(r"-\d+k(?=-|$)", "", name.lower())


def _load_path(key: str) -> ModelSpec:
    path = Path(key).expanduser()
    if path.suffix.lower() == ".gguf":
        from .files.model_files import load_gguf

        return load_gguf(path)
    if path.suffix.lower() == ".safetensors" or path.name.endswith(".safetensors.index.json"):
        if not (path.parent / "config.json").is_file():
            raise ConfigImportError(f"{key}: a safetensors file carries no architecture; pass the folder with its "
                                    "config.json, or read its bytes with planner.checkpoint_summary()")
        path = path.parent
    if path.is_dir() and (path / "config.json").is_file() and (
            any(path.glob("*.safetensors")) or (path / "model.safetensors.index.json").is_file()):
        from .files.model_files import load_safetensors_model

        return load_safetensors_model(path)
    if path.exists():
        from .hf_import import load_config_json

        return load_config_json(path)
    if key.endswith(".json"):
        raise ConfigImportError(f"config.json not found: {key}")
    if key.count("/") == 1 and (spec := from_hub(key)) is not None:
        return spec
    if (what := ollama_tags()[1].get(key.lower().removesuffix(":latest"))) is not None:
        raise UnknownModelError(what)
    names = {**variants(), **_index()}
    suggestions = list(dict.fromkeys(names[m] for m in close_matches(key, names)))
    hint = f"; did you mean: {', '.join(suggestions)}?" if suggestions else "; `planner models` lists them"
    raise UnknownModelError(f"unknown model {shown(key, 200)}: not a bundled profile or an existing path"
                            f"{_hub_note(key)}{hint}")


def _hub_note(key: str) -> str:
    """Why an org/name was not read from the Hub: the hub extra is missing, or the Hub did not give its config."""
    if key.count("/") != 1:
        return ""
    try:
        import huggingface_hub  # noqa: F401
    except ImportError:
        return (" (an unbundled org/name is read from the Hugging Face Hub once the [hub] extra is installed: "
                "pip install -e '.[hub]')")
    return " (the Hugging Face Hub gave no config.json for it: offline, gated, or no such repository)"
