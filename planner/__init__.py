"""planner: how much memory an LLM needs, from its architecture, exactly where arithmetic is exact."""

from .errors import ConfigImportError, PlannerError, UnknownModelError, UnknownQuantError, WorkloadError
from .estimate import Estimate, Workload, estimate
from .kv import kv_cache_bytes
from .profiles import list_models, load_model
from .quant.catalog import get_quant, quant_names
from .spec import ModelSpec
from .sweep import sweep, table
from .weights import weights_bytes

__all__ = [
    "ConfigImportError", "Estimate", "ModelSpec", "PlannerError", "UnknownModelError", "UnknownQuantError",
    "Workload", "WorkloadError", "estimate", "get_quant", "kv_cache_bytes", "list_models", "load_model",
    "quant_names", "sweep", "table", "weights_bytes",
]
