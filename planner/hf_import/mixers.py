"""The per-layer parts a config.json describes beyond plain attention and MLP: mixtures of experts, MLA, linear
attention and Mamba mixers, each read the way its family's transformers config class reads it."""

from __future__ import annotations

from ..errors import ConfigImportError
from ..limits import MAX_D_FF
from ..spec import MLA, LinearAttention, Mamba, Mamba1, MoE, SparseIndexer
from .config import _Config
from .families import BOUNDS, DTYPES, QWEN_NEXT
from .values import check_count, check_list, show_value


def _experts_per_token(c: _Config, experts_key: str, n_experts: int) -> int:
    k = c.count("num_experts_per_tok")
    if k > n_experts:  # the router's top-k picks among n_experts
        raise ConfigImportError(f"{c.where}: num_experts_per_tok ({k}) must be at most {experts_key} ({n_experts})")
    return k


def _moe(c: _Config, n_layers: int) -> MoE | None:
    t = c.model_type
    if t == "jamba":  # JambaConfig.layers_num_experts: experts where i % expert_layer_period == expert_layer_offset
        n = c.count("num_experts")
        period, offset = c.count("expert_layer_period"), c.count("expert_layer_offset")
        if offset >= period:
            raise ConfigImportError(f"{c.where}: expert_layer_offset ({offset}) must be below expert_layer_period "
                                    f"({period})")
        return MoE(n_experts=n, experts_per_token=_experts_per_token(c, "num_experts", n),
                   expert_d_ff=c.count("intermediate_size"), layer_period=period, layer_offset=offset)
    if t == "olmoe":
        n = c.count("num_experts")
        return MoE(n_experts=n, experts_per_token=_experts_per_token(c, "num_experts", n),
                   expert_d_ff=c.count("intermediate_size"))
    if t == "granitemoehybrid":
        return _granite_hybrid_moe(c)
    if t in ("mixtral", "phimoe", "gpt_oss", "granitemoe"):
        n = c.count("num_local_experts")
        return MoE(n_experts=n, experts_per_token=_experts_per_token(c, "num_local_experts", n),
                   expert_d_ff=c.count("intermediate_size"), router_bias=t == "gpt_oss")
    if t in ("qwen2_moe", "qwen3_moe", "qwen3_next", "qwen3_5_moe_text"):
        return _qwen_moe(c, n_layers)
    if t in ("deepseek_v2", "deepseek_v3", "deepseek_v32", "glm4_moe"):
        return _deepseek_moe(c, n_layers)
    if t == "minimax_m2":
        return _minimax_moe(c)
    if t == "llama4_text":
        return _llama4_moe(c, n_layers)
    return None


def _llama4_moe(c: _Config, n_layers: int) -> MoE:
    # Llama4TextMoe: num_local_experts experts of intermediate_size (top num_experts_per_tok, a router without bias)
    # and one shared expert of intermediate_size, in the layers of moe_layers: by default every
    # interleave_moe_layer_step-th, range(step - 1, num_hidden_layers, step) (Maverick: the odd layers)
    n, step = c.count("num_local_experts"), c.count("interleave_moe_layer_step")
    rule = list(range(step - 1, n_layers, step))
    if c.raw.get("moe_layers") is not None:
        given = [check_count(c.where, f"moe_layers[{i}]", v, 0, n_layers - 1)
                 for i, v in enumerate(check_list(c.where, "moe_layers", c.raw["moe_layers"], n_layers))]
        if given != rule:
            raise ConfigImportError(f"{c.where}: moe_layers {show_value(given)} is not every "
                                    f"interleave_moe_layer_step-th layer ({step}), the layout planner describes")
    d_ff = c.count("intermediate_size")
    return MoE(n_experts=n, experts_per_token=_experts_per_token(c, "num_local_experts", n), expert_d_ff=d_ff,
               n_shared_experts=1, shared_d_ff=d_ff, layer_period=step, layer_offset=step - 1)


def _minimax_moe(c: _Config) -> MoE:
    # MiniMaxM2SparseMoeBlock: num_local_experts experts of intermediate_size in every layer, a router without bias
    # and the e_score_correction_bias buffer the checkpoint holds (the config's use_routing_bias: the per-expert
    # score bias). shared_intermediate_size (MiniMax-01's shared expert) is read only to refuse one: transformers'
    # MiniMaxM2 class builds none.
    shared = check_count(c.where, "shared_intermediate_size", c.value("shared_intermediate_size"), 0,
                         BOUNDS["shared_intermediate_size"][1])
    if shared:
        raise ConfigImportError(f"{c.where}: shared_intermediate_size {shared}: MiniMax-M2 has no shared expert")
    n = c.count("num_local_experts")
    return MoE(n_experts=n, experts_per_token=_experts_per_token(c, "num_local_experts", n),
               expert_d_ff=c.count("intermediate_size"), router_correction_bias=c.flag("use_routing_bias"))


def _granite_hybrid_moe(c: _Config) -> MoE | None:
    """Experts plus a shared MLP in every layer; without experts (num_local_experts 0) the shared MLP is the dense
    MLP (planner's d_ff, read in _spec)."""
    n = c.value("num_local_experts")
    n = check_count(c.where, "num_local_experts", n, 0, BOUNDS["num_local_experts"][1])
    if n == 0:
        return None
    shared = c.count("shared_intermediate_size")
    return MoE(n_experts=n, experts_per_token=_experts_per_token(c, "num_local_experts", n),
               expert_d_ff=c.count("intermediate_size"), n_shared_experts=1, shared_d_ff=shared)


def _qwen_moe(c: _Config, n_layers: int) -> MoE:
    # Qwen2MoeConfig / Qwen3MoeConfig: layer i is MoE unless i is in mlp_only_layers or
    # (i + 1) % decoder_sparse_step != 0 (so decoder_sparse_step ≥ 1).
    step = c.count("decoder_sparse_step")
    dense = check_list(c.where, "mlp_only_layers", c.value("mlp_only_layers", []), n_layers)
    dense = [check_count(c.where, f"mlp_only_layers[{i}]", v, 0, n_layers - 1) for i, v in enumerate(dense)]
    if step != 1 or dense:
        raise ConfigImportError(f"{c.where}: decoder_sparse_step {step} / mlp_only_layers {show_value(dense)}: "
                                "only every-layer MoE is supported")
    n = c.count("num_experts")
    shared = c.count("shared_expert_intermediate_size", 0) if c.model_type in ("qwen2_moe", "qwen3_next",
                                                                                "qwen3_5_moe_text") else 0
    return MoE(n_experts=n, experts_per_token=_experts_per_token(c, "num_experts", n),
               expert_d_ff=c.count("moe_intermediate_size"), n_shared_experts=1 if shared else 0,
               shared_d_ff=shared, shared_expert_gate=bool(shared))


def _deepseek_moe(c: _Config, n_layers: int) -> MoE:
    freq = c.count("moe_layer_freq")
    if freq != 1:
        raise ConfigImportError(f"{c.where}: moe_layer_freq {freq}: only 1 is supported")
    n = c.count("n_routed_experts")
    k = _experts_per_token(c, "n_routed_experts", n)
    expert_d_ff = c.count("moe_intermediate_size")
    n_shared = c.count("n_shared_experts", nullable=True) or 0  # DeepseekV2Config: None means no shared expert
    if n_shared * expert_d_ff > MAX_D_FF:  # the shared experts run as one MLP of n_shared_experts × that width
        raise ConfigImportError(f"{c.where}: n_shared_experts × moe_intermediate_size ({n_shared} × {expert_d_ff}) "
                                f"must be at most {MAX_D_FF}")
    first = c.count("first_k_dense_replace")
    if first >= n_layers:  # some layer must be MoE, or this is a dense model with unused experts
        raise ConfigImportError(f"{c.where}: first_k_dense_replace ({first}) must be below num_hidden_layers "
                                f"({n_layers})")
    topk = c.text("topk_method", None, nullable=True)
    return MoE(n_experts=n, experts_per_token=k, expert_d_ff=expert_d_ff, n_shared_experts=n_shared,
               shared_d_ff=n_shared * expert_d_ff, first_dense_layers=first,
               router_correction_bias=topk == "noaux_tc" or c.model_type in ("deepseek_v3", "deepseek_v32",
                                                                             "glm4_moe"))


def _mamba(c: _Config, d_model: int) -> Mamba | None:
    if c.model_type not in ("granitemoehybrid", "falcon_h1"):
        return None
    heads = c.count("mamba_n_heads")
    # GraniteMoeHybridConfig: d_inner = mamba_expand × hidden_size; FalconH1Config: mamba_d_ssm when given
    ssm = c.count("mamba_d_ssm", None, nullable=True) if c.model_type == "falcon_h1" else None
    inner = ssm if ssm is not None else c.count("mamba_expand") * d_model
    if inner % heads:  # the configs' validate_architecture
        raise ConfigImportError(f"{c.where}: mamba_n_heads ({heads}) must divide the Mamba width ({inner})")
    head = c.value("mamba_d_head", "auto")
    head = inner // heads if head == "auto" else c.count("mamba_d_head")
    if head * heads != inner:
        raise ConfigImportError(f"{c.where}: mamba_d_head × mamba_n_heads ({head} × {heads}) must equal the Mamba "
                                f"width ({inner})")
    proj_bias = c.flag("mamba_proj_bias")
    falcon = c.model_type == "falcon_h1"
    return Mamba(n_heads=heads, head_dim=head, d_state=c.count("mamba_d_state"), n_groups=c.count("mamba_n_groups"),
                 conv_kernel=c.count("mamba_d_conv"), conv_bias=c.flag("mamba_conv_bias", True), proj_bias=proj_bias,
                 out_bias=c.flag("projectors_bias") if falcon else proj_bias,
                 gated_norm=c.flag("mamba_rms_norm") if falcon else True)


def _mamba1(c: _Config, d_model: int) -> Mamba1 | None:
    if c.model_type != "jamba":
        return None
    rank = c.value("mamba_dt_rank", "auto")  # JambaConfig: "auto" is ceil(hidden_size / 16)
    rank = -(-d_model // 16) if rank == "auto" else c.count("mamba_dt_rank")
    return Mamba1(d_inner=c.count("mamba_expand") * d_model, d_state=c.count("mamba_d_state"), dt_rank=rank,
                  conv_kernel=c.count("mamba_d_conv"), conv_bias=c.flag("mamba_conv_bias", True),
                  proj_bias=c.flag("mamba_proj_bias"))


def _linear_attention(c: _Config) -> LinearAttention | None:
    if c.model_type not in QWEN_NEXT:
        return None
    ssm = c.text("mamba_ssm_dtype", None, choices=DTYPES, nullable=True)  # Qwen3.5's "float32"
    return LinearAttention(num_key_heads=c.count("linear_num_key_heads"),
                           num_value_heads=c.count("linear_num_value_heads"),
                           key_head_dim=c.count("linear_key_head_dim"), value_head_dim=c.count("linear_value_head_dim"),
                           conv_kernel=c.count("linear_conv_kernel_dim"),
                           ssm_dtype=None if ssm is None else DTYPES[ssm])


def _mla(c: _Config) -> MLA | None:
    if c.model_type not in ("deepseek_v2", "deepseek_v3", "deepseek_v32"):
        return None
    return MLA(q_lora_rank=c.count("q_lora_rank", None, nullable=True), kv_lora_rank=c.count("kv_lora_rank"),
               qk_rope_head_dim=c.count("qk_rope_head_dim"), qk_nope_head_dim=c.count("qk_nope_head_dim"),
               v_head_dim=c.count("v_head_dim"))


def _indexer(c: _Config, mla: MLA | None) -> SparseIndexer | None:
    """DeepSeek-V3.2's lightning indexer (DeepseekV32Indexer): its wq_b reads MLA's query latent, so q_lora_rank must
    be set, and its heads split into qk_rope_head_dim rotary and the rest (torch.split in its forward)."""
    if c.model_type != "deepseek_v32":
        return None
    if mla is None or mla.q_lora_rank is None:
        raise ConfigImportError(f"{c.where}: q_lora_rank is null, but the indexer's wq_b projects the query latent")
    width = c.count("index_head_dim")
    if width < mla.qk_rope_head_dim:
        raise ConfigImportError(f"{c.where}: index_head_dim ({width}) must be at least qk_rope_head_dim "
                                f"({mla.qk_rope_head_dim}), the rotary part of each indexer head")
    return SparseIndexer(n_heads=c.count("index_n_heads"), head_dim=width, topk=c.count("index_topk"))
