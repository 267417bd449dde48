"""Model files on the Hugging Face Hub, read with HTTP range requests: never the weights.

`hf://org/name[@revision]` reads config.json, then model.safetensors.index.json and every shard's header (or
model.safetensors' header); `hf://org/name[@revision]/path/file.gguf` reads the GGUF header (metadata and tensor
infos) of that file and of every other part of a split one. The bytes fetched go through the same readers as local
files (safetensors_reader.parse_header, gguf_reader._parse), so a spec from the Hub equals the spec of the same
files on disk, tensor for tensor.

- http: Hub names (HubRef), HF_ENDPOINT, the token, one ranged GET, and the errors (HubError and its kinds).
- cache: the on-disk cache of fetched headers (cache_dir()) and RemoteFile, a file fetched as far as a reader asks.
- reads: the safetensors and GGUF header reads, with_hub_weights and load_hub_model.

The tunables (SAFETENSORS_FIRST, GGUF_BLOCK, ...) are re-exported here to be read; to change one, set it on the
module that defines it (planner.files.hub.reads or .http): the functions read it there.
"""

from .cache import RemoteFile, cache_dir
from .http import (
    HUB,
    TIMEOUT,
    TOKEN_VARS,
    HubAccessError,
    HubError,
    HubNotFoundError,
    HubRef,
    endpoint,
    is_hub_name,
    parse_hub_name,
    repo_ref,
)
from .reads import (
    GGUF_BLOCK,
    MAX_GGUF_HEADER,
    MAX_SHARDS,
    SAFETENSORS_FIRST,
    SINGLE,
    WORKERS,
    gguf_header,
    hub_safetensors,
    load_hub_model,
    safetensors_header,
    with_hub_weights,
)

__all__ = [
    "GGUF_BLOCK", "HUB", "MAX_GGUF_HEADER", "MAX_SHARDS", "SAFETENSORS_FIRST", "SINGLE", "TIMEOUT", "TOKEN_VARS",
    "WORKERS", "HubAccessError", "HubError", "HubNotFoundError", "HubRef", "RemoteFile", "cache_dir", "endpoint",
    "gguf_header", "hub_safetensors", "is_hub_name", "load_hub_model", "parse_hub_name", "repo_ref",
    "safetensors_header", "with_hub_weights",
]
