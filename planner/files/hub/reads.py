"""Safetensors and GGUF headers of files on the Hub, and load_hub_model.

`hf://org/name[@revision]` reads config.json, then model.safetensors.index.json and every shard's header (or
model.safetensors' header); `hf://org/name[@revision]/path/file.gguf` reads the GGUF header (metadata and tensor
infos) of that file and of every other part of a split one. The bytes fetched go through the same readers as local
files (safetensors_reader.parse_header, gguf_reader._parse), so a spec from the Hub equals the spec of the same
files on disk, tensor for tensor.

A .safetensors file costs one request of SAFETENSORS_FIRST bytes (its length and, usually, the whole header), a
second only when the header is longer; its header length is checked against the file size and the format's
100 MB cap before any of it is fetched. A GGUF header is fetched in blocks of GGUF_BLOCK bytes as the reader walks
it, up to MAX_GGUF_HEADER.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

from ...errors import ConfigImportError, shown
from ...limits import MAX_CONFIG_BYTES
from ...spec import ModelSpec
from ..gguf_reader import FileFormatError, GGUFHeader, _parse
from ..safetensors_reader import (
    INDEX,
    MAX_HEADER,
    SafetensorsTensor,
    combine_shards,
    header_length,
    index_shard_names,
    parse_header,
    parse_index,
)
from .cache import _ABSENT, RemoteFile, _cache_get, _cache_path, _cache_put, _whole
from .http import HubNotFoundError, HubRef, endpoint, parse_hub_name

SAFETENSORS_FIRST = 64 * 2**10   # first request of a .safetensors file; a 7B model's header is ~30 KB
GGUF_BLOCK = 2**20               # GGUF headers come in blocks this long; a 152k vocabulary with merges is ~7 MB
MAX_GGUF_HEADER = 64 * 2**20     # metadata + tensor infos: ten times a large tokenizer
MAX_SHARDS = 1024                # safetensors shards of one index (DeepSeek-V3 has 163, Llama-3.1-405B 191)
WORKERS = 8                      # shards and GGUF parts read at once
SINGLE = "model.safetensors"


def _each(fn, items: list) -> list:
    """fn over items, up to WORKERS at once, in order; the first error raised."""
    if len(items) <= 1:
        return [fn(item) for item in items]
    pool = ThreadPoolExecutor(max_workers=min(WORKERS, len(items)))
    try:
        return list(pool.map(fn, items))
    finally:  # after an error, the shards not yet started are not fetched
        pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------------------------------- readers


def safetensors_header(ref: HubRef, file: str) -> tuple[SafetensorsTensor, ...]:
    """Tensor entries of one .safetensors file on the Hub: its length, then its header, checked as on disk."""
    f = RemoteFile(ref, file, block=SAFETENSORS_FIRST, limit=8 + MAX_HEADER)
    n = header_length(f[0:8], f.size, f.where)  # refused here, before a byte of an oversized header is fetched
    tensors = parse_header(f[8:8 + n], f.where, data_start=8 + n, data_size=f.size - 8 - n)
    f.keep(8 + n)
    return tensors


def gguf_header(ref: HubRef, file: str) -> GGUFHeader:
    """Metadata and tensor infos of one .gguf file on the Hub, its blocks fetched as the reader walks them."""
    f = RemoteFile(ref, file, block=GGUF_BLOCK, limit=MAX_GGUF_HEADER)
    if f.size < 24:
        raise FileFormatError(f"{f.where}: {f.size} bytes is too short for a GGUF header")
    header = _parse(f, f.where, f.size)
    f.keep(min(header.data_offset, len(f.data)))
    return header


def hub_safetensors(ref: HubRef) -> tuple[SafetensorsTensor, ...] | None:
    """Tensor entries of the safetensors checkpoint in ref's folder: the index and its shards, or the single
    model.safetensors; None if it has neither."""
    raw = _whole(ref, ref.folder(INDEX), MAX_HEADER, probe=True)
    if raw is not None:
        where = ref.name(ref.folder(INDEX))
        weight_map, total = parse_index(raw, where)
        shards = index_shard_names(where, weight_map)
        if len(shards) > MAX_SHARDS:
            raise FileFormatError(f"{where}: weight_map names {len(shards):,} shards, more than {MAX_SHARDS:,}")

        def shard(name: str):
            try:
                return safetensors_header(ref, ref.folder(name))
            except HubNotFoundError:
                raise HubNotFoundError(f"{where}: weight_map names shard {shown(name)}, which the repository does "
                                       "not have", "file") from None

        return combine_shards(_each(shard, shards), where, (where, weight_map, total))
    if _absent(ref, ref.folder(SINGLE)):
        return None
    try:
        tensors = safetensors_header(ref, ref.folder(SINGLE))
    except HubNotFoundError:
        _cache_put(_cache_path(ref, ref.folder(SINGLE)), _ABSENT, b"")
        return None
    return combine_shards([tensors], ref.name(ref.folder(SINGLE)))


def _absent(ref: HubRef, file: str) -> bool:
    cached = _cache_get(_cache_path(ref, file))
    return cached is not None and cached[0] == _ABSENT


def with_hub_weights(spec: ModelSpec, ref: HubRef) -> ModelSpec:
    """`spec` (from the repository's config.json) with the exact tensors of its safetensors checkpoint, or as it
    is when the repository has none."""
    from ..model_files import with_safetensors

    tensors = hub_safetensors(ref)
    return spec if tensors is None else with_safetensors(spec, tensors, ref.name())


def load_hub_model(name: str) -> ModelSpec:
    """ModelSpec of hf://org/name[@rev] (config.json and the safetensors headers) or of
    hf://org/name[@rev]/path/file.gguf (its header, every part of a split file)."""
    ref = parse_hub_name(name)
    file = ref.path.rsplit("/", 1)[-1]
    if file.lower().endswith(".gguf"):
        return _hub_gguf(ref, file)
    if file.endswith(".safetensors") or file.endswith(".index.json") or file == "config.json":
        raise ConfigImportError(f"{ref.name()}: name the repository (or the folder in it), not {file}: "
                                f"{HubRef(ref.repo, ref.revision, ref.path.rpartition('/')[0]).name()}")
    return _hub_folder(ref)


def _hub_folder(ref: HubRef) -> ModelSpec:
    from ...hf_import import parse_json, spec_from_config

    where = ref.name(ref.folder("config.json"))
    try:
        raw = _whole(ref, ref.folder("config.json"), MAX_CONFIG_BYTES)
    except HubNotFoundError as e:
        if e.kind in ("repo", "revision"):
            raise
        raise HubNotFoundError(f"{e}; a GGUF repository is read by naming its file: "
                               f"{ref.name(ref.folder('FILE.gguf'))}", e.kind) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigImportError(f"{where}: not UTF-8 text") from None
    name = ref.repo + (f"/{ref.path}" if ref.path else "")
    source = f"{endpoint()}/{ref.repo}/blob/{quote(ref.revision, safe='')}/{quote(ref.folder('config.json'))}"
    spec = spec_from_config(parse_json(text, where), name=name, source=source)
    return with_hub_weights(spec, ref)


def _hub_gguf(ref: HubRef, file: str) -> ModelSpec:
    from ..model_files import gguf_spec, split_names

    names = split_names(file, ref.name())
    folder = ref.path.rpartition("/")[0]
    parts = [f"{folder}/{n}" if folder else n for n in (names or [file])]

    def part(path: str) -> GGUFHeader:
        try:
            return gguf_header(ref, path)
        except HubNotFoundError:
            if path == ref.path:
                raise
            raise HubNotFoundError(f"{ref.name()}: split GGUF is missing {path.rsplit('/', 1)[-1]}", "file") from None

    return gguf_spec(_each(part, parts), ref.name(), split=names is not None, stem=file[:-5])
