"""planner.measure.training on a 2-layer Llama-3.2-1B configuration: facts of a training step that follow exactly from
the parameters' shapes and dtypes (FakeTensorMode: no real memory). Needs transformers (and peft, bitsandbytes for
the adapter runs); skipped where they are not installed."""

import json
import math
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from planner.measure.training import measure  # noqa: E402

CONFIG = json.loads((Path(__file__).parent / "fixtures" / "configs" / "meta-llama__Llama-3.2-1B.json").read_text())
TINY = {**CONFIG, "num_hidden_layers": 2}
SEQ = 64
d, kv, ff, vocab = 2048, 8 * 64, 8192, 128256  # hidden, k/v width, MLP width, vocabulary
# (in, out) of each layer's Linear modules
LINEARS = {"q_proj": (d, d), "k_proj": (d, kv), "v_proj": (d, kv), "o_proj": (d, d),
           "gate_proj": (d, ff), "up_proj": (d, ff), "down_proj": (ff, d)}
LAYERS = TINY["num_hidden_layers"]
NORM_PARAMS = (2 * LAYERS + 1) * d
EMBED = vocab * d  # tied with lm_head
TENSORS = 1 + (2 * LAYERS + 1) + len(LINEARS) * LAYERS  # parameter tensors
STEP = 4  # torch AdamW's state["step"]: an fp32 scalar tensor per parameter (on the CPU unless fused or capturable)


def test_full_bf16_adamw_states_are_two_copies_and_grads_one():
    m = measure(TINY, seq_len=SEQ)
    params = EMBED + NORM_PARAMS + LAYERS * sum(i * o for i, o in LINEARS.values())
    assert m["trainable_params"] == params
    assert m["weights_bytes"] == m["trainable_bytes"] == 2 * params and m["frozen_bytes"] == 0
    assert m["gradient_bytes"] == m["trainable_bytes"]
    assert m["optimizer_state_bytes"] == 2 * m["trainable_bytes"] + STEP * TENSORS  # exp_avg, exp_avg_sq in bf16
    assert m["step2_peak_bytes"] >= m["weights_bytes"] + m["gradient_bytes"] + m["optimizer_state_bytes"]
    logits = SEQ * vocab
    assert m["logits_bytes"] == 2 * logits + 4 * logits  # bf16 logits and the loss's fp32 copy


def test_mixed_precision_keeps_fp32_weights_and_casts_each_once():
    m = measure(TINY, seq_len=SEQ, precision="mixed")
    assert m["optimizer_state_bytes"] == 2 * m["weights_bytes"] + STEP * TENSORS
    # autocast's cache: one bf16 copy of each matrix (the tied embedding once, for lm_head); RMSNorm runs in fp32
    assert m["forward_weight_cast_bytes"] == (m["weights_bytes"] - 4 * NORM_PARAMS) // 2


def test_lora_trainable_params_are_r_times_in_plus_out():
    pytest.importorskip("peft")
    r = 8
    m = measure(TINY, seq_len=SEQ, method="lora", lora_rank=r, lora_targets=["q_proj", "v_proj"])
    expected = LAYERS * sum(r * (i + o) for name, (i, o) in LINEARS.items() if name in ("q_proj", "v_proj"))
    assert m["trainable_params"] == expected
    assert m["adapter_dtypes"] == ["float32"] and m["trainable_bytes"] == 4 * expected  # peft's fp32 adapters
    assert m["gradient_bytes"] == m["trainable_bytes"]
    assert m["optimizer_state_bytes"] == 2 * m["trainable_bytes"] + STEP * LAYERS * 2 * 2


def test_qlora_weights_are_the_nf4_layout():
    pytest.importorskip("peft")
    pytest.importorskip("bitsandbytes")
    r = 16
    m = measure(TINY, seq_len=SEQ, method="qlora", lora_rank=r)
    full = measure(TINY, seq_len=SEQ, method="lora", lora_rank=r)
    quantized = 0
    for i, o in LINEARS.values():
        n = i * o  # packed 4-bit, uint8 absmax per 64, fp32 absmax per 256 blocks, NF4 code, offset, and
        # the double quantization's 256-entry code table (a copy per layer)
        quantized += n // 2 + n // 64 + 4 * math.ceil(n / 64 / 256) + 16 * 4 + 4 + 256 * 4
    adapters = 4 * LAYERS * sum(r * (i + o) for i, o in LINEARS.values())
    # prepare_model_for_kbit_training casts the embedding and the norms to fp32
    assert m["weights_bytes"] == LAYERS * quantized + 4 * (EMBED + NORM_PARAMS) + adapters
    assert m["trainable_bytes"] == full["trainable_bytes"] == adapters
    assert LAYERS * quantized < 2 * LAYERS * sum(i * o for i, o in LINEARS.values()) / 3.5  # vs bf16


def test_adamw_8bit_states_are_blockwise_uint8():
    pytest.importorskip("bitsandbytes")
    m = measure(TINY, seq_len=SEQ, optimizer="adamw_8bit")
    sizes = [EMBED] + [d] * (2 * LAYERS + 1) + [i * o for i, o in LINEARS.values()] * LAYERS
    # bitsandbytes/optim/optimizer.py Optimizer2State.init_state: fp32 states below min_8bit_size=4096 elements,
    # else two uint8 states and two fp32 absmax per 256-element block; the two 256-entry qmaps are shared
    expected = sum(8 * n if n < 4096 else 2 * n + 8 * math.ceil(n / 256) for n in sizes) + 2 * 256 * 4
    assert m["optimizer_state_bytes"] == expected


def test_frozen_leading_layers_keep_what_planner_says():
    """Full fine-tuning with the embedding and the first layers frozen: the tensors autograd saves (hooked with
    saved_tensors_hooks on transformers' own Llama) equal planner's count, with and without checkpointing."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from planner import load_model
    from planner.measure.transformers import sdpa_as_on_cuda
    from planner.training.activations import (
        checkpointed_bytes_per_token,
        logits_bytes_per_token,
        saved_bytes_per_token,
    )
    from planner.training.setup import make_setup

    cfg = AutoConfig.for_model(model_type="llama", hidden_size=256, num_attention_heads=8, head_dim=48,
                               num_key_value_heads=2, intermediate_size=704, vocab_size=1000, num_hidden_layers=4,
                               max_position_embeddings=4096, tie_word_embeddings=False)
    spec = load_model(cfg.to_dict() | {"_name_or_path": "tiny-llama"})
    tokens = 64
    for frozen in (1, 2):
        for ckpt in (False, True):
            model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16).train()
            model.model.embed_tokens.weight.requires_grad_(False)
            for layer in model.model.layers[:frozen]:
                layer.requires_grad_(False)
            if ckpt:
                model.gradient_checkpointing_enable()
            params = {p.untyped_storage()._cdata for p in model.parameters()}
            saved = {}

            def pack(t, saved=saved, params=params):
                s = t.untyped_storage()
                if s._cdata not in params and t.dtype != torch.int64:
                    saved[s._cdata] = s.nbytes()
                return t

            ids = torch.zeros((1, tokens), dtype=torch.long)
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), sdpa_as_on_cuda():
                model(input_ids=ids, labels=ids)
            setup = make_setup(freeze_layers=frozen, seq_len=tokens, gradient_checkpointing=ckpt)
            per_token = (checkpointed_bytes_per_token if ckpt else saved_bytes_per_token)(spec, setup)
            # one fp32 loss scalar besides
            assert sum(saved.values()) == (per_token + logits_bytes_per_token(spec)["saved"]) * tokens + 4
