"""train_estimate against one measured training step (planner.measure.training records), component by component.

The record's measurement comes from transformers, peft and bitsandbytes themselves at full size under fake
tensors; this side needs none of them, so CI re-checks every committed record against the current estimator.
"""

from __future__ import annotations

from ..paths import published_config
from ..profiles import list_models, load_model
from .estimate import activation_parts, kept_weight_copies, train_estimate
from .setup import make_setup, resolve_attention
from .states import model_states

# |estimated / measured − 1| allowed per figure: the model states are counted tensor by tensor (exact up to
# buffers such as DeepSeek's e_score_correction_bias); the activations kept for backward 5 %; the peak 2 %
TOLERANCE = {"trainable_params": 0.0, "weights_bytes": 0.001, "gradient_bytes": 0.001, "optimizer_state_bytes": 0.001,
             "forward_saved_bytes": 0.05, "step2_peak_bytes": 0.02}
SETUP_KEYS = ("method", "precision", "optimizer", "gradient_checkpointing", "micro_batch", "seq_len", "attention",
              "lora_rank", "lora_targets")


def modelled(record: dict) -> str | None:
    """Why planner does not model this record's setup, or None when it does."""
    s = record["setup"]
    assumed = s["precision"] == "mixed" or s["method"] == "qlora"
    if s.get("autocast", assumed) != assumed:
        return ("autocast " + ("on" if s["autocast"] else "off") + f" with {s['method']} {s['precision']}: planner "
                "follows the recipe (autocast for mixed precision and QLoRA only)")
    return None


def resolve(model: str):
    """A record's model: the bundled profile, else its published config in tests/fixtures/configs."""
    if model.lower() in {m.lower() for m in list_models()}:
        return load_model(model)
    return load_model(str(published_config(model)))


def estimated(record: dict) -> dict:
    """planner's figures for the record's model and setup, named as the measurement names them."""
    spec = resolve(record["model"])
    setup = resolve_attention(spec, make_setup(**{k: record["setup"][k] for k in SETUP_KEYS if k in record["setup"]}))
    states = model_states(spec, setup)
    e = train_estimate(spec, setup=setup)
    act = activation_parts(spec, setup)
    return {"trainable_params": states.trainable_params, "weights_bytes": states.weights_bytes,
            "gradient_bytes": states.gradient_bytes, "optimizer_state_bytes": states.optimizer_state_bytes,
            "forward_saved_bytes": act["kept"] + act["logits_saved"] + kept_weight_copies(
                spec, setup, states.trainable_params),
            "step2_peak_bytes": sum(e.components.values()), "peak_phase": e.peak_phase}


def compare(record: dict) -> dict:
    """{figure: (estimated, measured, error as a fraction, within tolerance)} for a record planner models."""
    est, meas = estimated(record), record["measured"]
    out = {}
    for key, tol in TOLERANCE.items():
        m, e = meas[key], est[key]
        err = (e / m - 1) if m else (0.0 if e == 0 else float("inf"))
        out[key] = (e, m, err, abs(e - m) <= tol * m)
    return out
