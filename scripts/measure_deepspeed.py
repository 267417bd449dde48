"""DeepSpeed's own ZeRO-2/3 "model states" estimates for every bundled model with a config fixture, one JSON line
per (model, stage, options, GPUs, nodes), in profiles/measurements/deepspeed-zero.jsonl (rewritten whole).

    pip install deepspeed transformers
    python scripts/measure_deepspeed.py    # 34 models, 1360 records, about 5 s on a laptop CPU

transformers builds each model from its published config.json (tests/fixtures/configs/) on the meta device, so no
memory is allocated. DeepSpeed's helpers (stage_1_and_2.model_to_params, stage3.model_to_params) count the model
(docs/deepspeed-estimators.md): parameters de-duplicated by data_ptr(), and the largest number of parameters held
directly by one module. A meta tensor has no address (data_ptr() is 0 for all of them, which would make every
parameter one), so the helpers are handed a view of the model whose parameters answer data_ptr() with their
storage's identity and offset: the address a real tensor would give, up to a constant. As a check, each
model_type's smallest model is also built at two layers on the CPU with real (uninitialized, so untouched) tensors,
and the helpers must give the same numbers on it as through the view of its meta twin.

The bytes are then DeepSpeed's estimate_zero2_model_states_mem_needs / estimate_zero3_model_states_mem_needs with
those counts: the functions that the *_all_live and *_all_cold printers call, for every option they print.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from planner import list_models, load_model  # noqa: E402

OUT = ROOT / "profiles" / "measurements" / "deepspeed-zero.jsonl"
CONFIGS = ROOT / "tests" / "fixtures" / "configs"
TOPOLOGIES = [(g, 1) for g in (1, 2, 4, 8)] + [(8, 2)]  # (num_gpus_per_node, num_nodes)
BUFFER_FACTOR = 1.5  # additional_buffer_factor, DeepSpeed's default
# the option sets estimate_zero2/3_model_states_mem_needs_all_cold print
STAGE2 = [dict(cpu_offload=o) for o in (False, True)]
STAGE3 = [dict(cpu_offload=o, cpu_offload_params=p, zero_init=z)
          for o, p in ((False, False), (True, False), (True, True)) for z in (True, False)]


class _ParamView:
    """A parameter as DeepSpeed's model_to_params reads it: numel(), and data_ptr() as a dict key only."""

    def __init__(self, p):
        self._p = p

    def numel(self) -> int:
        return self._p.numel()

    def data_ptr(self):
        storage = self._p.untyped_storage()  # one StorageImpl per allocation, shared by tied parameters and views
        return storage._cdata, self._p.storage_offset() * self._p.element_size()


class _ModuleView:
    """An nn.Module as model_to_params walks it: parameters(recurse) and modules()."""

    def __init__(self, module):
        self._m = module

    def parameters(self, recurse: bool = True):
        return (_ParamView(p) for p in self._m.parameters(recurse=recurse))

    def modules(self):
        return (_ModuleView(m) for m in self._m.modules())


def _config(model_id: str, layers: int | None = None) -> dict:
    cfg = json.loads((CONFIGS / f"{model_id.replace('/', '__')}.json").read_text())
    cfg = {k: v for k, v in cfg.items() if k not in ("torch_dtype", "dtype")}
    rope = cfg.get("rope_scaling")
    if isinstance(rope, dict):  # the fixtures keep only the lengths of longrope's factor lists; any values will do
        for key in ("long_factor", "short_factor"):
            if f"_{key}_len" in rope:
                rope = {**{k: v for k, v in rope.items() if k != f"_{key}_len"}, key: [1.0] * rope[f"_{key}_len"]}
        cfg["rope_scaling"] = rope
    if layers is not None:
        for c in (cfg, cfg.get("text_config") or {}):
            if "num_hidden_layers" in c:
                c["num_hidden_layers"] = layers
                if isinstance(c.get("layer_types"), list):
                    c["layer_types"] = c["layer_types"][:layers]
    return cfg


def build(cfg: dict, device: str):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        from transformers.initialization import no_init_weights  # 5.x
    except ImportError:
        from transformers.modeling_utils import no_init_weights  # 4.x
    hf = AutoConfig.for_model(**cfg)
    with torch.device(device), no_init_weights():
        model = AutoModelForCausalLM.from_config(hf, dtype=torch.bfloat16)
    model.tie_weights()
    return model


def largest_modules(model) -> tuple[int, list[str]]:
    """The largest count of parameters one module holds itself (stage3.model_to_params' rule), and which modules."""
    sizes = {name: sum(p.numel() for p in m.parameters(recurse=False)) for name, m in model.named_modules()}
    top = max(sizes.values())
    return top, [n for n, s in sizes.items() if s == top]


def counts(model) -> tuple[int, int]:
    """(total_params, largest_layer_params) from DeepSpeed's own helpers, through the address view."""
    from deepspeed.runtime.zero import stage3, stage_1_and_2

    view = _ModuleView(model)
    total2 = stage_1_and_2.model_to_params(view)
    total3, largest = stage3.model_to_params(view)
    assert total2 == total3, (total2, total3)
    return total3, largest


def check(models: list[str]) -> list[str]:
    """Per model_type, the smallest model at two layers: the helpers on real CPU tensors == through the view."""
    from deepspeed.runtime.zero import stage3

    smallest: dict[str, str] = {}
    for m in models:
        t = load_model(m).model_type
        if t not in smallest or load_model(m).param_count < load_model(smallest[t]).param_count:
            smallest[t] = m
    lines = []
    for t, m in sorted(smallest.items()):
        cfg = _config(m, layers=2)
        real = stage3.model_to_params(build(cfg, "cpu"))
        meta = counts(build(cfg, "meta"))
        assert real == meta, (m, real, meta)
        lines.append(f"check {t:12} {m}: 2 layers, real CPU tensors {real} == meta view {meta}")
    return lines


def records(model_id: str, total: int, largest: int, largest_names: list[str], planner_params: int) -> list[dict]:
    import deepspeed
    import transformers
    from deepspeed.runtime.zero import stage3, stage_1_and_2

    base = {"engine": "deepspeed", "engine_version": deepspeed.__version__, "model": model_id,
            "transformers_version": transformers.__version__,
            "total_params": total, "largest_layer_params": largest, "largest_layer_module": largest_names[0],
            "largest_layer_module_count": len(largest_names),
            "planner_params": planner_params}
    out = []
    for gpus, nodes in TOPOLOGIES:
        for opts in STAGE2:
            cpu, gpu = stage_1_and_2.estimate_zero2_model_states_mem_needs(
                total, num_gpus_per_node=gpus, num_nodes=nodes, additional_buffer_factor=BUFFER_FACTOR, **opts)
            out.append({**base, "stage": 2, "options": {**opts, "additional_buffer_factor": BUFFER_FACTOR},
                        "num_gpus_per_node": gpus, "num_nodes": nodes,
                        "measured": {"gpu_bytes": gpu, "cpu_bytes": cpu},
                        "source": "deepspeed.runtime.zero.stage_1_and_2.estimate_zero2_model_states_mem_needs"})
        for opts in STAGE3:
            cpu, gpu, layer = stage3.estimate_zero3_model_states_mem_needs(
                total, largest, num_gpus_per_node=gpus, num_nodes=nodes, additional_buffer_factor=BUFFER_FACTOR,
                **opts)
            out.append({**base, "stage": 3, "options": {**opts, "additional_buffer_factor": BUFFER_FACTOR},
                        "num_gpus_per_node": gpus, "num_nodes": nodes,
                        "measured": {"gpu_bytes": gpu, "cpu_bytes": cpu, "largest_layer_memory": layer},
                        "source": "deepspeed.runtime.zero.stage3.estimate_zero3_model_states_mem_needs"})
    return out


def main() -> None:
    warnings.filterwarnings("ignore")
    os.environ.setdefault("DS_ACCELERATOR", "cpu")
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # DeepSpeed's import-time notices
        import deepspeed.runtime.zero.stage3  # noqa: F401
    out, skipped, built, summary = [], [], [], []
    for model_id in list_models():
        if not (CONFIGS / f"{model_id.replace('/', '__')}.json").is_file():
            skipped.append(f"{model_id}: no config fixture")
            continue
        spec = load_model(model_id)
        cfg = _config(model_id)
        try:
            model = build(cfg, "meta")
        except Exception as e:  # remote-code or unknown architectures: say why and go on
            skipped.append(f"{model_id}: transformers cannot build it ({type(e).__name__}: {str(e)[:160]})")
            continue
        total, largest = counts(model)
        top, names = largest_modules(model)
        assert top == largest, (model_id, top, largest)
        planner_params = spec.param_count
        out += records(model_id, total, largest, names, planner_params)
        built.append(model_id)
        diff = total - planner_params
        more = f" (+{len(names) - 1} more of that size)" if len(names) > 1 else ""
        summary.append(f"{model_id:40} {total:>16,} {planner_params:>16,} {diff:>+14,} {largest:>14,}  "
                       f"{names[0]}{more}")
        del model
    checks = check(built)
    OUT.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in out))
    print(f"{'model':40} {'deepspeed total':>16} {'planner':>16} {'ds - planner':>14} {'largest layer':>14}  "
          "module(s)")
    print("\n".join(summary))
    print("\n".join(checks))
    for s in skipped:
        print("SKIPPED", s)
    print(f"{len(out)} records of {len(built)} models in {OUT.relative_to(ROOT)} "
          f"({OUT.stat().st_size / 1e6:.2f} MB), {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
