"""The on-disk cache of what was fetched from the Hub, and RemoteFile: a file's first bytes, fetched as far as a
reader asks.

Cache: each file's header bytes (and config.json, the index) under cache_dir() — `$PLANNER_CACHE_DIR/hub`, else
`~/.cache/planner/hub` — keyed by host, repository, revision and file. A cached file is read without the network;
a revision such as `main` that moves on is not re-checked (delete the folder, or pin `@commit`).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from urllib.parse import quote, urlsplit

from ..gguf_reader import FileFormatError
from .http import HubError, HubNotFoundError, HubRef, _request, endpoint

_ABSENT = 2**64 - 1              # size recorded in the cache for a file the repository does not have
_MAGIC = b"planner-hub-cache-1\n"


def cache_dir() -> Path:
    """Where fetched headers are kept: $PLANNER_CACHE_DIR/hub, else ~/.cache/planner/hub."""
    base = os.environ.get("PLANNER_CACHE_DIR")
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "planner") / "hub"


def _cache_path(ref: HubRef, file: str) -> Path:
    host = urlsplit(endpoint()).netloc.replace(":", "_")
    org, name = ref.repo.split("/")
    return cache_dir() / host / org / name / quote(ref.revision, safe="") / (file + ".head")


def _cache_get(path: Path) -> tuple[int, bytes] | None:
    """(size, the file's first bytes) as cached, size _ABSENT for a file known to be missing; None if not cached."""
    try:
        raw = path.read_bytes()
    except (OSError, ValueError):  # ValueError: a NUL in a name a hostile index gave
        return None
    n = len(_MAGIC)
    if len(raw) < n + 8 or raw[:n] != _MAGIC:
        return None  # not ours, or cut short: fetched again
    (size,) = struct.unpack_from("<Q", raw, n)
    data = raw[n + 8:]
    return (size, data) if size == _ABSENT and not data or len(data) <= size else None


def _cache_put(path: Path, size: int, data: bytes) -> None:
    """Keep (size, data) under path, written whole or not at all; a cache that cannot be written is skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(_MAGIC + struct.pack("<Q", size) + data)
        os.replace(tmp, path)
    except (OSError, ValueError):
        pass


class RemoteFile:
    """A file on the Hub seen as its first bytes, fetched as far as a reader asks (or read from the cache).

    Sliced like bytes (f[a:b]) with len(f) the file's size, so gguf_reader's cursor reads it as it reads an mmap;
    reading at or past `limit` is a FileFormatError instead of a download."""

    def __init__(self, ref: HubRef, file: str, *, block: int, limit: int):
        self.ref, self.file, self.block, self.limit = ref, file, block, limit
        self.where = ref.name(file)
        self.cache = _cache_path(ref, file)
        cached = _cache_get(self.cache)
        if cached is not None and cached[0] != _ABSENT:
            self.size, data = cached
            self.from_cache = True
        else:
            self.size, data = _request(ref, file, 0, min(block, limit))
            self.from_cache = False
        self.data = data

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, s: slice) -> bytes:
        start, stop, _ = s.indices(self.size)
        if stop > len(self.data):
            self.need(stop)
        return self.data[start:stop]

    def need(self, stop: int) -> None:
        have = len(self.data)
        if stop <= have:
            return
        if stop > self.limit:
            raise FileFormatError(f"{self.where}: the header runs past byte {self.limit:,}; not downloading more "
                                  f"of a {self.size:,}-byte file")
        size, more = _request(self.ref, self.file, have, min(self.size, self.limit, max(stop, have + self.block)))
        if size != self.size:
            raise HubError(f"{self.where}: the file changed while it was read ({self.size:,} bytes, then {size:,})")
        self.data += more  # a few blocks in all: copying them is cheaper than slicing a bytearray per read

    def keep(self, end: int) -> None:
        """Cache the first `end` bytes (a header that read cleanly), unless they came from the cache."""
        if not self.from_cache:
            _cache_put(self.cache, self.size, self.data[:end])


def _whole(ref: HubRef, file: str, cap: int, *, probe: bool = False) -> bytes | None:
    """The whole of a small file (config.json, an index), refused above `cap` bytes before it is downloaded.

    probe: a file that may be absent: None if the repository has no such file (remembered in the cache)."""
    path = _cache_path(ref, file)
    cached = _cache_get(path)
    if cached is not None and (cached[0] == len(cached[1]) <= cap or probe and cached[0] == _ABSENT):
        return None if cached[0] == _ABSENT else cached[1]
    try:
        size, data = _request(ref, file, 0, cap + 1, max_size=cap)
    except HubNotFoundError:
        if not probe:
            raise
        _cache_put(path, _ABSENT, b"")
        return None
    _cache_put(path, size, data)
    return data
