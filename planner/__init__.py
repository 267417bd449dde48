"""planner: how much memory an LLM needs, from its architecture, exactly where arithmetic is exact.

Names are imported on first use (PEP 562), so `import planner` and the command line's argument parsing stay
fast and a user error returns before numpy, pandas or pydantic load.
"""

from __future__ import annotations

import sys
import types
from importlib import import_module
from importlib.util import find_spec

from .errors import ConfigImportError, LayoutError, PlannerError, UnknownModelError, UnknownQuantError, WorkloadError

_LAZY = {
    "Estimate": "estimate", "Performance": "estimate", "Workload": "estimate", "estimate": "estimate",
    "fit": "fit", "fit_refusals": "fit", "max_batch": "fit", "max_context": "fit",
    "GPU": "gpus", "UnknownGPUError": "gpus", "list_gpus": "gpus", "load_gpu": "gpus", "with_memory": "gpus",
    "kv_cache_bytes": "kv",
    "checkpoint_summary": "profiles", "list_models": "profiles", "load_model": "profiles",
    "with_max_context": "profiles",
    "get_quant": "quant.catalog", "quant_names": "quant.catalog",
    "ModelSpec": "spec",
    "sweep": "sweep", "table": "sweep",
    "TrainEstimate": "training", "train_estimate": "training",
    "weights_bytes": "weights",
    "format_bytes": "units", "to_unit": "units",
}

__all__ = ["ConfigImportError", "LayoutError", "PlannerError", "UnknownModelError", "UnknownQuantError",
           "WorkloadError", *_LAZY]


# Functions named like the module that defines them: importing the submodule binds the package attribute to
# the module; keep it bound to the function, as an eager `from .fit import fit` would.
_SHADOWED = frozenset(n for n, module in _LAZY.items() if n == module)


class _Package(types.ModuleType):
    def __setattr__(self, name, value):
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return  # the submodule stays reachable through sys.modules and `import planner.<name>`
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    if name not in _LAZY:
        # a submodule (planner.parallel, planner.machine, …) reads as an attribute after a plain `import planner`,
        # as it would after an eager import
        if not name.startswith("_") and find_spec(f"{__name__}.{name}") is not None:
            return import_module(f".{name}", __name__)
        raise AttributeError(f"module 'planner' has no attribute {name!r}")
    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
