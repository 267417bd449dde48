"""Bundled profiles: every one loads, cites its sources, and equals the import of its config.json."""

from pathlib import Path

import pytest
import yaml

from planner import UnknownModelError, WorkloadError, list_models, load_model
from planner.hf_import import spec_from_config
from planner.paths import profiles_dir

from .conftest import FIXTURES, fixture_config

PROFILES = sorted((profiles_dir() / "models").glob("*.yaml"))
REQUIRED = [
    "microsoft/Phi-3-mini-4k-instruct", "microsoft/Phi-3-mini-128k-instruct", "microsoft/Phi-3-small-8k-instruct",
    "microsoft/Phi-3-small-128k-instruct", "microsoft/Phi-3-medium-4k-instruct",
    "microsoft/Phi-3-medium-128k-instruct", "microsoft/Phi-3.5-mini-instruct", "microsoft/Phi-3.5-MoE-instruct",
    "meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-13b-hf", "meta-llama/Llama-2-70b-hf",
    "meta-llama/Meta-Llama-3-8B", "meta-llama/Meta-Llama-3-70B", "meta-llama/Llama-3.1-8B",
    "meta-llama/Llama-3.1-70B", "meta-llama/Llama-3.1-405B", "meta-llama/Llama-3.2-1B", "meta-llama/Llama-3.2-3B",
    "mistralai/Mistral-7B-v0.1", "mistralai/Mistral-7B-v0.3", "mistralai/Mistral-Nemo-Base-2407",
    "mistralai/Mixtral-8x7B-v0.1", "mistralai/Mixtral-8x22B-v0.1", "Qwen/Qwen2.5-7B", "Qwen/Qwen2.5-14B",
    "Qwen/Qwen2.5-32B", "Qwen/Qwen2.5-72B", "Qwen/Qwen3-8B", "Qwen/Qwen3-32B", "google/gemma-2-9b",
    "google/gemma-2-27b", "google/gemma-3-27b-it", "deepseek-ai/DeepSeek-V2-Lite", "deepseek-ai/DeepSeek-V3",
    "openai/gpt-oss-20b", "openai/gpt-oss-120b",
]


def test_every_required_model_is_bundled():
    assert set(REQUIRED) <= set(list_models())
    assert len(PROFILES) == len(list_models())


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_profile_cites_its_config_and_card_sources(path: Path):
    spec = load_model(yaml.safe_load(path.read_text())["name"])
    assert spec.source == f"https://huggingface.co/{spec.name}/blob/main/config.json"
    for fact in (spec.card.license, spec.card.release_date, spec.card.context_variants, spec.card.published_params):
        assert fact is not None and fact.source.startswith("https://")


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_profile_equals_the_import_of_its_config_json(path: Path):
    spec = load_model(yaml.safe_load(path.read_text())["name"])
    fixture = FIXTURES / "configs" / (spec.name.replace("/", "__") + ".json")
    if not fixture.exists():  # Phi-3-small/medium-128k: assembled from their short-context sibling
        pytest.skip("no complete config.json fixture")
    imported = spec_from_config(fixture_config(spec.name), name=spec.name, source=spec.source)
    assert imported == spec.model_copy(update={"card": imported.card, "aliases": ()})


@pytest.mark.parametrize("query", ["microsoft/Phi-3-small-8k-instruct", "MICROSOFT/phi-3-SMALL-8k-instruct",
                                   "Phi-3-small-8k-instruct", "phi-3-small"])
def test_find_by_id_case_insensitive_or_short_name(query):
    assert load_model(query).name == "microsoft/Phi-3-small-8k-instruct"


def test_unknown_model_suggests_close_matches():
    with pytest.raises(UnknownModelError, match=r"unknown model 'phi-3-smal'.*did you mean:.*Phi-3-small"):
        load_model("phi-3-smal")


def test_unknown_model_without_matches_points_to_the_list():
    with pytest.raises(UnknownModelError, match="planner models"):
        load_model("zzzz-qqqq")


def test_seed_model_facts():
    s = load_model("microsoft/Phi-3-small-8k-instruct")
    assert (s.n_layers, s.d_model, s.n_heads, s.n_kv_heads, s.vocab_size, s.max_context) == \
        (32, 4096, 32, 8, 100352, 8192)
    assert s.activation == "gegelu" and s.tie_embeddings
    assert s.block_sparse.block_size == 64 and s.block_sparse.local_blocks == 16 and s.block_sparse.vert_stride == 8
    assert s.layer_kinds()[:4] == ("block_sparse", "full", "block_sparse", "full")
    assert load_model("microsoft/Phi-3-small-128k-instruct").max_context == 131072


# Parameter counts the model pages publish (https://huggingface.co/<id>: the card, or the safetensors badge where the
# card gives none), against the profile's count from its config.json, within half a unit of the published last digit.
PUBLISHED_PARAMS = {
    "meta-llama/Llama-3.3-70B-Instruct": "70.6",  # safetensors badge
    "microsoft/phi-4": "14.7",  # safetensors badge (the card: "14B parameters")
    "google/gemma-3-4b-it": "4.3",  # safetensors badge, SigLIP tower included
    "google/gemma-3-12b-it": "12.2",
    "mistralai/Mistral-Small-24B-Instruct-2501": "23.6",
    "deepseek-ai/DeepSeek-R1": "671",  # the card: 671B total (plus the 14B MTP module, which vLLM does not load)
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B": "7.62",
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B": "14.8",
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B": "32.8",
    "deepseek-ai/DeepSeek-R1-Distill-Llama-8B": "8.03",
    "deepseek-ai/DeepSeek-R1-Distill-Llama-70B": "70.6",
    "Qwen/Qwen3-1.7B": "1.7",  # the card: "Number of Parameters: 1.7B"
    "Qwen/Qwen3-Coder-30B-A3B-Instruct": "30.5",  # the card: "30.5B in total and 3.3B activated"
    "Qwen/Qwen2.5-Coder-32B-Instruct": "32.8",  # safetensors badge (the card: 32.5B)
    # meta-llama/llama-models models/llama4/MODEL_CARD.md: "109B (Total)"; transformers' docs (model_doc/llama4.md):
    # "two flavors: 109B, and 402B parameters" (Maverick's card says 400B, the text model alone: 400.7B)
    "meta-llama/Llama-4-Scout-17B-16E-Instruct": "109",
    "meta-llama/Llama-4-Maverick-17B-128E-Instruct": "402",
}


@pytest.mark.parametrize("model", PUBLISHED_PARAMS)
def test_profile_counts_the_published_parameters(model):
    text = PUBLISHED_PARAMS[model]
    half = 0.5 * 10.0 ** -len(text.partition(".")[2]) * 1e9
    assert abs(load_model(model).param_count - float(text) * 1e9) <= half


@pytest.mark.parametrize("name,profile", [
    # https://ollama.com/library/<name>: each page lists its tags and the model each is
    ("llama3.3", "meta-llama/Llama-3.3-70B-Instruct"), ("phi4", "microsoft/phi-4"), ("gemma3", "google/gemma-3-4b-it"),
    ("deepseek-r1:14b", "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B"), ("qwen3:30b", "Qwen/Qwen3-30B-A3B"),
    ("QWEN3-CODER", "Qwen/Qwen3-Coder-30B-A3B-Instruct"), ("deepseek-r1", "deepseek-ai/DeepSeek-R1"),
    ("gemma3:latest", "google/gemma-3-4b-it")])  # `ollama list` shows the default tag as :latest
def test_ollama_library_names_find_their_profile(name, profile):
    assert load_model(name).name == profile


def test_an_ollama_tag_of_a_model_planner_does_not_bundle_says_what_it_is():
    with pytest.raises(UnknownModelError, match="deepseek-r1:8b is DeepSeek-R1-0528-Qwen3-8B, which planner does not"):
        load_model("deepseek-r1:8b")


def test_a_profiles_folder_of_ones_own_needs_no_ollama_names(tmp_path):
    """PLANNER_PROFILES: a folder without ollama.yaml, or with fewer models than its tags name, still finds models."""
    import shutil
    import subprocess
    import sys

    from planner.paths import profiles_dir

    own = tmp_path / "profiles"
    shutil.copytree(profiles_dir(), own)
    (own / "ollama.yaml").unlink()
    code = "from planner import load_model; print(load_model('llama-3.1-8b').name)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**__import__("os").environ, "PLANNER_PROFILES": str(own)})
    assert run.stdout.strip() == "meta-llama/Llama-3.1-8B", run.stderr
    shutil.copy(profiles_dir() / "ollama.yaml", own / "ollama.yaml")
    (own / "models" / "phi-4.yaml").unlink()  # phi4's model gone: its tag is left out, the rest resolve
    code = "from planner import load_model; print(load_model('llama3.3').name)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**__import__("os").environ, "PLANNER_PROFILES": str(own)})
    assert run.stdout.strip() == "meta-llama/Llama-3.3-70B-Instruct", run.stderr


def test_every_ollama_tag_names_a_bundled_profile():
    import yaml

    from planner.paths import profiles_dir
    from planner.profiles import bundled_profiles

    data = yaml.safe_load((profiles_dir() / "ollama.yaml").read_text())
    assert data["tags"] and all(name in bundled_profiles() for name in data["tags"].values())


def test_an_ollama_tag_is_the_file_ollama_pulls():
    """`ollama pull llama3.1:8b` fetches a Q4_K_M GGUF, not the bf16 checkpoint: a tag's weights take its format, and
    the sizes ollama.com lists (two significant digits) come out. Sizes: ollama.com/library tag lists as scraped in
    Jeffser/Alpaca src/ollama_models.py (2026-06-08); formats: `ollama show` output (profiles/ollama.yaml)."""
    import planner

    listed_gb = {"llama3.1:8b": ("q4_k_m", 4.9), "llama3:8b": ("q4_0", 4.7), "llama3.2:1b": ("q8_0", 1.3),
                 "mistral": ("q4_k_m", 4.4), "phi3": ("q4_0", 2.2), "phi4": ("q4_k_m", 9.1),
                 "qwen3:30b": ("q4_k_m", 19), "mixtral": ("q4_0", 26), "gpt-oss:20b": ("mxfp4", 14),
                 "llama3.3": ("q4_k_m", 43), "deepseek-r1:32b": ("q4_k_m", 20)}
    for tag, (quant, gb) in listed_gb.items():
        spec = load_model(tag)
        assert spec.weights_dtype == quant, tag
        assert planner.weights_bytes(spec) / 1e9 == pytest.approx(gb, rel=0.05), tag
    # gemma3:4b's 3.3 GB holds the image encoder in 16 bits beside the Q4_K_M text weights
    from planner.weights import vision_encoder_bytes

    gemma = load_model("gemma3:4b")
    assert (planner.weights_bytes(gemma) + vision_encoder_bytes(gemma)) / 1e9 == pytest.approx(3.3, rel=0.05)
    # a profile's own name is the checkpoint, whatever the tags say; a format asked for wins over the tag's
    assert load_model("llama-3.1-8b").weights_dtype == "bf16" and load_model("deepseek-r1").weights_dtype == "fp8-block"
    assert planner.estimate("llama3.1:8b", quant="bf16").workload.quant == "bf16"
    assert planner.estimate("llama3.1:8b").workload.quant == "q4_k_m"


def test_every_ollama_format_is_a_catalog_format_of_a_tag():
    import yaml

    from planner import get_quant
    from planner.paths import profiles_dir
    from planner.profiles import ollama_format

    data = yaml.safe_load((profiles_dir() / "ollama.yaml").read_text())
    for tag, quant in {**data["formats"], "(default)": data["default_format"]}.items():
        get_quant(quant)
        assert tag == "(default)" or ollama_format(f"{tag}:latest" if ":" not in tag else tag) == quant, tag
    assert load_model("mistral-nemo").weights_dtype == "bf16"  # the profile's own name: its checkpoint
    assert load_model("mistral-nemo:latest").weights_dtype == "q4_0"  # Ollama's tag, spelt as `ollama list` shows it


def test_an_ollama_tag_has_its_files_context_length():
    """The library's qwen2.5 files are the Instruct conversions, whose configs give max_position_embeddings 32768 (the
    bundled Qwen2.5-3B-Instruct's and Qwen2.5-72B-Instruct's) where the base models give 131072: Ollama sizes its
    default context against the file's length (profiles/ollama.yaml: contexts)."""
    import planner

    assert load_model("qwen2.5:32b").max_context == 32768 and load_model("qwen2.5-32b").max_context == 131072
    e = planner.estimate("qwen2.5:32b", engine="ollama", gpu="rtx-a6000")
    assert e.engine_details["num_ctx"] == 32768 and e.fits
    for tag, n in yaml_contexts().items():  # every entry names a tag of a bundled model
        assert load_model(tag).max_context == n
    with pytest.raises(WorkloadError, match="65,536 exceeds the 32,768 tokens the Ollama file qwen2.5:7b records "
                                            r"\(the checkpoint Qwen/Qwen2.5-7B takes 131,072\)"):
        planner.estimate("qwen2.5:7b", context=65536)


def yaml_contexts() -> dict:
    import yaml

    from planner.paths import profiles_dir

    return yaml.safe_load((profiles_dir() / "ollama.yaml").read_text())["contexts"]


def test_instruct_ids_resolve_to_their_base_shapes_with_their_own_differences(capsys):
    """The ids users type most are fine-tuned variants: meta-llama/Llama-3.1-8B-Instruct has the base's config.json
    shapes (a verbatim copy: profiles/variants.yaml) and plans as it, under its own name; Qwen2.5-7B-Instruct's
    config says max_position_embeddings 32768 where the base says 131072, and gemma-2-9b-it is stored in bf16 where
    the base checkpoint is fp32."""
    import planner
    from planner.cli import main
    from planner.profiles import variant_base

    it = planner.estimate("meta-llama/Llama-3.1-8B-Instruct", gpu="rtx-4090", context=8192)
    base = planner.estimate("meta-llama/Llama-3.1-8B", gpu="rtx-4090", context=8192)
    assert it.model == "meta-llama/Llama-3.1-8B-Instruct" and it.total_bytes == base.total_bytes
    assert planner.load_model("llama-3.1-8b-instruct").name == "meta-llama/Llama-3.1-8B-Instruct"
    assert planner.load_model("Qwen/Qwen2.5-7B-Instruct").max_context == 32768
    assert planner.load_model("Qwen/Qwen2.5-7B").max_context == 131072
    assert planner.load_model("google/gemma-2-9b-it").weights_dtype == "bf16"
    assert planner.load_model("google/gemma-2-9b").weights_dtype == "fp32"
    assert variant_base("mistralai/Mistral-7B-Instruct-v0.3") == "mistralai/Mistral-7B-v0.3"
    with pytest.raises(planner.UnknownModelError, match="did you mean: .*meta-llama/Llama-3.1-8B-Instruct"):
        planner.load_model("meta-llama/Llama-3.1-8B-Instrct")
    assert main(["models", "--search", "llama-3.1 instruct"]) == 0
    out = capsys.readouterr().out
    assert "meta-llama/Llama-3.1-8B-Instruct*" in out and "* a fine-tuned variant" in out
