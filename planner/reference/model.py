"""A decoder built from any ModelSpec, readable in one sitting (gpt-fast style), for measuring memory.

Shapes: B batch, T new tokens, S cached tokens, H query heads, K KV heads, D head dim, d model width.
The KV cache is preallocated in the KV dtype (sliding layers: a ring of `window` slots). Weights are stored in
the chosen format (planner.reference.weights) and dequantized on the fly. Attention is SDPA (no score matrix)
or eager (scores and probabilities materialized). Masked SDPA (sliding windows, a chunk after cached tokens)
runs query blocks of Q_BLOCK rows against only the keys they may see; Phi-3-small's block-sparse mask is applied
by eager attention (under SDPA those layers use the dense causal kernel, see `attend`).
MoE routing is real on real tensors; on fake tensors (no data) every expert gets the balanced share
ceil(N·k/E) of the tokens, the estimator's own assumption.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..kv import get_kv_dtype
from ..quant.catalog import get_quant
from ..quant.gguf import tensor_types
from ..spec import ModelSpec
from ..tensors import weight_tensors
from .weights import DEQUANT_CHUNK_ROWS, TORCH_DTYPES, Stored, storage_kind

Q_BLOCK = 1024  # query rows per masked-attention block
KV_TORCH = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16, "fp8": torch.float8_e4m3fn}


def _is_fake(t: torch.Tensor) -> bool:
    from torch._subclasses.fake_tensor import FakeTensor

    return isinstance(t, FakeTensor) or t.device.type == "meta"


class Weights(nn.Module):
    """Every tensor of the spec, by its GGUF-style name, stored in the chosen format."""

    def __init__(self, spec: ModelSpec, quant: str, act: torch.dtype, device=None):
        super().__init__()
        from ..weights import tensor_bytes

        fmt = get_quant(quant)
        types = tensor_types(spec, fmt.gguf_preset) if fmt.is_gguf else {}
        sizes = {name: n for name, _, n in tensor_bytes(spec, quant)}
        self.w = nn.ModuleDict()
        for t in weight_tensors(spec):
            kind, group = storage_kind(t, quant, types.get(t.name))
            self.w[t.name.replace(".", "_")] = Stored(t.shape, sizes[t.name], kind, act, group, device)

    def __getitem__(self, name: str) -> Stored:
        return self.w[name.replace(".", "_")]

    def __contains__(self, name: str) -> bool:
        return name.replace(".", "_") in self.w

    def vec(self, name: str) -> torch.Tensor:
        return self[name].dense().reshape(-1)


def linear(x: torch.Tensor, w: Stored, bias: torch.Tensor | None = None, index: int | None = None) -> torch.Tensor:
    """x @ W.T (+ b); a quantized W is dequantized DEQUANT_CHUNK_ROWS output rows at a time."""
    if w.kind in TORCH_DTYPES:
        out = F.linear(x, w.dense(index=index), bias)
        return out
    out = x.new_empty((*x.shape[:-1], w.rows))
    # on fake tensors every full chunk has the same peak: one pass (and the last, smaller one) measures them all
    starts = list(range(0, w.rows, DEQUANT_CHUNK_ROWS))
    if _is_fake(x) and len(starts) > 2:
        starts = [starts[0], starts[-1]]
    for r0 in starts:
        r1 = min(w.rows, r0 + DEQUANT_CHUNK_ROWS)
        out[..., r0:r1] = F.linear(x, w.dense(r0, r1, index))
    return out if bias is None else out + bias


class Decoder(nn.Module):
    def __init__(self, spec: ModelSpec, quant: str, *, kv_dtype: str, batch: int, context: int,
                 attention: str = "sdpa", device=None):
        super().__init__()
        if spec.recurrent:
            from ..errors import WorkloadError

            raise WorkloadError(f"the reference model has no linear-attention or Mamba layers yet ({spec.name})")
        if spec.indexer is not None:
            from ..errors import WorkloadError

            raise WorkloadError(f"the reference model has no sparse-attention indexer yet ({spec.name}): "
                                "transformers' own class checks its cache (tests/test_import_2026_families.py)")
        self.spec, self.attention, self.batch, self.context = spec, attention, batch, context
        self.act = {"fp32": torch.float32, "fp16": torch.float16}.get(get_quant(quant).name, torch.bfloat16)
        self.weights = Weights(spec, quant, self.act, device)
        self.kv = get_kv_dtype(kv_dtype)
        self.cache: list[list[torch.Tensor]] = []
        cache_dtype = KV_TORCH.get(self.kv.name)
        for kind in spec.layer_kinds():
            slots = min(context, spec.sliding_window) if kind == "sliding" else context
            if spec.mla is not None:
                shapes = [(batch, slots, spec.mla.kv_lora_rank + spec.mla.qk_rope_head_dim)]
            else:
                shapes = [(batch, spec.n_kv_heads, slots, spec.head_dim)] * 2
            if cache_dtype is None:  # packed KV dtypes: bytes per row as the format stores them
                width = shapes[0][-1]
                shapes = [(*s[:-1], self.kv.row_bytes(width)) for s in shapes]
            self.cache.append([torch.zeros(s, dtype=cache_dtype or torch.uint8, device=device) for s in shapes])

    def cache_bytes(self) -> int:
        return sum(t.numel() * t.element_size() for layer in self.cache for t in layer)

    # --- pieces -------------------------------------------------------------------------------------------
    def norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        w = self.weights.vec(f"{name}.weight")
        if self.spec.norm == "layernorm":
            b = self.weights.vec(f"{name}.bias") if f"{name}.bias" in self.weights else None
            return F.layer_norm(x, (x.shape[-1],), w, b)
        return F.rms_norm(x, (x.shape[-1],), w)

    def rope(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:  # x (..., T, D)
        d = x.shape[-1]
        freqs = pos[:, None].float() / (10000 ** (torch.arange(0, d, 2, device=x.device).float() / d))
        cos, sin = freqs.cos().to(x.dtype), freqs.sin().to(x.dtype)
        x1, x2 = x[..., : d // 2], x[..., d // 2:]
        return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)

    def to_cache(self, x: torch.Tensor, dst: torch.Tensor):
        if dst.dtype == torch.uint8:  # packed KV: quantize (stand-in: the row's first values as bytes)
            n = min(x.shape[-1], dst.shape[-1])
            dst[..., :n].copy_(x[..., :n].to(torch.uint8))
        else:
            dst.copy_(x.to(dst.dtype))

    def from_cache(self, src: torch.Tensor, width: int) -> torch.Tensor:
        if src.dtype == torch.uint8:
            return src.to(self.act).repeat_interleave(-(-width // src.shape[-1]), dim=-1)[..., :width]
        return src if src.dtype == self.act else src.to(self.act)

    def mask(self, kind: str, q_pos: torch.Tensor, k_pos: torch.Tensor) -> torch.Tensor | None:
        """Allowed (query, key) pairs: (T, S), or (H, T, S) for block-sparse heads."""
        allowed = k_pos[None, :] <= q_pos[:, None]
        if kind == "sliding":
            allowed = allowed & (k_pos[None, :] > q_pos[:, None] - self.spec.sliding_window)
        if kind == "block_sparse":
            bs = self.spec.block_sparse
            qb, kb = q_pos // bs.block_size, k_pos // bs.block_size
            local = (qb[:, None] - kb[None, :]) < bs.local_blocks
            heads = torch.arange(self.spec.n_heads, device=q_pos.device)
            offset = torch.zeros_like(heads) if bs.homo_head else heads * max(1, bs.vert_stride // self.spec.n_heads)
            vertical = (kb[None, None, :] + offset[:, None, None] + 1) % bs.vert_stride == 0
            allowed = allowed[None] & (local[None] | vertical)
        return allowed

    def attend(self, q, k, v, kind: str, q_pos, k_pos) -> torch.Tensor:
        """q (B,H,T,D), k/v (B,K,S,D) → (B,H,T,Dv).

        Under SDPA, Phi-3-small's block-sparse layers run the dense causal kernel: the same KV cache and the
        same activation memory as a fused block-sparse kernel (neither materializes scores or a mask), not its
        numerics. Eager attention applies the block-sparse mask itself.
        """
        group = q.shape[1] // k.shape[1]
        if kind == "block_sparse" and self.attention == "sdpa":
            kind = "full"
        if kind == "sliding" and k.shape[2] <= self.spec.sliding_window:
            kind = "full"  # every key is inside the window: plain causal attention
        full_causal = kind == "full" and q.shape[2] == k.shape[2]
        if self.attention == "eager":
            if group > 1:
                k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
            scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
            if q.shape[2] > 1 or kind != "full":
                scores = scores.masked_fill(~self.mask(kind, q_pos, k_pos), float("-inf"))
            return torch.softmax(scores, dim=-1) @ v
        if q.shape[2] == 1 and kind != "block_sparse":
            return F.scaled_dot_product_attention(q, k, v, enable_gqa=group > 1)
        if full_causal:
            return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=group > 1)
        out = q.new_empty((*q.shape[:-1], v.shape[-1]))
        for t0 in range(0, q.shape[2], Q_BLOCK):
            t1 = min(q.shape[2], t0 + Q_BLOCK)
            lo = 0
            if kind == "sliding":  # only the keys a window can reach
                lo = max(0, int(torch.searchsorted(k_pos, q_pos[t0] - self.spec.sliding_window + 1))) \
                    if not _is_fake(k_pos) else max(0, k.shape[2] - (q.shape[2] - t0) - self.spec.sliding_window)
            m = self.mask(kind, q_pos[t0:t1], k_pos[lo:])
            out[:, :, t0:t1] = F.scaled_dot_product_attention(q[:, :, t0:t1], k[:, :, lo:], v[:, :, lo:],
                                                              attn_mask=m, enable_gqa=group > 1)
        return out

    # --- blocks -------------------------------------------------------------------------------------------
    def attention_block(self, x: torch.Tensor, i: int, kind: str, pos0: int) -> torch.Tensor:
        s, W, B, T = self.spec, self.weights, x.shape[0], x.shape[1]
        q_pos = torch.arange(pos0, pos0 + T, device=x.device)
        H, K, D = s.n_heads, s.n_kv_heads, s.head_dim
        if s.mla is not None:
            return self.mla_block(x, i, q_pos)
        if s.qkv_fused:
            qkv = linear(x, W[f"blk.{i}.attn_qkv.weight"], self._bias(f"blk.{i}.attn_qkv"))
            q, k, v = qkv.split([H * D, K * D, K * D], dim=-1)
        else:
            q = linear(x, W[f"blk.{i}.attn_q.weight"], self._bias(f"blk.{i}.attn_q"))
            k = linear(x, W[f"blk.{i}.attn_k.weight"], self._bias(f"blk.{i}.attn_k"))
            v = linear(x, W[f"blk.{i}.attn_v.weight"], self._bias(f"blk.{i}.attn_v"))
        if s.qk_norm and not s.qk_norm_per_head:  # OLMo 2: one norm over every head of q, and of k
            q, k = self.norm(q, f"blk.{i}.attn_q_norm"), self.norm(k, f"blk.{i}.attn_k_norm")
        q, k, v = (t.view(B, T, n, D).transpose(1, 2) for t, n in ((q, H), (k, K), (v, K)))  # (B,n,T,D)
        if s.qk_norm and s.qk_norm_per_head:
            q, k = self.norm(q, f"blk.{i}.attn_q_norm"), self.norm(k, f"blk.{i}.attn_k_norm")
        q, k = self.rope(q, q_pos), self.rope(k, q_pos)
        ck, cv = self.cache[i]
        slots = ck.shape[2]
        if kind == "sliding" and T >= slots:  # attend over the fresh keys; keep the last `slots` in the ring
            keys, values, k_pos = k, v, q_pos
            self.to_cache(k[:, :, -slots:], ck)
            self.to_cache(v[:, :, -slots:], cv)
        else:
            at = pos0 % slots if kind == "sliding" else pos0
            self.to_cache(k, ck[:, :, at:at + T])
            self.to_cache(v, cv[:, :, at:at + T])
            n = min(pos0 + T, slots)
            keys, values = self.from_cache(ck[:, :, :n], D), self.from_cache(cv[:, :, :n], D)
            k_pos = torch.arange(pos0 + T - n, pos0 + T, device=x.device)
        o = self.attend(q, keys, values, kind, q_pos, k_pos)
        o = o.transpose(1, 2).reshape(B, T, H * D)
        return linear(o, W[f"blk.{i}.attn_output.weight"], self._bias(f"blk.{i}.attn_output"))

    def mla_block(self, x: torch.Tensor, i: int, q_pos: torch.Tensor) -> torch.Tensor:
        s, W, m, B, T = self.spec, self.weights, self.spec.mla, x.shape[0], x.shape[1]
        H, nope, rope_d = s.n_heads, m.qk_nope_head_dim, m.qk_rope_head_dim
        if m.q_lora_rank:
            q = linear(self.norm(linear(x, W[f"blk.{i}.attn_q_a.weight"]), f"blk.{i}.attn_q_a_norm"),
                       W[f"blk.{i}.attn_q_b.weight"])
        else:
            q = linear(x, W[f"blk.{i}.attn_q.weight"])
        q = q.view(B, T, H, nope + rope_d).transpose(1, 2)
        q_nope, q_rope = q.split([nope, rope_d], dim=-1)
        latent = linear(x, W[f"blk.{i}.attn_kv_a_mqa.weight"])  # (B,T,kv_lora+rope)
        c, k_rope = latent.split([m.kv_lora_rank, rope_d], dim=-1)
        latent = torch.cat((self.norm(c, f"blk.{i}.attn_kv_a_norm"), self.rope(k_rope, q_pos)), dim=-1)
        pos0 = int(q_pos[0]) if not _is_fake(q_pos) else self._pos0
        (cache,) = self.cache[i]
        self.to_cache(latent, cache[:, pos0:pos0 + T])
        S = pos0 + T
        lat = self.from_cache(cache[:, :S], m.kv_lora_rank + rope_d)
        if T == 1:  # decode: absorb kv_b into the query and the output, attend over the latent itself
            w = W[f"blk.{i}.attn_kv_b.weight"].dense().view(H, nope + m.v_head_dim, m.kv_lora_rank)
            w_k, w_v = w[:, :nope], w[:, nope:]
            q_lat = torch.cat((q_nope @ w_k, self.rope(q_rope, q_pos)), dim=-1)  # (B,H,1,kv_lora+rope)
            # the latent serves as keys and (its first kv_lora columns) as values: one head shared by all
            o_lat = F.scaled_dot_product_attention(q_lat, lat[:, None], lat[:, None],
                                                   scale=1 / math.sqrt(nope + rope_d), enable_gqa=True)
            o = o_lat[..., : m.kv_lora_rank] @ w_v.transpose(-1, -2)  # (B,H,1,v)
            return linear(o.transpose(1, 2).reshape(B, T, H * m.v_head_dim), W[f"blk.{i}.attn_output.weight"])
        kv = linear(lat[..., : m.kv_lora_rank], W[f"blk.{i}.attn_kv_b.weight"]).view(B, S, H, nope + m.v_head_dim)
        k_nope, v = kv.split([nope, m.v_head_dim], dim=-1)
        k = torch.cat((k_nope, lat[..., m.kv_lora_rank:, ][:, :, None].expand(B, S, H, rope_d)), dim=-1)
        q = torch.cat((q_nope, self.rope(q_rope, q_pos)), dim=-1)
        # flash kernels want one head width for q, k and v: pad v to it and drop the padding after
        v = F.pad(v, (0, nope + rope_d - m.v_head_dim))
        o = self.attend(q, k.transpose(1, 2), v.transpose(1, 2), "full", q_pos, torch.arange(S, device=x.device))
        o = o[..., : m.v_head_dim]
        return linear(o.transpose(1, 2).reshape(B, T, H * m.v_head_dim), W[f"blk.{i}.attn_output.weight"])

    def _bias(self, name: str) -> torch.Tensor | None:
        return self.weights.vec(f"{name}.bias") if f"{name}.bias" in self.weights else None

    def act_fn(self, g: torch.Tensor) -> torch.Tensor:
        a = self.spec.activation
        if a in ("silu", "swiglu_clamp"):
            return F.silu(g)
        if a == "relu":
            return F.relu(g)
        return F.gelu(g, approximate="tanh" if a in ("gelu_tanh", "gegelu") else "none")

    def mlp(self, x: torch.Tensor, i: int, suffix: str = "", index: int | None = None) -> torch.Tensor:
        W, exps = self.weights, suffix == "_exps"

        def w(role):
            return W[f"blk.{i}.{role}{suffix}.weight"]

        def b(role):
            if not self.spec.mlp_bias:
                return None
            return W[f"blk.{i}.{role}{suffix}.bias"].dense()[index] if exps \
                else self._bias(f"blk.{i}.{role}{suffix}")

        if not self.spec.gated_mlp:  # up → act → down: up and act(up) alive together
            return linear(self.act_fn(linear(x, w("ffn_up"), b("ffn_up"), index)), w("ffn_down"), b("ffn_down"),
                          index)
        if self.spec.gate_up_fused:  # Phi-3: one 2·ff projection split in halves, as its modeling code does
            gu = linear(x, w("ffn_up"), b("ffn_up"), index)
            g, u = gu.chunk(2, dim=-1)
            h = u * self.act_fn(g)
            del gu, g, u
        else:  # act(gate(x)) * up(x): gate(x) is freed once act returns, as in transformers' LlamaMLP
            h = self.act_fn(linear(x, w("ffn_gate"), b("ffn_gate"), index)) * linear(x, w("ffn_up"), b("ffn_up"),
                                                                                     index)
        return linear(h, w("ffn_down"), b("ffn_down"), index)

    def moe(self, x: torch.Tensor, i: int) -> torch.Tensor:
        m = self.spec.moe
        flat = x.reshape(-1, x.shape[-1])
        N = flat.shape[0]
        logits = linear(flat, self.weights[f"blk.{i}.ffn_gate_inp.weight"]).float()  # (N,E) fp32
        weights, idx = torch.topk(torch.softmax(logits, dim=-1), m.experts_per_token, dim=-1)
        del logits
        out = torch.zeros_like(flat)
        share = -(-N * m.experts_per_token // m.n_experts)
        # On fake tensors every expert gets the same balanced share, so one expert's pass has the same peak as all
        # of them (the accumulator is updated in place): run one.
        for e in range(1 if _is_fake(flat) else m.n_experts):
            if _is_fake(flat):  # no data to route by: the balanced share
                tok = torch.arange(min(share, N), device=x.device)
                w_e = weights[tok, 0]
            else:
                tok, slot = (idx == e).nonzero(as_tuple=True)
                if tok.numel() == 0:
                    continue
                w_e = weights[tok, slot]
            y = self.mlp(flat[tok], i, "_exps", index=e)
            out.index_add_(0, tok, y * w_e[:, None].to(y.dtype))
            del y
        if m.n_shared_experts:
            shared = self.mlp(flat, i, "_shexp")
            if m.shared_expert_gate:
                shared = shared * torch.sigmoid(linear(flat, self.weights[f"blk.{i}.ffn_gate_inp_shexp.weight"]))
            out = out + shared
        return out.view_as(x)

    # --- the model ----------------------------------------------------------------------------------------
    def forward(self, ids: torch.Tensor, pos0: int = 0, logits: str = "last", logits_dtype=torch.float32):
        s, W = self.spec, self.weights
        self._pos0 = pos0
        x = F.embedding(ids, W["token_embd.weight"].dense()) if W["token_embd.weight"].kind in TORCH_DTYPES \
            else self._embed_rows(ids)
        for i, kind in enumerate(s.layer_kinds()):
            h = self.norm(x, f"blk.{i}.attn_norm")
            a = self.attention_block(h, i, kind, pos0)
            del h
            if s.norms_per_layer >= 3:
                a = self.norm(a, f"blk.{i}.post_attention_norm")
            x = x + a
            del a
            h = self.norm(x, f"blk.{i}.ffn_norm")
            f = self.moe(h, i) if s.is_moe_layer(i) else self.mlp(h, i)
            del h
            if s.norms_per_layer >= 4:
                f = self.norm(f, f"blk.{i}.post_ffw_norm")
            x = x + f
            del f
        if logits == "last":
            x = x[:, -1:]
        x = self.norm(x, "output_norm")
        head = W["token_embd.weight"] if s.tie_embeddings else W["output.weight"]
        out = linear(x, head, self._bias("output") if s.lm_head_bias else None)
        return out if logits_dtype == out.dtype else out.to(logits_dtype)

    def _embed_rows(self, ids: torch.Tensor) -> torch.Tensor:
        """Dequantize only the looked-up rows, as a quantized embedding lookup does."""
        emb = self.weights["token_embd.weight"]
        out = torch.empty((*ids.shape, emb.cols), dtype=self.act, device=ids.device)
        if not _is_fake(ids):
            for n, t in enumerate(ids.reshape(-1).tolist()):
                out.view(-1, emb.cols)[n] = emb.dense(t, t + 1)[0]
        return out
