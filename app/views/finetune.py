"""Fine-tuning: can this model be fine-tuned on the GPU(s)? The peak of one training step by component and moment,
the verdict, step time, the largest micro-batch and sequence that fit, and the cheapest ways that do."""

import compute
import finetuning as ft
import streamlit as st
from controls import Setup, run
from present import NO, seconds, speed, verdict
from safety import fragment, message, plain
from state import STATE, sync_url

from planner import PlannerError
from planner.training.search import SHARDING
from planner.units import format_bytes, to_unit


def main(setup: Setup) -> None:
    st.title("Fine-tuning")
    _body(setup)


@fragment
def _body(setup: Setup) -> None:
    """The view's controls (drawn after the numbers, above them) and its numbers: a change here reruns only this."""
    sync_url()
    state = st.session_state[STATE]
    st.caption(plain(ft.headline(setup, state)))
    box = st.expander("Training setup", expanded=True)
    try:
        _numbers(setup, ft.options(state), int(state["n_gpus"]))
    except PlannerError as e:
        st.error(plain(message(e)))
    finally:
        ft.draw_controls(box)


def _numbers(setup: Setup, opts: dict, n_gpus: int) -> None:
    spec, unit, gpu = setup.spec, setup.unit, ft.training_gpu(setup)
    e = compute.train_estimate(spec, gpu=gpu, **opts)
    where = (f"on each of {n_gpus} × " if n_gpus > 1 else "on ") + setup.gpu_text
    v = verdict(e.total_bytes, e.fit.usable_memory_bytes, setup.reserve_pct, unit=unit, where=where)

    cols = st.columns(5)
    cols[0].metric("total" + (" per GPU" if n_gpus > 1 else ""), format_bytes(e.total_bytes, unit))
    cols[1].metric("trainable parameters", ft.count_label(e.trainable_params),
                   help=f"of {ft.count_label(e.total_params)} ({100 * e.trainable_params / e.total_params:.2f} %)")
    cols[2].metric("peak moment", e.peak_phase, help=ft.PHASES.get(e.peak_phase))
    fits = v.state != NO
    cols[3].metric("step time", seconds(e.fit.step_seconds) if fits else "—",
                   help="one optimizer step: every micro-batch of every GPU")
    cols[4].metric("tokens/s" + (", all GPUs" if n_gpus > 1 else ""), speed(e.fit.tokens_per_s, 0) if fits else "—")
    {"fits": st.success, "tight": st.warning}.get(v.state, st.error)(plain(f"{v.symbol} {v.text}"))
    for note in e.notes:  # the attention it runs, what a sharding keeps, QLoRA's fp32 tensors, offloading's time
        st.caption(plain(f"{note[0].upper()}{note[1:]}."))
    if e.setup.seq_len > spec.max_context:
        st.warning(plain(f"Sequence length {e.setup.seq_len:,} is above {spec.name}'s maximum of "
                         f"{spec.max_context:,} tokens."))
    if not fits:
        st.caption("Speeds are shown only for setups that fit.")
    elif e.fit.step_seconds is None:
        st.caption("Pick a GPU from the list, or give the custom GPU its bf16 TFLOP/s, for step time and tokens/s.")
    else:
        f = e.fit
        comm = ("" if not f.comm_seconds else
                f" The GPUs' collectives move {f.comm_traffic_bytes / 1e9:,.1f} GB a step each over {f.comm_link}: at "
                f"least {f.comm_seconds:.2f} s, overlapped with compute (the step takes the larger)."
                + (" Over 8 GPUs they cross machines, whose network planner does not model." if f.comm_machines
                   else ""))
        st.caption(plain(f"Speed at an assumed {100 * f.mfu:.0f} % model FLOPs utilization: a prior, not a "
                         "measurement (torchtitan's Llama-3.1-8B reaches 38-41 % on H100s with torch.compile; eager "
                         "Hugging Face training is often lower). Read it as an order of magnitude." + comm))

    parts = {k: v for k, v in ft.components(e).items() if v}  # what the peak's moment does not hold is left out
    left, right = st.columns(2)
    left.table({"component": [*parts, "total"],
                unit: [f"{to_unit(x, unit):,.2f}" for x in [*parts.values(), e.total_bytes]]})
    left.caption(plain(f"What is allocated at the peak, the {e.peak_phase} moment; what is not held then (gradients "
                       "before backward, say) is left out."))
    right.table(ft.phase_rows(e, unit))
    right.caption("Each moment without the overhead; the components are those of the peak.")

    from charts import training_bar  # plotly loads after the numbers are on screen

    st.plotly_chart(training_bar(parts, unit=unit, budget_bytes=e.fit.usable_memory_bytes,
                                 reserve_pct=setup.reserve_pct), key="train_bar")
    _limits(setup, gpu, opts, fits)


def _limits(setup: Setup, gpu, opts: dict, fits: bool = True) -> None:
    """The largest micro-batch and sequence that fit, and the cheapest methods and GPU counts that do."""
    spec = setup.spec
    if spec.n_layers > ft.SEARCH_MAX_LAYERS:
        st.caption(f"Largest micro-batch, longest sequence and the cheapest ways are searched for models of up to "
                   f"{ft.SEARCH_MAX_LAYERS} layers.")
        return
    cols = st.columns(2)
    mb = compute.max_micro_batch(spec, gpu=gpu, **opts)
    sl = compute.max_seq_len(spec, gpu=gpu, **opts)
    cols[0].metric("largest micro-batch", f"{mb:,}" if mb else "none fits",
                   help=f"at {opts['seq_len']:,} tokens per sequence")
    cols[1].metric("longest sequence (tokens)", f"{sl:,}" if sl else "none fits",
                   help=f"at a micro-batch of {opts['micro_batch']:,}, up to the model's {spec.max_context:,}")
    st.subheader("Cheapest ways to fine-tune this model on this GPU")
    shared = {k: v for k, v in opts.items() if k not in ("method", "gradient_checkpointing", "n_gpus",
                                                         "distribution")}
    plans = compute.train_plans(spec, gpu=gpu, **shared)
    if not plans:
        st.info("No method fits on up to 64 of these GPUs at this micro-batch and sequence length.")
        return
    n = opts.get("n_gpus", 1)
    if not fits and (near := [p for p in plans if p["method"] == opts["method"] and p["n_gpus"] <= n]):
        p = near[0]  # the cheapest way of this method on as many GPUs as chosen, or fewer
        how = (f"gradient checkpointing {'on' if p['gradient_checkpointing'] else 'off'}"
               + ("" if p["distribution"] == "single" else f" under {SHARDING[p['distribution']]}"))
        st.info(plain(f"{ft.METHODS[p['method']]} fits on {p['n_gpus']} × {ft.gpu_name(setup)} with {how} "
                      f"({to_unit(p['peak_bytes'], setup.unit):,.2f} {setup.unit} per GPU): its row below."))
    st.table(ft.plan_rows(plans, setup.unit, ft.gpu_name(setup)))
    st.caption("Each method with and without gradient checkpointing, on the fewest GPUs that hold it (up to 64; above "
               "one, under each of DeepSpeed ZeRO-3 and FSDP: over a bf16 model ZeRO-3 keeps fp32 master weights, "
               "gradients and Adam states, FSDP bf16 ones), at this micro-batch, sequence length, precision and "
               "optimizer; fewest GPUs first.")


run({"model", "gpu"}, main)
