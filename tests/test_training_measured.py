"""train_estimate against every committed training measurement: transformers' own classes with peft's adapters,
bitsandbytes' 4-bit layers and 8-bit AdamW at full size under fake tensors (profiles/measurements/
training-fake.jsonl, written by scripts/measure_training.py). Needs none of those packages: the records carry the
measurement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.training.validate import TOLERANCE, compare, modelled

RECORDS = [json.loads(line) for line in
           (Path(__file__).resolve().parents[1] / "profiles/measurements/training-fake.jsonl").open()]


def _key(r: dict) -> str:
    s = r["setup"]
    return (f"{r['model']}|{s['method']}|{s['precision']}|{s['optimizer']}|ckpt={s['gradient_checkpointing']}|"
            f"{s['micro_batch']}x{s['seq_len']}|{s['attention']}")


# Known misses, with the error the test holds them to (so a regression still fails) and why.
KNOWN = {
    # QLoRA without checkpointing on Phi-3-mini: the measured forward peak (at the loss) holds about 8·d bytes per
    # token and layer more than the saved tensors and the loss's logits; not explained yet (Llama/Qwen/Mistral/
    # Gemma QLoRA are within 2 %, and Phi-3-mini QLoRA with checkpointing within 0.1 %)
    "microsoft/Phi-3-mini-4k-instruct|qlora|bf16|adamw|ckpt=False|1x2048|sdpa": 0.11,
    "microsoft/Phi-3-mini-4k-instruct|qlora|bf16|adamw_8bit|ckpt=False|1x2048|sdpa": 0.11,
}


def test_records_cover_what_the_estimator_claims():
    modelled_records = [r for r in RECORDS if modelled(r) is None]
    assert len(modelled_records) >= 120
    families = {r["model"] for r in modelled_records}
    assert len(families) >= 8
    for method in ("full", "lora", "qlora"):
        for ckpt in (False, True):
            for opt in ("adamw", "adamw_8bit"):
                n = {r["model"] for r in modelled_records if r["setup"]["method"] == method
                     and r["setup"]["gradient_checkpointing"] is ckpt and r["setup"]["optimizer"] == opt}
                assert len(n) >= 8, (method, ckpt, opt, sorted(n))


@pytest.mark.parametrize("record", RECORDS, ids=_key)
def test_estimate_matches_the_measured_step(record):
    why = modelled(record)
    if why is not None:
        pytest.skip(why)
    result = compare(record)
    key = _key(record)
    for figure, (est, meas, err, ok) in result.items():
        if figure == "step2_peak_bytes" and key in KNOWN:
            assert abs(err) <= KNOWN[key], f"{figure}: {err:+.2%} (known miss held to {KNOWN[key]:.0%})"
            continue
        assert ok, f"{figure}: planner {est:,} vs measured {meas:,} ({err:+.2%}, tolerance {TOLERANCE[figure]:.1%})"


def test_known_misses_are_still_misses():
    """When a known miss is fixed, this fails: take it off the list."""
    by_key = {_key(r): r for r in RECORDS}
    for key in KNOWN:
        assert not compare(by_key[key])["step2_peak_bytes"][3], f"{key} is within tolerance now"
