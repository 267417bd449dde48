"""The sidebar every view shares, drawn after the view's numbers, in one order: model, GPU, weights, KV cache,
context, concurrent requests, engine, display. Each widget is bound to the shared state (state.widget)."""

from __future__ import annotations

import streamlit as st
from models import gpu_spec, sources
from present import context_label, gpu_label
from safety import plain
from state import (
    CUSTOM_FIELDS,
    ENGINES,
    KV_CHOICES,
    LLAMACPP_VERSIONS,
    OLLAMA_VERSIONS,
    STATE,
    VLLM_VERSIONS,
    gpus,
    local_gpu_choice,
    models,
    quants,
    set_value,
    widget,
)

from planner.limits import MAX_BATCH, MAX_BYTES, MAX_CONTEXT, MAX_GPUS, MAX_LAYERS

ALL = frozenset({"model", "gpu", "count", "weights", "kv", "context", "generated", "batch", "engine", "speed"})
USES = "planner_uses"  # session key: the controls the current view uses

def draw() -> None:
    """Draw the sidebar of the current view (its controls, in the one order every view shares)."""
    state, uses = st.session_state[STATE], st.session_state.get(USES, ALL)
    spec = st.session_state.get("planner_spec")
    if "model" in uses:
        _model_controls(state)
    if "gpu" in uses:
        _gpu_controls(state, uses)
    if "weights" in uses:
        widget("selectbox", "quant", "Weights", options=["checkpoint", *quants()],
               format_func=lambda q: "the checkpoint's own" if q == "checkpoint" else q)
    if "kv" in uses:
        widget("selectbox", "kv", "KV cache", options=KV_CHOICES,
               format_func=lambda k: "default for the weights" if k == "default" else k)
    if "context" in uses:
        _context_controls(spec)
    if "generated" in uses:
        widget("number_input", "generated", "of which generated tokens", min_value=0, max_value=MAX_CONTEXT,
               step=128, help="The prompt is the rest: it sets time to first token.")
    if "batch" in uses:
        widget("number_input", "batch", "Concurrent requests", min_value=1, max_value=MAX_BATCH, step=1)
    if "engine" in uses:
        _engine_controls(state, spec)
    display = st.sidebar.expander("Display")
    widget("selectbox", "unit", "Unit", where=display, options=["GiB", "GB"],
           format_func=lambda u: {"GiB": "GiB (2³⁰ bytes)", "GB": "GB (10⁹ bytes)"}[u],
           help="GPU makers' '24GB' means about 24 GiB: an RTX 4090 24GB holds 25.77 GB, so in GB its usable "
           "memory reads above the name.")
    widget("number_input", "reserve", "Reserve (% of usable memory): less free is 'tight'", where=display,
           min_value=0.0, max_value=50.0, step=1.0)


def _model_controls(state: dict) -> None:
    source = widget("selectbox", "source", "Model from", options=sources())
    if source == "Hugging Face id":
        widget("text_input", "hub", "Hugging Face id (org/name)", max_chars=200, placeholder="Qwen/Qwen3-8B")
    elif source == "parameter count":
        widget("text_input", "params", "Parameters (e.g. 7B, 70B, 1.5T)", max_chars=40)
        spec = st.session_state.get("planner_spec")
        if spec is not None and state["source"] == "parameter count":
            st.sidebar.caption(plain(f"Approximate: {spec.source}."))
    elif source == "custom":
        for key, label, _, top in CUSTOM_FIELDS:
            widget("number_input", key, label, min_value=1, max_value=top, step=1)
        widget("checkbox", "c_tied", "tied embeddings")
    elif source == "config.json":
        st.sidebar.file_uploader("config.json", type=["json"], key="upload")
        if (spec := st.session_state.get("upload_spec")) is not None:
            st.sidebar.caption(plain(f"Using the uploaded {spec.source}."))
    elif source == "local file":
        widget("text_input", "path", "Path to a .gguf, a config.json or a model folder", max_chars=1000)
    else:
        widget("selectbox", "model", "Model", options=models())


def _gpu_controls(state: dict, uses) -> None:
    unit = state["unit"]

    here, here_name = local_gpu_choice()  # this machine's GPU, when the session started with it

    def label(g: str) -> str:
        mine = f" · this machine's {str(here_name)[:60]}" if g == here else ""
        if g == "custom":
            return "Custom GPU or memory budget" + mine
        spec = gpu_spec(g)
        return gpu_label(spec.name, spec.memory_marketed_bytes, unit) + (" · this machine" if mine else "")

    gpu = widget("selectbox", "gpu", "GPU", options=["custom", *gpus()], format_func=label)
    if gpu == "custom":
        widget("number_input", "budget", "Memory budget per GPU (GiB = 2³⁰ B)", min_value=0.001,
               max_value=MAX_BYTES / 2**30, step=1.0, format="%.3f")
        cols = st.sidebar.columns(2)
        widget("number_input", "custom_bw", "Bandwidth (GB/s)", where=cols[0], min_value=1.0, max_value=1e5,
               value=None, placeholder="for speed", help="A GPU not in the catalog: its memory bandwidth (10⁹ B/s)")
        widget("number_input", "custom_tflops", "bf16 TFLOP/s", where=cols[1], min_value=0.1, max_value=1e5,
               value=None, placeholder="for prefill", help="Its dense bf16 peak, for time to first token")
    else:
        widget("number_input", "gpu_mem", "Its memory (GiB), if not the catalog's", min_value=1.0, max_value=1e6,
               value=None, placeholder=f"{gpu_spec(gpu).memory_marketed_bytes / 2**30:g}",
               help="The same GPU built with another memory size (a 16 GB M4; the catalog's m4 is the 32 GB one): "
               "its datasheet's bandwidth and FLOP/s; on Apple GPUs Metal's share of that memory.")
    if "speed" in uses:
        _own_efficiency()
    if "count" in uses:
        cols = st.sidebar.columns(2)
        n = widget("number_input", "n_gpus", "GPUs", where=cols[0], min_value=1, max_value=MAX_GPUS, step=1)
        widget("selectbox", "split", "Split", where=cols[1], options=["tensor", "pipeline"], disabled=n == 1,
               help="Tensor parallel splits every matrix; pipeline parallel the layers.")


def _context_controls(spec) -> None:
    widget("number_input", "context", "Context (tokens per request)", min_value=1, max_value=MAX_CONTEXT, step=1024,
           help="Prompt plus generated tokens. Type any value, or pick a preset below.")
    top = spec.max_context if spec is not None else 131072
    presets = [c for c in (1024 * 2**i for i in range(12)) if c < top] + [top]
    labels = {context_label(c) if c != top else f"max {context_label(c)}": c for c in presets}
    st.sidebar.pills("Context presets", list(labels), key="context_preset", label_visibility="collapsed",
                     on_change=_preset, args=(labels,))
    widget("number_input", "max_context", "Run the model to (tokens)", min_value=1, max_value=MAX_CONTEXT, step=1024,
           value=None, placeholder="its config's maximum",
           help="Beyond the config's max_position_embeddings, as rope scaling (YaRN) lets engines run a model: "
                "Qwen3's card gives 131,072 tokens this way. The memory follows the tokens; whether the model "
                "answers well that far is its card's to say.")


def _preset(labels: dict[str, int]) -> None:
    pick = st.session_state.get("context_preset")
    if pick is not None:
        set_value("context", labels[pick])
        st.session_state["context_preset"] = None


def _host_memory(box) -> None:
    widget("number_input", "host_gib", "system RAM free, GiB", where=box, min_value=0.0, max_value=1e6, value=None,
           placeholder="not checked", format="%.1f", step=8.0,
           help="What the layers, cache and buffers left in system RAM may use; more than that does not fit.")
    widget("number_input", "host_gbps", "system RAM bandwidth, GB/s", where=box, min_value=1.0, max_value=1e5,
           value=None, placeholder="76.8 (dual-channel DDR5-4800)", format="%.1f", step=10.0,
           help="How fast decode reads what is left in system RAM: channels × 8 B × transfer rate (8 channels of "
           "DDR5-4800: 307.2 GB/s).")


def _version(box, key: str, label: str, options: list[str], current: str, help: str) -> None:
    """An engine's version picker: "current" shown with the release (build) planner's current rules are."""
    widget("selectbox", key, label, where=box, options=options,
           format_func=lambda v: f"current ({current})" if v == "current" else v, help=help)


def _engine_controls(state: dict, spec) -> None:
    engine = widget("selectbox", "engine", "Engine", options=ENGINES,
                    format_func=lambda e: {"analytic": "analytic (no engine rules)", "vllm": "vLLM",
                                           "sglang": "SGLang", "llama.cpp": "llama.cpp", "ollama": "Ollama",
                                           "transformers": "transformers"}[e])
    if engine == "analytic":
        widget("number_input", "chunk", "prefill chunk (tokens)", min_value=1, max_value=MAX_CONTEXT, value=None,
               placeholder="the whole prompt (GGUF: 512)",
               help="The analytic model prefills a prompt in one pass, and a batch's prompts together, as one "
               "generate() call does. A chunk takes each prompt this many tokens at a time, as chunked prefill "
               "does, so the prefill activations shrink. GGUF weights default to llama.cpp's 512-token ubatch. "
               "A serving engine (vLLM, SGLang, llama.cpp) applies its own rules: choose it above.")
        return
    from planner.engines import llamacpp, ollama, sglang, transformers, vllm

    module = {"vllm": vllm, "sglang": sglang, "llama.cpp": llamacpp, "ollama": ollama,
              "transformers": transformers}[engine]
    st.sidebar.caption(plain(f"Rules of {module.__doc__.splitlines()[0].rstrip('.')}"))
    box = st.sidebar.expander(f"{engine} settings (empty: the engine's default)")
    max_context = spec.max_context if spec is not None else MAX_CONTEXT
    if engine == "vllm":
        _version(box, "vllm_version", "release (its memory rules and engine loop)", VLLM_VERSIONS,
                 vllm.VLLM_CURRENT,
                 help="vLLM's budget rules changed over its releases: which memory it charges, its scheduler "
                 "defaults, its CUDA-graph estimate. One release stands for each period. Before 0.8.0 its V0 engine "
                 "also scheduled and sampled between GPU steps, which adds host time to every step.")
        widget("selectbox", "vllm_entry", "started as", where=box, options=["serve", "llm"],
               format_func=lambda v: {"serve": "vllm serve", "llm": "LLM class (offline)"}[v],
               help="From 0.8 the offline LLM class (LLM(...), vllm bench throughput) defaults to twice the "
               "profile-run tokens of vllm serve below 160 GiB (8,192 rather than 2,048; 16,384 rather than 8,192 on "
               "70 GiB+ GPUs), so its KV cache is smaller. Sequences alike; V0 releases have one default for both.")
        widget("number_input", "gmu", "gpu_memory_utilization", where=box, min_value=0.01, max_value=1.0,
               value=None, placeholder="0.92 (0.9 before 0.20)", format="%.3f", step=0.01)
        widget("number_input", "max_model_len", "max_model_len", where=box, min_value=1, max_value=MAX_CONTEXT,
               value=None, placeholder=f"{max_context} (the model's)")
        widget("number_input", "max_num_seqs", "max_num_seqs", where=box, min_value=1, max_value=MAX_BATCH,
               value=None, placeholder="256")
        widget("number_input", "max_batched", "max_num_batched_tokens", where=box, min_value=1,
               max_value=MAX_CONTEXT, value=None, placeholder="the release's for this GPU",
               help="The tokens of one scheduler step, which the profile run pushes through the model. vLLM refuses "
               "to start with fewer than max_num_seqs, or, without chunked prefill, fewer than max_model_len.")
        widget("selectbox", "chunked_prefill", "chunked prefill", where=box, options=["default", "on", "off"],
               help="--enable-chunked-prefill: a long prompt split over steps of max_num_batched_tokens. V1 chunks "
               "every prompt through 0.11.0 whatever is asked; later releases as asked (on by default). V0: as "
               "asked, by default on above 32K tokens from 0.5.5, except multimodal, sliding-window and MLA models.")
        widget("checkbox", "fi_sampler", "FlashInfer sampler", where=box,
               help="The profile run samples max_num_seqs rows of logits. Off: PyTorch's sort (38 bytes a logit) "
               "until 0.17, a Triton kernel after. On: FlashInfer's (14 bytes a logit), as vLLM's Docker images of "
               "0.8–0.11 run, or VLLM_USE_FLASHINFER_SAMPLER=1 from 0.12.")
        widget("selectbox", "prefix_cache", "prefix caching (hybrid models)", where=box,
               options=["default", "on", "off"],
               help="For models that mix attention with Gated DeltaNet or Mamba layers: on keeps two state blocks a "
               "request (three for a prefill checkpoint in 0.32+/0.33+) and, from 0.33, a 64-token-aligned block "
               "under FlashInfer's kernel. Default: the release's (on from 0.28).")
        widget("selectbox", "custom_ar", "custom all-reduce (several GPUs)", where=box,
               options=["default", "on", "off"],
               help="vLLM's own all-reduce kernel. Off (--disable-custom-all-reduce): every all-reduce goes through "
               "NCCL or RCCL, and vLLM keeps no buffers for the kernel; on AMD GPUs planner takes a call through "
               "RCCL at 15 µs (AMD's figure for 8 × MI300X), 5 µs more than the kernel, twice a layer. Default: the "
               "release's — on, except on AMD GPUs before 0.8.3 and before the MI300 series. AMD's rocm/vllm images "
               "had it from mid-2024: say on.")
        widget("selectbox", "vllm_core", "engine core (0.8.0–0.10.2)", where=box, options=["default", "v0", "v1"],
               help="The engine core of vLLM 0.8.0–0.10.2, where V0 was still there: v0 is VLLM_USE_V1=0 (V0's "
               "budget, 256 sequences, its host loop between GPU steps). Default: the release's — V1, except on "
               "NVIDIA GPUs older than Ampere (V100, T4, RTX 20xx) before 0.10.2, where vLLM falls back to V0.")
        widget("number_input", "vllm_dp", "data-parallel replicas", where=box, min_value=1, max_value=MAX_GPUS,
               value=None, placeholder="1",
               help="--data-parallel-size: replicas of the GPUs above (their tensor or pipeline split), each with "
               "its own KV cache and scheduler. The figures are one replica's; the view adds them up.")
        if spec is not None and spec.moe is not None:
            widget("checkbox", "vllm_ep", "expert parallel (MoE)", where=box,
                   help="--enable-expert-parallel: whole experts spread over every GPU of the replicas, rather than "
                   "each expert's columns split over the tensor-parallel GPUs.")
        widget("number_input", "block_size", "block_size (tokens a KV block)", where=box, min_value=1,
               max_value=1024, value=None, placeholder="16 (MLA: 64)",
               help="--block-size: the KV cache is allocated and counted in blocks of this many tokens.")
        widget("checkbox", "eager", "enforce_eager", where=box,
               help="No CUDA graphs (so none estimated from 0.20) and, under V1, an uncompiled model, as V0 always "
               "ran it: its MLP keeps the gate_up output alive through the down projection.")
        widget("number_input", "cg_gib", "CUDA-graph memory, GiB (0.20+)", where=box, min_value=0.0,
               max_value=1024.0, value=None, placeholder=f"{vllm.VLLM_CUDA_GRAPH_ESTIMATE_BYTES / 2**30:.2f} (a prior)",
               format="%.2f", step=0.1,
               help="What vLLM 0.20+ estimates for its CUDA graphs and takes from the KV budget: its log's "
               "'Estimated CUDA graph memory' line. Published lines range 0.07–2.7 GiB.")
        widget("selectbox", "mxfp4_kernel", "MXFP4 MoE kernel (gpt-oss)", where=box,
               options=["default", "marlin", "triton", "flashinfer", "none"],
               help="The layout MXFP4 experts take: Marlin pads the intermediate size to 128 and the hidden size to "
               "256, FlashInfer's TRT-LLM kernel both to 256 (128 from 0.27), Triton a GPU's share of the "
               "intermediate size to 64 and kept the loaded scales until 0.25. Default: vLLM's choice for the GPU "
               "and release.")
        if spec is not None and spec.vision is not None:
            widget("text_input", "mm_limits", "--limit-mm-per-prompt", where=box, max_chars=60,
                   placeholder="image=1,video=0",
                   help="Items of each modality a prompt may carry, as vLLM takes it (modality=0 turns it off): "
                   "its profile run encodes the largest of those left on. Empty: vLLM's default.")
    elif engine == "ollama":
        _version(box, "ollama_version", "release (its rules)", OLLAMA_VERSIONS, ollama.OLLAMA_VERSION,
                 help="Ollama's defaults changed over its releases: num_ctx (2048, 4096, then by the GPU's memory), "
                 "flash attention, and who chooses the layers on the GPU: up to 0.12.10 its own estimate "
                 "(llm/memory.go), later the allocations themselves. One release stands for each period.")
        widget("selectbox", "flash_attn", "flash attention (OLLAMA_FLASH_ATTENTION)", where=box,
               options=["default", "on", "off"])
        widget("number_input", "ngl", "GPU layers (num_gpu; the rest in CPU RAM)", where=box, min_value=0,
               max_value=MAX_LAYERS + 1, value=None, placeholder="Ollama decides")
        widget("number_input", "n_ubatch", "num_batch (the runner's batch and ubatch)", where=box, min_value=1,
               max_value=MAX_CONTEXT, value=None, placeholder="Ollama's choice (512–2,048)",
               help="The runner's batch and ubatch: 512 by default until 0.30; from 0.30 Ollama starts llama-server "
               "with -b and -ub set to num_batch, by default 1,024 beyond 4,096 tokens of context and 2,048 beyond "
               "32,768 where its prediction leaves room. The prompt's compute buffer grows with it.")
        _host_memory(box)
    elif engine == "sglang":
        widget("number_input", "mfs", "mem_fraction_static", where=box, min_value=0.01, max_value=0.99,
               value=None, placeholder="SGLang's rule for the GPU", format="%.3f", step=0.01)
        widget("number_input", "max_model_len", "context_length", where=box, min_value=1, max_value=MAX_CONTEXT,
               value=None, placeholder=f"{max_context} (the model's)",
               help="The longest request SGLang admits; it sizes the request-to-token map and the default "
               "max_running_requests.")
        widget("number_input", "max_num_seqs", "max_running_requests", where=box, min_value=1, max_value=MAX_BATCH,
               value=None, placeholder="SGLang's rule (2,048–4,096)")
        widget("number_input", "cpu_offload", "cpu_offload_gb (GiB per GPU)", where=box, min_value=0.0,
               max_value=1e6, value=None, placeholder="0: every weight on the GPU", format="%.1f", step=1.0,
               help="SGLang's --cpu-offload-gb: this many GiB of each GPU's decoder-layer weights stay in host "
               "memory and cross the PCIe link on every forward step (slower, more room for the KV pool).")
        widget("number_input", "sg_chunk", "chunked_prefill_size (tokens)", where=box, min_value=1,
               max_value=MAX_CONTEXT, value=None, placeholder="SGLang's tier for the GPU (2,048–16,384)",
               help="--chunked-prefill-size: the tokens one prefill step takes; its activations are reserved "
               "beside the KV pool.")
    elif engine == "llama.cpp":
        _version(box, "llamacpp_version", "build (its rules)", LLAMACPP_VERSIONS,
                 f"b{llamacpp.releases.LLAMACPP_CURRENT}",
                 help="llama.cpp's cache padding, sliding-window cells, per-slot streams and defaults changed over "
                 "its builds: flash attention and all layers on the GPU by default from b6325, --fit from b7407, "
                 "-ngl counting the output layer first from b7467, no layer on the GPU unless -ngl is set before "
                 "b6325 (Metal: all). One build stands for each period.")
        widget("number_input", "n_ubatch", "n_ubatch", where=box, min_value=1, max_value=MAX_CONTEXT, value=None,
               placeholder="512")
        widget("number_input", "n_batch", "n_batch (-b)", where=box, min_value=1, max_value=MAX_CONTEXT, value=None,
               placeholder="2048", help="The logical batch: a prompt is taken this many tokens at a time, in "
               "ubatches of n_ubatch; the graph's outputs are reserved for it.")
        widget("selectbox", "flash_attn", "flash attention", where=box, options=["default", "on", "off"])
        widget("selectbox", "cpp_fit", "--fit", where=box, options=["default", "on", "off"],
               help="llama-server's --fit (on by default from b7407): the most layers that leave 1 GiB free on the "
               "GPU, the rest in system RAM. Off: every layer on the GPU (or -ngl's), whether they fit or not.")
        widget("checkbox", "kv_unified", "--kv-unified (one cache all slots share)", where=box,
               help="One KV cache all parallel slots share, each sequence able to use all of n_ctx; without it each "
               "slot gets n_ctx / slots cells (from b5913; llama-server unifies its 4 default slots on its own).")
        widget("number_input", "ngl", "GPU layers (-ngl; the rest in CPU RAM)", where=box, min_value=0,
               max_value=MAX_LAYERS + 1, value=None, placeholder="--fit: as many as leave 1 GiB free",
               help="Unset, llama-server fits the layers to the GPU (--fit, its default): the most that leave "
               "1 GiB free, the rest in system RAM. Set, exactly that many, whether they fit or not.")
        widget("number_input", "n_cpu_moe", "MoE: experts of the first N layers in CPU RAM (--n-cpu-moe)", where=box,
               min_value=0, max_value=MAX_LAYERS, value=None, placeholder="--fit decides",
               help="A MoE model's routed experts of the first N layers stay in system RAM. Unset, --fit moves "
               "experts there first, as many as it must.")
        widget("text_input", "override_tensor", "tensors kept in CPU RAM (-ot REGEX=CPU)", where=box, max_chars=500,
               placeholder=r"blk\.[2-9][0-9]\.ffn_.*_exps=CPU",
               help="llama.cpp's --override-tensor: every tensor whose GGUF name the regex finds stays in system "
               "RAM; several patterns separated by commas.")
        widget("selectbox", "program", "program", where=box, options=["llama-server", "library"],
               help="What runs the model. llama-server (and llama-cli, which runs its server context from b7348, "
               "with one slot: set parallel slots to 1) reserves its compute graph for one output row per slot "
               "from b9460, and runs 4 slots when -np is unset; the library's programs (llama-cpp-python, "
               "llama-bench) keep a row for every token of a ubatch, a larger compute buffer. Without speculative "
               "decoding.")
        widget("checkbox", "no_op_offload", "--no-op-offload", where=box,
               help="Weights kept in system RAM then run on the CPU for a prompt too. By default (from b2454) a "
               "prompt's ubatch copies them to the GPU and runs there: faster prompts, a compute buffer that holds "
               "the largest copy. Builds from b5346.")
        if spec is not None and spec.vision is not None:
            widget("checkbox", "mmproj", "image encoder (--mmproj)", where=box,
                   help="A vision model's image encoder, from its own 16-bit mmproj file, on the GPU beside the "
                   "layers; without it llama-server reads text only.")
        if spec is not None and spec.mla is not None:
            widget("checkbox", "legacy_mla", "GGUF converted before April 2025 (every head cached)", where=box,
                   help="A DeepSeek-style (MLA) GGUF converted before llama.cpp's MLA support has no attn_k_b "
                   "tensors: llama.cpp then caches every head's K and V, many times the latent it caches otherwise.")
        widget("number_input", "n_parallel", "parallel slots", where=box, min_value=1, max_value=256, value=None,
               placeholder="llama-server's 4 (up to 4 requests), else the requests")
        _host_memory(box)
    elif engine == "transformers":
        widget("selectbox", "hf_cache", "cache", where=box, options=["dynamic", "static"],
               help="dynamic: generate()'s default, grows with the tokens; static: preallocated to max_cache_len")
        widget("selectbox", "hf_attention", "attention", where=box, options=["sdpa", "eager"],
               help="attn_implementation: sdpa (the default) or eager, which materializes every score matrix: more "
                    "memory, and a prefill that spends most of its time writing and reading the scores at long prompts")
        if state["hf_cache"] == "static":
            widget("number_input", "max_cache_len", "max_cache_len", where=box, min_value=1, max_value=MAX_CONTEXT,
                   value=None, placeholder="the context")


def _own_efficiency() -> None:
    """Your own decode and prefill efficiency, in place of profiles/efficiency.yaml's (--efficiency, efficiency=)."""
    cols = st.sidebar.expander("Your own efficiency (speed)").columns(2)
    widget("number_input", "own_eff", "Decode", where=cols[0], min_value=0.01, max_value=1.0, value=None,
           step=0.05, placeholder="from the table",
           help="Your own share of the GPU's datasheet bandwidth for decode (0.01 to 1), in place of "
                "profiles/efficiency.yaml's entry, as --efficiency does")
    widget("number_input", "own_pre", "Prefill", where=cols[1], min_value=0.01, max_value=1.0, value=None,
           step=0.05, placeholder="from the table",
           help="Your own share of its peak FLOP/s for the prompt (0.01 to 1), as --prefill-efficiency does")
