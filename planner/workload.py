"""What is run: the resolved workload of an estimate (planner.footprint.resolve_workload builds it)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from .overhead import Runtime


class Workload(BaseModel):
    """What is run: how many sequences of how many cached tokens, and how."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    quant: str = Field(description="weights format (catalog name)")
    kv_dtype: str = Field(description="KV-cache element format")
    context: int = Field(description="tokens cached per sequence (prompt + generated)")
    batch: int = Field(description="concurrent sequences")
    chunk: int | None = Field(None, description="prefill chunk size; None prefills the whole prompt at once")
    attention: Literal["sdpa", "eager"] = "sdpa"
    logits: Literal["last", "all"] = "last"
    logits_dtype: str = "fp32"
    runtime: Runtime = "cuda"
    cap_sliding: StrictBool = True
