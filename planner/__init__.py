"""planner: how much memory an LLM needs, from its architecture, exactly where arithmetic is exact."""

from .errors import ConfigImportError, PlannerError, UnknownModelError, UnknownQuantError, WorkloadError
from .estimate import Estimate, Performance, Workload, estimate
from .fit import fit, max_batch, max_context
from .gpus import GPU, UnknownGPUError, list_gpus, load_gpu
from .kv import kv_cache_bytes
from .profiles import checkpoint_summary, list_models, load_model
from .quant.catalog import get_quant, quant_names
from .spec import ModelSpec
from .sweep import sweep, table
from .weights import weights_bytes

__all__ = [
    "GPU", "ConfigImportError", "Estimate", "ModelSpec", "Performance", "PlannerError", "UnknownGPUError",
    "UnknownModelError", "UnknownQuantError", "Workload", "WorkloadError", "checkpoint_summary", "estimate", "fit",
    "get_quant", "kv_cache_bytes", "list_gpus", "list_models", "load_gpu", "load_model", "max_batch",
    "max_context", "quant_names", "sweep", "table", "weights_bytes",
]
