"""Fine-tuning and training memory: full, LoRA and QLoRA; optimizers; checkpointing; DDP, ZeRO and FSDP.

train_estimate() gives the per-GPU peak of one training step by component and phase; planner.measure.training runs
the same step in transformers and peft under fake tensors to check it.
"""

from .estimate import DEFAULT_TRAIN_MFU, TrainEstimate, TrainFit, train_estimate
from .setup import TrainSetup, make_setup

__all__ = ["DEFAULT_TRAIN_MFU", "TrainEstimate", "TrainFit", "TrainSetup", "make_setup", "train_estimate"]


def __getattr__(name: str):
    """A submodule (planner.training.search, …) reads as an attribute without its own import."""
    from importlib import import_module
    from importlib.util import find_spec

    if not name.startswith("_") and find_spec(f"{__name__}.{name}") is not None:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
