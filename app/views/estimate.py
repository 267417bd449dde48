"""Estimate: one configuration — its components, the verdict on the GPU(s), speed, and the model card."""

import compute
import streamlit as st
from controls import ALL, Setup, run
from present import NO, seconds, speed, verdict
from safety import plain, stop
from state import set_value

from planner import PlannerError
from planner.units import format_bytes


def _plan(setup: Setup, where: str):
    """Several GPUs: the analytic tensor- or pipeline-parallel plan, per GPU."""
    if setup.gpu is None:
        raise PlannerError("a multi-GPU plan needs a GPU from the list (its interconnect and speed), not a budget")
    from planner.quant.catalog import is_gguf_weights

    if setup.split == "tensor" and is_gguf_weights(setup.quant or setup.spec.weights_dtype, setup.spec):
        st.error(plain(f"GGUF weights over {setup.n_gpus} GPUs run in llama.cpp, which splits a model by layers "
                       "(--split-mode layer, its default); a tensor split of them is not modelled."))
        st.button("Split by layers, as llama.cpp does", key="use_layers", on_click=set_value,
                  args=("split", "pipeline"))
        stop()
    layered = setup.engine in ("llama.cpp", "ollama")  # they split a model over GPUs by layers
    if setup.engine is not None and not layered:
        raise PlannerError(f"{setup.engine} on {setup.n_gpus} GPUs is not modelled: choose the analytic engine for "
                           "a tensor or pipeline plan, vLLM or SGLang (which split models over GPUs), or 1 GPU "
                           "for the engine's own rules")
    if layered and setup.split == "tensor":
        st.error(plain(f"{setup.engine} splits a model over {setup.n_gpus} GPUs by layers (--split-mode layer, its "
                       "default); a tensor split is not modelled."))
        st.button("Split by layers, as llama.cpp does", key="use_layers", on_click=set_value,
                  args=("split", "pipeline"))
        stop()
    if layered:
        st.info(plain(f"{setup.engine} over {setup.n_gpus} GPUs: the analytic layer split (each GPU its share of the "
                      "layers and their cache, the plain model's buffers, llama.cpp's speed), as `planner fit` ranks "
                      f"GGUF over GPUs; {setup.engine}'s own rules on one GPU (its compute buffer, slots, --fit, the "
                      "layers it leaves in system RAM) are not applied across several."))
    p = compute.plan(setup.spec, gpu=setup.gpu, n_gpus=setup.n_gpus, mode="tp" if setup.split == "tensor" else "pp",
                     quant=setup.quant, kv_dtype=setup.kv, context=setup.context, batch=setup.batch,
                     prompt=setup.prompt, efficiency=setup.efficiency, prefill_efficiency=setup.prefill_efficiency,
                     **({"engine": "llama.cpp"} if layered else {}), **_chunk(setup))
    parts = dict(p.per_gpu)
    v = verdict(parts["total_bytes"], setup.usable_bytes, setup.reserve_pct, unit=setup.unit, where=where)
    speeds = (p.prefill_seconds, p.decode_tokens_per_s, p.decode_tokens_per_s * setup.batch, (0.0, 0.0),
              p.allreduce_note, p.efficiency_entries,
              p.serving_decode_tokens_per_s and (p.output_tokens, p.serving_decode_tokens_per_s,
                                                 p.typical_error.get("serving")))
    return parts, v, speeds, {}, (p.quant, p.kv_dtype)


def _chunk(setup: Setup) -> dict:
    """The analytic engine's prefill chunk, where the sidebar sets one (an engine chunks by its own rules)."""
    return {"chunk": setup.chunk} if setup.chunk and setup.engine is None else {}


def _what_fits(setup: Setup) -> None:
    """Beside a "does not fit": the largest context that fits in this format (one click to use it), or that not even
    one token does."""
    largest = compute.max_context(setup.spec, quant=setup.quant, gpu=setup.gpu, batch=setup.batch,
                                  kv_dtype=setup.kv, **_chunk(setup))
    if largest:
        st.button(f"Use {largest:,} tokens, the largest context that fits", key="use_fitting", on_click=set_value,
                  args=("context", largest))
    else:
        st.caption("Not even one token fits in this format on this GPU: Quantization × context shows each format's "
                   "total, Which GPU the GPUs that hold it.")


def _typical(setup: Setup, quant: str, split: tuple[float, float] = (0.0, 0.0), link: str | None = None,
             v0: tuple[str, str] | None = None) -> str:
    """How far such figures land from published runs that did not calibrate planner (the check half); split: the
    MoE split time every step and the time to first token include (Performance.moe_split_seconds,
    moe_prefill_split_seconds); v0: a vLLM run on its V0 engine, (the release whose rules stand for it, the release
    as the estimate names it with the reason); link: what the
    all-reduces of a split over PCIe-linked GPUs assume (Performance.allreduce_note), that the default engine's figures
    are on paper on this GPU (Performance.speed_note), or the kernels llama.cpp runs a
    prompt in on an AMD Instinct GPU (Performance.prompt_kernels)."""
    from planner.efficiency import speed_engine, typical_errors
    from planner.gpus import load_gpu
    from planner.perf import default_engine

    gpu = None if setup.gpu is None else load_gpu(setup.gpu)
    engine = speed_engine(setup.engine) if setup.engine else default_engine(quant, setup.spec, gpu)
    runs = setup.engine or engine  # the band is that of the engine the user runs (Ollama's own runs for Ollama)
    err = typical_errors(quant, runs, setup.spec, gpu, efficiency=setup.efficiency,
                         prefill_efficiency=setup.prefill_efficiency)
    parts = [f"±{100 * err[k]:.0f} % {name}" for k, name in (("ttft", "time to first token"), ("decode", "decode"))
             if k in err]
    from planner.efficiency import request_seconds
    from planner.performance import release_speed

    served = request_seconds(engine)
    served = (f" Through a server, a request's first token comes about {1000 * served:.0f} ms later (HTTP, "
              "tokenizer, scheduler; from published server benchmarks)." if served else "")
    # a vLLM release that ran its V0 engine (VLLM_USE_V1=0, a GPU older than Ampere): V0's loop, as the estimate has it
    release = release_speed(engine, v0[0] if v0 else setup.engine_options.get("engine_version")) \
        if setup.engine == "vllm" else None
    served += f" Planned as vLLM {v0[1]}." if v0 else ""
    served += (f" Each step includes {1000 * release.loop:.1f} ms of vLLM's V0 engine loop (scheduling and sampling "
               "between GPU steps: its default before 0.8.0, a fallback or VLLM_USE_V1=0 in 0.8–0.10)."
               if release and release.loop else "")
    served += (" The first token also waits one decode step: vLLM's V0 engine (0.6 on) hands a step's tokens out "
               "after the next step (async output processing)." if release and release.output_lag else "")
    from planner.performance import transformers_attention_note

    note = transformers_attention_note(setup.engine, setup.engine_options.get("attention", "sdpa"), setup.gpu)
    served += f" {note}" if note else ""
    step_split, split = split
    served += (f" Each step includes {1000 * step_split:.1f} ms for the MoE layers split over GPUs (layers × routed "
               f"experts × {engine}'s time per expert, fitted on published batch-1 runs of 128-512-expert models, all "
               "but one on 8 GPUs; a smaller split may take less)." if step_split else "")
    served += (f" The first token includes {split:.3f} s that {engine}'s published runs of MoE models split over GPUs "
               "take beyond their compute, whatever the prompt (measured; its cause is not modelled)." if split else "")
    served += f" {link[0].upper()}{link[1:]}." if link else ""
    whose = runs if setup.engine else f"speed as {engine} runs {quant}; choose an engine in the sidebar for its own"
    return ("Typically " + " and ".join(parts) + f" ({whose}): the median error on published runs that did not "
            "calibrate planner; Accuracy lists them." + served if parts else served.strip())


def entries_text(entries: dict[str, str]) -> str:
    """Which profiles/efficiency.yaml entries gave the speed figures (decode, prefill, the per-layer time)."""
    names = {"decode": "decode", "prefill": "prefill", "layers": "per-layer time"}
    shown = ", ".join(f"{names.get(k, k)} {v}" for k, v in entries.items())
    return f"Efficiency entries behind these figures (profiles/efficiency.yaml, Accuracy lists their runs): {shown}."


def _one(setup: Setup, where: str):
    """One GPU (or a budget): planner.estimate, with the engine's own rules when one is chosen."""
    extra = ({"gpu_memory_bytes": setup.usable_bytes} if setup.gpu is None and setup.engine in ("vllm", "sglang")
             else {})
    e = compute.estimate(setup.spec, quant=setup.quant, kv_dtype=setup.kv, context=setup.context,
                         batch=setup.batch, gpu=setup.gpu, engine=setup.engine, prompt=setup.prompt,
                         efficiency=setup.efficiency, prefill_efficiency=setup.prefill_efficiency,
                         **setup.engine_options, **extra, **_chunk(setup))
    parts = dict(weights_bytes=e.weights_bytes, kv_cache_bytes=e.kv_cache_bytes, activation_bytes=e.activation_bytes,
                 overhead_bytes=e.overhead_bytes, total_bytes=e.total_bytes)
    perf = e.performance
    refused = e.engine_refusal is not None or (perf is not None and not perf.fits)
    over = parts["total_bytes"] > setup.usable_bytes  # then "X short of Y usable" says it best
    reason = e.engine_refusal or (perf.reason if perf is not None and not over else None)
    v = verdict(parts["total_bytes"], setup.usable_bytes, setup.reserve_pct, unit=setup.unit, where=where,
                reason=reason if refused else None, refused=refused, fills_memory=setup.engine in ("vllm", "sglang"))
    link = perf and (perf.allreduce_note or perf.speed_note
                     or (f"on this GPU llama.cpp runs a prompt's matrices in {perf.prompt_kernels}"
                         if perf.prompt_kernels else None))
    speeds = ((perf.prefill_seconds, perf.decode_tokens_per_s, perf.throughput_tokens_per_s,
               (perf.moe_split_seconds, perf.moe_prefill_split_seconds), link, perf.efficiency_entries,
               perf.serving_decode_tokens_per_s and (perf.output_tokens, perf.serving_decode_tokens_per_s,
                                                    perf.typical_error.get("serving")))
              if perf else (None, None, None, (0.0, 0.0), None, {}, None))
    from planner.engines import no_ttft_reason
    from planner.summary import one_pass_prefill

    details = {**e.engine_details, "no_ttft": no_ttft_reason(e), "one_pass_prefill": one_pass_prefill(e, setup.unit)}
    return parts, v, speeds, details, (e.workload.quant, e.workload.kv_dtype)


def main(setup: Setup) -> None:
    spec = setup.spec
    st.title("Estimate")
    st.caption(plain(setup.headline()))
    if setup.context > spec.max_context:
        from planner.profiles import longer_variant

        v = longer_variant(spec, setup.context)
        hint = ("" if v is None else f" The bundled {v} runs it." if isinstance(v, str) else
                f" Its card lists {v:,} tokens, as rope scaling (YaRN) gives them: 'Run the model to' in the sidebar "
                "plans that.")
        st.error(plain(f"Context {setup.context:,} is above {spec.name}'s maximum of {spec.max_context:,} tokens."
                       + hint))
        st.button(f"Use {spec.max_context:,} tokens", key="use_max", on_click=set_value,
                  args=("context", spec.max_context))
        stop()
    where = (f"on each of {setup.n_gpus} × " if setup.n_gpus > 1 else "on ") + setup.gpu_text
    if setup.engine == "sglang" and setup.n_gpus > 1 and setup.split != "tensor":
        raise PlannerError(f"SGLang on {setup.n_gpus} GPUs is planned tensor parallel (its --tp-size); its pipeline "
                           "parallel (--pp-size) is not modelled: choose the tensor split, or vLLM, whose pipeline "
                           "stages are planned")
    parts, v, (ttft, per_seq, throughput, split, link, entries, serving), details, (quant, kv) = (
        _plan(setup, where) if setup.n_gpus > 1 and setup.engine not in ("vllm", "sglang") else _one(setup, where))

    labels = [("weights" + (" on the GPU" if details.get("host_moved_bytes") else ""), "weights_bytes"),
              ("KV cache", "kv_cache_bytes"), ("activations", "activation_bytes"),
              ("overhead", "overhead_bytes"), ("total" + (" per GPU" if setup.n_gpus > 1 else ""), "total_bytes")]
    for col, (label, key) in zip(st.columns(5), labels, strict=True):
        col.metric(label, format_bytes(parts[key], setup.unit))
    moved = v.state != NO and details.get("host_moved_bytes")  # llama.cpp/Ollama with layers in system RAM
    held = (f" Only part of the model is on the GPU: system RAM holds the other "
            f"{format_bytes(details['host_total_bytes'], setup.unit)} (layers and their cache), which every decode "
            "step reads at host-memory speed." if moved else "")
    {"fits": st.success, "tight": st.warning}.get(v.state, st.error)(plain(f"{v.symbol} {v.text}{held}"))
    if v.state == NO and setup.engine is None and setup.gpu is not None and setup.n_gpus == 1:
        _what_fits(setup)
    from planner.quant.catalog import is_gguf_weights

    if setup.engine is None and setup.n_gpus > 1 and setup.batch > 1 and not setup.chunk and \
            not is_gguf_weights(quant, spec):  # a split plan: its prompts prefill together too
        details["one_pass_prefill"] = (f"the {setup.batch:,} requests' prompts prefill together, as one generate() "
                                       "call does; a serving engine admits requests into its KV pool and prefills "
                                       "them in chunks, and needs less")
    if note := details.get("one_pass_prefill"):  # the plain model: one generate()
        st.caption(plain(f"{note[0].upper()}{note[1:]}: choose vLLM, SGLang or llama.cpp as the engine, or set a "
                         "prefill chunk, in the sidebar."))

    cols = st.columns(3)
    if v.state == NO:
        for col, label in zip(cols, ("time to first token", "decode, per request", "throughput, all requests"),
                              strict=True):
            col.metric(label, "—")
        st.caption("Speeds are shown only for setups that fit.")
    elif setup.gpu is None:
        st.caption("Pick a GPU from the list for time to first token and tokens/s (a budget has no speed).")
    else:
        together = f"; all {setup.batch:,} of the batch's prompts prefilled together" if setup.batch > 1 else ""
        cols[0].metric("time to first token", seconds(ttft), help=f"a {setup.prompt:,}-token prompt{together}")
        cols[1].metric("decode, per request", f"{speed(per_seq)} tok/s", help="at the full context")
        cols[2].metric("throughput, all requests", f"{speed(throughput)} tok/s")
        if ttft is None and details.get("no_ttft"):
            st.caption(plain(f"Time to first token: {details['no_ttft']}."))
        if serving:
            out, one, serving_err = serving
            band = "" if serving_err is None else f" (typically ±{100 * serving_err:.0f} %)"
            st.caption(plain(f"Serving {setup.batch:,} requests at a time, {setup.prompt:,} tokens in and {out:,} out "
                             f"each: {speed(one)} tok/s per request{band}, {speed(setup.batch * one)} tok/s in all. "
                             "Each decode step also carries the prefills of the requests that replace finished ones, "
                             "at their full time (chunked prefill hides part of it); the figures above leave them "
                             "out. A run whose requests start together lands near those, a steady flow of arrivals "
                             "near this."))
        if (replicas := details.get("replicas", 1)) > 1:
            rate, what = (setup.batch * serving[1], "serving") if serving else (throughput, "throughput")
            st.caption(plain(f"All {replicas} data-parallel replicas ({details['gpus']} GPUs): "
                             f"{replicas * setup.batch:,} requests at a time, {speed(replicas * rate)} tok/s in all "
                             f"(the {what} above, one replica's, × {replicas}: each its own KV cache and scheduler)."))
        v0 = (details["v0_rules_of"], details["engine_version"]) if details.get("v0_rules_of") else None
        st.caption(plain(_typical(setup, quant, split, link, v0)))
        if entries:
            st.caption(plain(entries_text(entries)))

    from charts import memory_bar  # plotly loads after the numbers are on screen

    st.plotly_chart(memory_bar(parts, unit=setup.unit, budget_bytes=setup.usable_bytes,
                               reserve_pct=setup.reserve_pct), key="bar")
    from planner.gpus import load_gpu
    from planner.overhead import unmeasured_runtime

    runtime = None if setup.gpu is None else unmeasured_runtime(load_gpu(setup.gpu).vendor)
    from planner.overhead import ALLOCATOR_FRAGMENTATION

    st.caption(plain(f"{quant} weights, {kv} KV cache. Activations: the larger of the prefill and decode peaks. "
                     "Overhead: CUDA context, cuBLAS workspaces, allocator slack"
                     + (f" (CUDA's, measured on an NVIDIA H200; {runtime} is not measured)" if runtime and
                        parts["overhead_bytes"] else "")
                     + (f"; the slack grows with the activation peak ({ALLOCATOR_FRAGMENTATION:.0%} of it, what "
                        "PyTorch's caching allocator could not give back in measured runs)" if setup.engine is None
                        and parts["overhead_bytes"] else "") + "."))
    from planner.engines import fp32_checkpoint_note, no_gguf_note, ollama_library_note

    if setup.engine is None and (note := no_gguf_note(spec, [quant], what="these figures are")):
        st.warning(plain(f"{note[0].upper()}{note[1:]}."))
    if note := fp32_checkpoint_note(spec, setup.quant, setup.engine):
        st.warning(plain(f"{note}: choose bf16 under Weights to plan that."))
    if library := ollama_library_note(spec, setup.quant, setup.engine):
        st.warning(plain(f"{library[0][0].upper()}{library[0][1:]}: choose {library[2]} under Weights to plan "
                         "that file."))
    if setup.engine == "vllm" and details.get("max_model_len", 0) > setup.context:
        given = setup.engine_options.get("max_model_len") is not None
        st.info(plain(f"vLLM's max_model_len is {details['max_model_len']:,} tokens ("
                      + ("as set" if given else "the model's maximum, the default") + f"), longer than the "
                      f"{setup.context:,}-token context asked: vLLM must hold one request of it to start, and plans "
                      "its concurrency by it."))
        st.button(f"Serve this context: max_model_len {setup.context:,}", key="use_context_len", on_click=set_value,
                  args=("max_model_len", setup.context))
    if origin := details.get("dequantized_from"):
        st.warning(plain(f"{origin} weights load as bf16 on this GPU: transformers dequantizes fp8 below compute "
                         "capability 8.9, and these figures are bf16's."))
    if details.get("host_total_bytes"):
        host = format_bytes(details["host_total_bytes"], setup.unit)
        if not details.get("host_moved_bytes"):  # every layer on the GPU: the host keeps only the embedding table
            st.caption(plain(f"In CPU RAM as well: {host} (the token-embedding table, which llama.cpp keeps on the "
                             "host and reads one row of per token, and its CPU buffers)."))
        else:
            prompt = ("" if not details.get("ubatch_copy_bytes") else
                      f" A prompt's ubatches of {details['ubatch_tokens']:,} tokens each copy "
                      f"{format_bytes(details['ubatch_copy_bytes'], setup.unit)} of them to the GPU and run there "
                      "(llama.cpp's op offload), at the PCIe link's datasheet speed in the time to first token.")
            st.caption(plain(f"In CPU RAM as well: {host} (the layers not on the GPU, their KV cache and buffers); "
                             "decode reads them at host-memory speed." + prompt))
    if details.get("nccl_bytes"):
        st.caption(plain(f"NCCL's communicators: {format_bytes(details['nccl_bytes'], setup.unit)} per GPU outside "
                         "PyTorch's pool, " + ("charged against the budget by this vLLM release." if
                                               details.get("nccl_charged") else "beside the budget (set up before "
                                               "vLLM's baseline from 0.11).")))
    if details.get("hybrid_sliding_groups"):
        st.caption(plain(f"Sliding windows: vLLM keeps at most {details['hybrid_sliding_tokens']:,} tokens of a "
                         f"request in each of its {details['hybrid_sliding_groups']} sliding-window groups, beside "
                         f"{details['hybrid_attention_groups']} full-attention group(s) of "
                         f"{details['hybrid_group_size']} layers each."))
    if details.get("swa_max_total_num_tokens"):
        st.caption(plain(f"SGLang gives the sliding-window layers a pool of their own: "
                         f"{details['swa_max_total_num_tokens']:,} tokens beside the full layers' "
                         f"{details['max_total_num_tokens']:,} (swa_full_tokens_ratio 0.8)."))
    if details.get("mamba_state_bytes"):
        st.caption(plain(f"SGLang sets aside {details['max_mamba_cache_size']:,} requests' Gated DeltaNet states "
                         f"({format_bytes(details['mamba_state_bytes'], 'MiB')} each) before the KV pool; a running "
                         "request ties up five with the radix cache on."))
    if details.get("hybrid_state_groups"):
        st.caption(plain(f"Hybrid cache: a request's recurrent state ({details['hybrid_state_bytes']:,} bytes a layer) "
                         f"shares pages with the attention cache, whose block vLLM grows to {details['block_size']} "
                         f"tokens; each request holds {details['hybrid_state_blocks']} block(s) in each of "
                         f"{details['hybrid_state_groups']} state groups"
                         + (" (prefix caching on)." if details.get("hybrid_prefix_caching") else ".")))
    from planner.engines import encoder_note

    if note := encoder_note(details, setup.unit):
        st.caption(plain(f"{note[0].upper()}{note[1:]}."))
    if details.get("nccl_uncounted"):
        st.caption(plain("Not counted: the collective library's memory (RCCL on AMD GPUs, NCCL on a GPU given by its "
                         "memory alone), which this vLLM release charges when several GPUs talk (0.3 GiB at TP2 to "
                         "2.1 GiB at TP8 per GPU in public NCCL logs); the KV cache may be that much smaller."))
    if details and setup.engine is not None:
        with st.expander(f"{setup.engine}'s own figures"):
            st.table({"": list(details), "value": [plain(f"{x:,}" if isinstance(x, int) and not isinstance(x, bool)
                                                         else x) for x in details.values()]})

    from cards import model_card

    with st.expander("Model card", expanded=True):
        card = model_card(spec)
        st.table({"": list(card), "value": [plain(x) for x in card.values()]})


run(ALL, main)
