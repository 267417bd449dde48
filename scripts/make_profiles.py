"""Regenerate profiles/models/*.yaml from the config.json fixtures (a maintainer tool, not used at run time).

Each profile is the importer's reading of the model's published config.json, plus its short names and
the model-card facts that model pages show, each citing the page it came from. Run from the repo root:
    python scripts/make_profiles.py
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from planner.hf_import import spec_from_config

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "configs"

# Qwen3-VL's and Qwen3.5's encoder takes images of any size (its processor: 256² to 4096² pixels); planner's image is
# the one its learned position grid spans, 48 × 48 patches of 16 pixels
QWEN_VL_IMAGE = "text+image (its encoder counted, 576 tokens a 768 × 768 image)"
PIXTRAL_IMAGE = "text+image (its Pixtral encoder counted, 3,080 tokens a 1,540 × 1,540 image, its largest)"
# Qwen2.5-VL's processor takes 56² to 12,845,056 pixels (max_pixels): planner's image is that largest one
QWEN25_VL_IMAGE = "text+image+video (its encoder counted, 16,384 tokens a 3,584 × 3,584 image, its largest)"

# id: (aliases, license, release date, context variants, modality, published params, config overrides)
# Card facts are as the Hugging Face model page (https://huggingface.co/<id>) shows them.
MODELS: dict[str, tuple] = {
    "microsoft/Phi-3-mini-4k-instruct": (["phi-3-mini", "phi-3-mini-4k"], "MIT", "2024-04-23", (4096, 131072), "text", "3.8B", {}),
    "microsoft/Phi-3-mini-128k-instruct": (["phi-3-mini-128k"], "MIT", "2024-04-23", (4096, 131072), "text", "3.8B", {}),
    "microsoft/Phi-3-small-8k-instruct": (["phi-3-small", "phi-3-small-8k"], "MIT", "2024-05-21", (8192, 131072), "text", "7.39B", {}),
    "microsoft/Phi-3-small-128k-instruct": (["phi-3-small-128k"], "MIT", "2024-05-21", (8192, 131072), "text", "7.39B",
                                            {"_base": "microsoft/Phi-3-small-8k-instruct", "max_position_embeddings": 131072}),
    "microsoft/Phi-3-medium-4k-instruct": (["phi-3-medium", "phi-3-medium-4k"], "MIT", "2024-05-21", (4096, 131072), "text", "14B", {}),
    "microsoft/Phi-3-medium-128k-instruct": (["phi-3-medium-128k"], "MIT", "2024-05-21", (4096, 131072), "text", "14B",
                                             {"_base": "microsoft/Phi-3-medium-4k-instruct", "max_position_embeddings": 131072,
                                              "sliding_window": None}),
    "microsoft/Phi-3.5-mini-instruct": (["phi-3.5-mini"], "MIT", "2024-08-20", (131072,), "text", "3.8B", {}),
    "microsoft/Phi-3.5-MoE-instruct": (["phi-3.5-moe"], "MIT", "2024-08-20", (131072,), "text", "41.9B", {}),
    "meta-llama/Llama-2-7b-hf": (["llama-2-7b"], "Llama 2 Community License", "2023-07-18", (4096,), "text", "7B", {}),
    "meta-llama/Llama-2-13b-hf": (["llama-2-13b"], "Llama 2 Community License", "2023-07-18", (4096,), "text", "13B", {}),
    "meta-llama/Llama-2-70b-hf": (["llama-2-70b"], "Llama 2 Community License", "2023-07-18", (4096,), "text", "70B", {}),
    "meta-llama/Meta-Llama-3-8B": (["llama-3-8b"], "Meta Llama 3 Community License", "2024-04-18", (8192,), "text", "8.03B", {}),
    "meta-llama/Meta-Llama-3-70B": (["llama-3-70b"], "Meta Llama 3 Community License", "2024-04-18", (8192,), "text", "70.6B", {}),
    "meta-llama/Llama-3.1-8B": (["llama-3.1-8b"], "Llama 3.1 Community License", "2024-07-23", (131072,), "text", "8.03B", {}),
    "meta-llama/Llama-3.1-70B": (["llama-3.1-70b"], "Llama 3.1 Community License", "2024-07-23", (131072,), "text", "70.6B", {}),
    "meta-llama/Llama-3.1-405B": (["llama-3.1-405b"], "Llama 3.1 Community License", "2024-07-23", (131072,), "text", "406B", {}),
    "meta-llama/Llama-3.2-1B": (["llama-3.2-1b"], "Llama 3.2 Community License", "2024-09-25", (131072,), "text", "1.24B", {}),
    "meta-llama/Llama-3.2-3B": (["llama-3.2-3b"], "Llama 3.2 Community License", "2024-09-25", (131072,), "text", "3.21B", {}),
    "mistralai/Mistral-7B-v0.1": (["mistral-7b-v0.1", "mistral-7b"], "Apache-2.0", "2023-09-27", (32768,), "text", "7.24B", {}),
    "mistralai/Mistral-7B-v0.3": (["mistral-7b-v0.3"], "Apache-2.0", "2024-05-22", (32768,), "text", "7.25B", {}),
    "mistralai/Mistral-Nemo-Base-2407": (["mistral-nemo"], "Apache-2.0", "2024-07-18", (131072,), "text", "12.2B", {}),
    "mistralai/Mixtral-8x7B-v0.1": (["mixtral-8x7b"], "Apache-2.0", "2023-12-11", (32768,), "text", "46.7B", {}),
    "mistralai/Mixtral-8x22B-v0.1": (["mixtral-8x22b"], "Apache-2.0", "2024-04-17", (65536,), "text", "141B", {}),
    "Qwen/Qwen2.5-7B": (["qwen2.5-7b"], "Apache-2.0", "2024-09-19", (131072,), "text", "7.61B", {}),
    "Qwen/Qwen2.5-14B": (["qwen2.5-14b"], "Apache-2.0", "2024-09-19", (131072,), "text", "14.7B", {}),
    "Qwen/Qwen2.5-32B": (["qwen2.5-32b"], "Apache-2.0", "2024-09-19", (131072,), "text", "32.5B", {}),
    "Qwen/Qwen2.5-72B": (["qwen2.5-72b"], "Qwen License", "2024-09-19", (131072,), "text", "72.7B", {}),
    "Qwen/Qwen3-8B": (["qwen3-8b"], "Apache-2.0", "2025-04-29", (32768, 131072), "text", "8.2B", {}),
    "Qwen/Qwen3-30B-A3B": (["qwen3-30b-a3b"], "Apache-2.0", "2025-04-29", (32768, 131072), "text", "30.5B", {}),
    "Qwen/Qwen3-32B": (["qwen3-32b"], "Apache-2.0", "2025-04-29", (32768, 131072), "text", "32.8B", {}),
    "google/gemma-2-9b": (["gemma-2-9b"], "Gemma Terms of Use", "2024-06-27", (8192,), "text", "9.24B", {}),
    "google/gemma-2-27b": (["gemma-2-27b"], "Gemma Terms of Use", "2024-06-27", (8192,), "text", "27.2B", {}),
    "google/gemma-3-27b-it": (["gemma-3-27b"], "Gemma Terms of Use", "2025-03-12", (131072,), "text+image (SigLIP encoder counted, 256 tokens an image)", "27.4B", {}),
    "deepseek-ai/DeepSeek-V2-Lite": (["deepseek-v2-lite"], "DeepSeek License", "2024-05-16", (32768,), "text", "15.7B", {}),
    "deepseek-ai/DeepSeek-V3": (["deepseek-v3"], "DeepSeek License (code MIT)", "2024-12-26", (131072,), "text", "671B", {}),
    "deepseek-ai/DeepSeek-V3.2": (["deepseek-v3.2"], "MIT", "2025-12-01", (163840,), "text", "685B", {}),
    "openai/gpt-oss-20b": (["gpt-oss-20b"], "Apache-2.0", "2025-08-05", (131072,), "text", "20.9B", {}),
    "openai/gpt-oss-120b": (["gpt-oss-120b"], "Apache-2.0", "2025-08-05", (131072,), "text", "116.8B", {}),
    "meta-llama/Meta-Llama-3-8B-Instruct": (["llama-3-8b-instruct"], "Meta Llama 3 Community License", "2024-04-18",
                                            (8192,), "text", "8.03B", {}),
    "TinyLlama/TinyLlama-1.1B-Chat-v1.0": (["tinyllama", "tinyllama-1.1b"], "Apache-2.0", "2023-12-31", (2048,), "text",
                                           "1.1B", {}),
    "microsoft/Phi-4-mini-instruct": (["phi-4-mini"], "MIT", "2025-02-26", (131072,), "text", "3.8B", {}),
    "google/gemma-7b": (["gemma-7b"], "Gemma Terms of Use", "2024-02-21", (8192,), "text", "8.54B", {}),
    "google/gemma-3-1b-it": (["gemma-3-1b"], "Gemma Terms of Use", "2025-03-12", (32768,), "text", "1B", {}),
    "Qwen/Qwen2-7B-Instruct": (["qwen2-7b-instruct"], "Apache-2.0", "2024-06-06", (32768, 131072), "text", "7.6B", {}),
    "Qwen/Qwen2.5-0.5B": (["qwen2.5-0.5b"], "Apache-2.0", "2024-09-19", (32768,), "text", "0.49B", {}),
    "Qwen/Qwen2.5-3B-Instruct": (["qwen2.5-3b-instruct"], "Qwen Research License", "2024-09-19", (32768,), "text",
                                 "3.09B", {}),
    "Qwen/Qwen2.5-72B-Instruct": (["qwen2.5-72b-instruct"], "Qwen License", "2024-09-19", (131072,), "text", "72.7B",
                                  {}),
    "Qwen/Qwen1.5-MoE-A2.7B": (["qwen1.5-moe-a2.7b"], "Tongyi Qianwen License", "2024-03-28", (8192,), "text",
                               "14.3B total, 2.7B active", {}),
    "Qwen/QwQ-32B": (["qwq-32b"], "Apache-2.0", "2025-03-05", (131072,), "text", "32.5B", {}),
    "Qwen/Qwen3-0.6B": (["qwen3-0.6b"], "Apache-2.0", "2025-04-29", (32768,), "text", "0.6B", {}),
    "Qwen/Qwen3-4B": (["qwen3-4b"], "Apache-2.0", "2025-04-29", (32768, 131072), "text", "4.0B", {}),
    "Qwen/Qwen3-14B": (["qwen3-14b"], "Apache-2.0", "2025-04-29", (32768, 131072), "text", "14.8B", {}),
    "Qwen/Qwen3-235B-A22B": (["qwen3-235b-a22b"], "Apache-2.0", "2025-04-29", (32768, 131072), "text",
                             "235B total, 22B active", {}),
    "Qwen/Qwen3-235B-A22B-Instruct-2507": (["qwen3-235b-a22b-2507"], "Apache-2.0", "2025-07-21", (262144,), "text",
                                           "235B total, 22B active", {}),
    "Qwen/Qwen3-Next-80B-A3B-Instruct": (["qwen3-next-80b", "qwen3-next"], "Apache-2.0", "2025-09-11", (262144,),
                                         "text", "80B total, 3B active", {}),
    "allenai/OLMo-2-1124-7B": (["olmo-2-7b"], "Apache-2.0", "2024-11-26", (4096,), "text", "7B", {}),
    "allenai/OLMo-2-1124-13B": (["olmo-2-13b"], "Apache-2.0", "2024-11-26", (4096,), "text", "13B", {}),
    "allenai/OLMo-2-0325-32B": (["olmo-2-32b"], "Apache-2.0", "2025-03-13", (4096,), "text", "32B", {}),
    "allenai/OLMoE-1B-7B-0924": (["olmoe-1b-7b", "olmoe"], "Apache-2.0", "2024-09-03", (4096,), "text",
                                 "6.9B total, 1.3B active", {}),
    "zai-org/GLM-4.5-Air": (["glm-4.5-air"], "MIT", "2025-07-28", (131072,), "text", "106B total, 12B active", {}),
    "moonshotai/Kimi-K2-Instruct": (["kimi-k2", "kimi-k2-instruct"], "Modified MIT", "2025-07-11", (131072,), "text",
                                    "1T total, 32B active", {}),
    "ai21labs/AI21-Jamba-1.5-Mini": (["jamba-1.5-mini", "jamba-mini"], "Jamba Open Model License", "2024-08-22",
                                     (262144,), "text", "52B total, 12B active", {}),
    "meta-llama/Llama-3.3-70B-Instruct": (["llama-3.3-70b", "llama-3.3-70b-instruct"], "Llama 3.3 Community License",
                                          "2024-12-06", (131072,), "text", "70.6B", {}),
    "microsoft/phi-4": (["phi-4"], "MIT", "2024-12-12", (16384,), "text", "14.7B", {}),
    "google/gemma-3-4b-it": (["gemma-3-4b"], "Gemma Terms of Use", "2025-03-12", (131072,),
                             "text+image (SigLIP encoder counted, 256 tokens an image)", "4.3B", {}),
    "google/gemma-3-12b-it": (["gemma-3-12b"], "Gemma Terms of Use", "2025-03-12", (131072,),
                              "text+image (SigLIP encoder counted, 256 tokens an image)", "12.2B", {}),
    "mistralai/Mistral-Small-24B-Instruct-2501": (["mistral-small-3", "mistral-small-24b"], "Apache-2.0", "2025-01-30",
                                                  (32768,), "text", "23.6B", {}),
    "deepseek-ai/DeepSeek-R1": (["deepseek-r1"], "MIT", "2025-01-20", (131072,), "text", "671B", {}),
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B": (["r1-distill-qwen-7b", "deepseek-r1-distill-qwen-7b"], "MIT",
                                                "2025-01-20", (131072,), "text", "7.62B", {}),
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B": (["r1-distill-qwen-14b", "deepseek-r1-distill-qwen-14b"], "MIT",
                                                 "2025-01-20", (131072,), "text", "14.8B", {}),
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B": (["r1-distill-qwen-32b", "deepseek-r1-distill-qwen-32b"], "MIT",
                                                 "2025-01-20", (131072,), "text", "32.8B", {}),
    "deepseek-ai/DeepSeek-R1-Distill-Llama-8B": (["r1-distill-llama-8b", "deepseek-r1-distill-llama-8b"], "MIT",
                                                 "2025-01-20", (131072,), "text", "8.03B", {}),
    "deepseek-ai/DeepSeek-R1-Distill-Llama-70B": (["r1-distill-llama-70b", "deepseek-r1-distill-llama-70b"], "MIT",
                                                  "2025-01-20", (131072,), "text", "70.6B", {}),
    "Qwen/Qwen3-1.7B": (["qwen3-1.7b"], "Apache-2.0", "2025-04-29", (32768,), "text", "1.7B", {}),
    "Qwen/Qwen3-Coder-30B-A3B-Instruct": (["qwen3-coder-30b-a3b", "qwen3-coder"], "Apache-2.0", "2025-07-31",
                                          (262144, 1048576), "text", "30.5B total, 3.3B active", {}),
    "meta-llama/Llama-4-Scout-17B-16E-Instruct": (["llama-4-scout", "llama4-scout"], "Llama 4 Community License",
                                                  "2025-04-05", (10485760,),
                                                  "text+image (its encoder counted, 144 tokens an image tile)",
                                                  "109B total, 17B active", {}),
    "meta-llama/Llama-4-Maverick-17B-128E-Instruct": (["llama-4-maverick", "llama4-maverick"],
                                                      "Llama 4 Community License", "2025-04-05", (1048576,),
                                                      "text+image (its encoder counted, 144 tokens an image tile)",
                                                      "402B total, 17B active", {}),
    "Qwen/Qwen2.5-Coder-32B-Instruct": (["qwen2.5-coder-32b", "qwen2.5-coder-32b-instruct"], "Apache-2.0", "2024-11-12",
                                        (32768, 131072), "text", "32.8B", {}),
    # Release dates: the News sections of QwenLM/Qwen3.5, QwenLM/Qwen3-VL and QwenLM/Qwen3 READMEs; GLM-4.7's model
    # card and docs.z.ai. Qwen3.5's cards: "262,144 natively and extensible up to 1,010,000 tokens" (YaRN).
    "Qwen/Qwen3.5-35B-A3B": (["qwen3.5-35b-a3b"], "Apache-2.0", "2026-02-24", (262144, 1010000), QWEN_VL_IMAGE,
                             "35B total, 3B active", {}),
    "Qwen/Qwen3.5-122B-A10B": (["qwen3.5-122b-a10b"], "Apache-2.0", "2026-02-24", (262144, 1010000), QWEN_VL_IMAGE,
                               "122B total, 10B active", {}),
    "Qwen/Qwen3.5-397B-A17B": (["qwen3.5-397b-a17b", "qwen3.5"], "Apache-2.0", "2026-02-16", (262144, 1010000),
                               QWEN_VL_IMAGE, "397B total, 17B active", {}),
    "Qwen/Qwen3.5-27B": (["qwen3.5-27b"], "Apache-2.0", "2026-02-24", (262144, 1010000), QWEN_VL_IMAGE, "27B", {}),
    "Qwen/Qwen3-VL-8B-Instruct": (["qwen3-vl-8b", "qwen3-vl-8b-instruct"], "Apache-2.0", "2025-10-15", (262144,),
                                  QWEN_VL_IMAGE, "8.77B (safetensors)", {}),
    "Qwen/Qwen3-VL-30B-A3B-Instruct": (["qwen3-vl-30b-a3b", "qwen3-vl-30b-a3b-instruct"], "Apache-2.0", "2025-10-04",
                                       (262144,), QWEN_VL_IMAGE, "31.1B total (safetensors), 3B active", {}),
    "Qwen/Qwen3-30B-A3B-Instruct-2507": (["qwen3-30b-a3b-2507", "qwen3-30b-a3b-instruct-2507"], "Apache-2.0",
                                         "2025-07-30", (262144,), "text", "30.5B total, 3.3B active", {}),
    "zai-org/GLM-4.7": (["glm-4.7"], "MIT", "2025-12-22", (202752,), "text", "355B total, 32B active", {}),
    # Qwen2.5-VL (qwenlm.github.io/blog/qwen2.5-vl, 2025-01-26; the 32B on 2025-03-24): exact counts 3,754,622,976,
    # 8,292,166,656, 33,452,718,336 and 73,410,777,344 (tests/test_qwen25_vl.py gives the published ones)
    "Qwen/Qwen2.5-VL-3B-Instruct": (["qwen2.5-vl-3b", "qwen2.5-vl-3b-instruct"], "Qwen Research License", "2025-01-26",
                                    (128000,), QWEN25_VL_IMAGE, "3.75B", {}),
    "Qwen/Qwen2.5-VL-7B-Instruct": (["qwen2.5-vl-7b", "qwen2.5-vl-7b-instruct"], "Apache-2.0", "2025-01-26",
                                    (128000,), QWEN25_VL_IMAGE, "8.29B", {}),
    "Qwen/Qwen2.5-VL-32B-Instruct": (["qwen2.5-vl-32b", "qwen2.5-vl-32b-instruct"], "Apache-2.0", "2025-03-24",
                                     (128000,), QWEN25_VL_IMAGE, "33.5B", {}),
    "Qwen/Qwen2.5-VL-72B-Instruct": (["qwen2.5-vl-72b", "qwen2.5-vl-72b-instruct"], "Qwen License", "2025-01-26",
                                     (128000,), QWEN25_VL_IMAGE, "73.4B", {}),
    # Mistral Small 3.1 (mistral.ai/news/mistral-small-3-1, 2025-03-17) and 3.2 (2025-06-20), 24B with a Pixtral
    # encoder; 3.2 is a fine-tune of 3.1 with the same shapes: 24,011,361,280 parameters for both (keras-hub's
    # mistral_small_3.1_24b presets; a published census of Mistral-Small-3.2-24B-Instruct-2506's safetensors)
    "mistralai/Mistral-Small-3.1-24B-Instruct-2503": (["mistral-small-3.1", "mistral-small-3.1-24b"], "Apache-2.0",
                                                      "2025-03-17", (131072,), PIXTRAL_IMAGE, "24B", {}),
    "mistralai/Mistral-Small-3.2-24B-Instruct-2506": (["mistral-small-3.2", "mistral-small-3.2-24b"], "Apache-2.0",
                                                      "2025-06-20", (131072,), PIXTRAL_IMAGE, "24B",
                                                      {"_base": "mistralai/Mistral-Small-3.1-24B-Instruct-2503"}),
}


def fixture(model_id: str) -> dict:
    return json.loads((FIXTURES / (model_id.replace("/", "__") + ".json")).read_text())


def main() -> None:
    out_dir = ROOT / "profiles" / "models"
    out_dir.mkdir(parents=True, exist_ok=True)
    for model_id, (aliases, lic, date, ctxs, modality, params, overrides) in MODELS.items():
        overrides = dict(overrides)
        base = overrides.pop("_base", model_id)
        raw = {**fixture(base), **overrides}
        page = f"https://huggingface.co/{model_id}"
        spec = spec_from_config(raw, name=model_id, source=f"{page}/blob/main/config.json")
        card = {k: {"value": v, "source": page} for k, v in
                (("license", lic), ("release_date", date), ("context_variants", list(ctxs)),
                 ("modality", modality), ("published_params", params))}
        data = spec.model_dump(mode="json", exclude={"card", "aliases"})
        data = {"name": data.pop("name"), "source": data.pop("source"), "aliases": aliases, **data, "card": card}
        header = f"# {model_id}: generated by scripts/make_profiles.py from its config.json\n"
        if base != model_id:
            header += f"# assembled from {base}'s config.json with {overrides} (this variant's page)\n"
        path = out_dir / (model_id.split("/")[-1].lower() + ".yaml")
        path.write_text(header + yaml.safe_dump(data, sort_keys=False, width=110))
    print(f"wrote {len(MODELS)} profiles to {out_dir}")


if __name__ == "__main__":
    main()
