"""Model files on the Hugging Face Hub, read with HTTP range requests: never the weights.

`hf://org/name[@revision]` reads config.json, then model.safetensors.index.json and every shard's header (or
model.safetensors' header); `hf://org/name[@revision]/path/file.gguf` reads the GGUF header (metadata and tensor
infos) of that file and of every other part of a split one. The bytes fetched go through the same readers as local
files (safetensors_reader.parse_header, gguf_reader._parse), so a spec from the Hub equals the spec of the same
files on disk, tensor for tensor.

HTTP: the standard library only. `GET {HF_ENDPOINT}/{org}/{name}/resolve/{revision}/{file}` with a `Range` header;
redirects followed (http and https only; the Authorization header only to the same host, never to the CDN);
a timeout; every read bounded by the byte count asked for, so a server that ignores the range still sends no more.
A .safetensors file costs one request of SAFETENSORS_FIRST bytes (its length and, usually, the whole header), a
second only when the header is longer; its header length is checked against the file size and the format's
100 MB cap before any of it is fetched. A GGUF header is fetched in blocks of GGUF_BLOCK bytes as the reader walks
it, up to MAX_GGUF_HEADER. The token, from HF_TOKEN (or HUGGING_FACE_HUB_TOKEN), is sent as a Bearer header and
appears in no message.

Cache: each file's header bytes (and config.json, the index) under cache_dir() — `$PLANNER_CACHE_DIR/hub`, else
`~/.cache/planner/hub` — keyed by host, repository, revision and file. A cached file is read without the network;
a revision such as `main` that moves on is not re-checked (delete the folder, or pin `@commit`).
"""

from __future__ import annotations

import http.client
import os
import re
import struct
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from ..errors import ConfigImportError, PlannerError, UnknownModelError, shown
from ..limits import MAX_CONFIG_BYTES
from ..spec import ModelSpec
from .gguf_reader import FileFormatError, GGUFHeader, _parse
from .safetensors_reader import (
    INDEX,
    MAX_HEADER,
    SafetensorsTensor,
    combine_shards,
    header_length,
    index_shard_names,
    parse_header,
    parse_index,
)

HUB = "https://huggingface.co"
TIMEOUT = 30.0                   # seconds for each connection and read
SAFETENSORS_FIRST = 64 * 2**10   # first request of a .safetensors file; a 7B model's header is ~30 KB
GGUF_BLOCK = 2**20               # GGUF headers come in blocks this long; a 152k vocabulary with merges is ~7 MB
MAX_GGUF_HEADER = 64 * 2**20     # metadata + tensor infos: ten times a large tokenizer
MAX_SHARDS = 1024                # safetensors shards of one index (DeepSeek-V3 has 163, Llama-3.1-405B 191)
WORKERS = 8                      # shards and GGUF parts read at once
SINGLE = "model.safetensors"
TOKEN_VARS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")

_PART = r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}"
_NAME = re.compile(rf"hf://(?P<repo>{_PART}/{_PART})(?:@(?P<rev>[A-Za-z0-9][A-Za-z0-9._-]{{0,255}}))?"
                   r"(?:/(?P<path>.*))?", re.DOTALL)
_PATH_PART = re.compile(r"[^/\\\x00-\x1f\x7f?#%]{1,255}")
_ABSENT = 2**64 - 1              # size recorded in the cache for a file the repository does not have
_MAGIC = b"planner-hub-cache-1\n"


class HubError(PlannerError):
    """A file on the Hugging Face Hub cannot be read: gated or private, missing, or the network failed."""


class HubAccessError(HubError):
    """HTTP 401/403: a gated or private repository without a token that has access."""


class HubNotFoundError(HubError):
    """HTTP 404: no such repository, revision or file; `kind` says which where the Hub said ("repo", "revision",
    "file"), else None."""

    def __init__(self, message: str, kind: str | None = None):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class HubRef:
    """A repository at a revision, and a file or folder in it ('' for the top)."""

    repo: str
    revision: str = "main"
    path: str = ""

    def name(self, file: str | None = None) -> str:
        """hf://org/name[@revision][/file], as messages and Checkpoint.path give it."""
        rev = "" if self.revision == "main" else f"@{self.revision}"
        file = self.path if file is None else file
        return f"hf://{self.repo}{rev}" + (f"/{file}" if file else "")

    def url(self, file: str) -> str:
        return f"{endpoint()}/{self.repo}/resolve/{quote(self.revision, safe='')}/{quote(file, safe='/')}"

    def folder(self, file: str) -> str:
        """`file` within the folder this ref names (a GGUF path names a file; its parts share its folder)."""
        return f"{self.path}/{file}" if self.path else file


def is_hub_name(name: str) -> bool:
    return name.startswith("hf://")


def parse_hub_name(name: str) -> HubRef:
    """HubRef of hf://org/name[@revision][/path]; UnknownModelError naming the form otherwise."""
    m = _NAME.fullmatch(name)
    path = (m.group("path") or "").strip("/") if m else ""
    parts = path.split("/") if path else []
    if not m or ".." in m.group("repo") or len(path) > 1024 or not all(
            _PATH_PART.fullmatch(p) and p not in (".", "..") for p in parts):
        raise UnknownModelError(f"{shown(name, 200)} is not a Hub name: hf://ORG/NAME[@REVISION][/PATH/FILE.gguf]")
    return HubRef(m.group("repo"), m.group("rev") or "main", path)


def repo_ref(repo_id: str, revision: str = "main") -> HubRef | None:
    """HubRef of a plain org/name, or None if it is not a valid repository id."""
    ok = re.fullmatch(f"{_PART}/{_PART}", repo_id) and ".." not in repo_id
    return HubRef(repo_id, revision) if ok else None


def endpoint() -> str:
    """HF_ENDPOINT (as huggingface_hub reads it), else https://huggingface.co; http or https only."""
    url = (os.environ.get("HF_ENDPOINT") or HUB).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise HubError(f"HF_ENDPOINT {shown(url)} is not an http(s) URL")
    return url


def _token() -> str | None:
    """The token of the first of TOKEN_VARS that is set; checked to be printable ASCII, never echoed."""
    for var in TOKEN_VARS:
        token = os.environ.get(var, "").strip()
        if token:
            if not all(33 <= ord(ch) < 127 for ch in token):
                raise HubError(f"{var} holds characters a token cannot have (spaces, control or non-ASCII)")
            return token
    return None


def cache_dir() -> Path:
    """Where fetched headers are kept: $PLANNER_CACHE_DIR/hub, else ~/.cache/planner/hub."""
    base = os.environ.get("PLANNER_CACHE_DIR")
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "planner") / "hub"


# ---------------------------------------------------------------------------------------------------- HTTP


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) only; carry the token only to the host that was asked."""

    def __init__(self, where: str):
        self.where = where

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new, old = urlsplit(newurl), urlsplit(req.full_url)
        if new.scheme not in ("http", "https"):
            raise HubError(f"{self.where}: the server redirected to a {new.scheme or 'relative'}: URL")
        out = super().redirect_request(req, fp, code, msg, headers, newurl)
        auth = req.unredirected_hdrs.get("Authorization")
        if out is not None and auth and (new.scheme, new.netloc) == (old.scheme, old.netloc):
            out.add_unredirected_header("Authorization", auth)
        return out


def _host() -> str:
    return urlsplit(endpoint()).netloc


def _http_error(e: urllib.error.HTTPError, ref: HubRef, where: str) -> HubError:
    """A one-line error for an HTTP error status, in the Hub's terms where it says (X-Error-Code)."""
    code = (e.headers.get("X-Error-Code", "") if e.headers is not None else "").strip()
    page = f"{endpoint()}/{ref.repo}"
    if code == "RepoNotFound":
        return HubNotFoundError(f"{where}: no such repository {ref.repo} on {_host()} (HTTP {e.code}; if it is "
                                f"private, set HF_TOKEN to a token that can read it)", "repo")
    if code == "RevisionNotFound":
        return HubNotFoundError(f"{where}: {ref.repo} has no revision {shown(ref.revision)} (HTTP {e.code})",
                                "revision")
    if code == "EntryNotFound":
        return HubNotFoundError(f"{where}: no such file in {ref.repo} (HTTP {e.code})", "file")
    if e.code in (401, 403) or code == "GatedRepo":
        told = ("the token in HF_TOKEN was refused for it" if _token() else "no token is set")
        return HubAccessError(f"{where}: {ref.repo} is gated or private (HTTP {e.code}; {told}): accept its "
                              f"license on {page} and set HF_TOKEN to a token of an account with access")
    if e.code in (404, 410):
        return HubNotFoundError(f"{where}: no such repository, revision or file (HTTP {e.code})")
    if e.code == 429:
        return HubError(f"{where}: {_host()} is rate-limiting requests (HTTP 429); try again later or set HF_TOKEN")
    return HubError(f"{where}: {_host()} answered HTTP {e.code}")


def _content_range(value: str | None) -> tuple[int | None, int | None, int | None]:
    """(first, last, size) of a Content-Range header ('bytes a-b/n' or 'bytes */n'); None where absent."""
    m = re.fullmatch(r"bytes\s+(?:(\d{1,19})-(\d{1,19})|\*)/(\d{1,19}|\*)", (value or "").strip())
    if not m:
        return None, None, None
    a, b, n = m.groups()
    return (None if a is None else int(a), None if b is None else int(b), None if n == "*" else int(n))


def _request(ref: HubRef, file: str, start: int, stop: int, *, max_size: int | None = None) -> tuple[int, bytes]:
    """(the file's size, its bytes [start, stop) — fewer at its end) by one ranged GET; HubError otherwise.

    max_size: refuse a larger file from its announced size, before reading any of it."""
    where, url = ref.name(file), ref.url(file)
    req = urllib.request.Request(url, headers={"Range": f"bytes={start}-{stop - 1}", "User-Agent": "planner",
                                               "Accept-Encoding": "identity"})
    token = _token()
    if token:
        req.add_unredirected_header("Authorization", f"Bearer {token}")
    opener = urllib.request.build_opener(_Redirects(where))
    try:
        with opener.open(req, timeout=TIMEOUT) as resp:
            return _body(resp, where, start, stop, max_size)
    except urllib.error.HTTPError as e:
        e.close()
        if e.code == 416:  # nothing at `start`: the file is shorter (an empty file, for one)
            size = _content_range(e.headers.get("Content-Range") if e.headers is not None else None)[2]
            if size is not None and size <= start:
                return size, b""
        raise _http_error(e, ref, where) from None
    except urllib.error.URLError as e:
        reason = e.reason.strerror if isinstance(e.reason, OSError) and e.reason.strerror else e.reason
        raise HubError(f"{where}: cannot reach {_host()} ({shown(str(reason), 120)}); check the network or "
                       "HF_ENDPOINT") from None
    except TimeoutError:
        raise HubError(f"{where}: no answer from {_host()} within {TIMEOUT:g} s") from None
    except (http.client.HTTPException, OSError) as e:
        raise HubError(f"{where}: the connection to {_host()} failed ({type(e).__name__})") from None


def _body(resp, where: str, start: int, stop: int, max_size: int | None) -> tuple[int, bytes]:
    if resp.status == 206:
        first, _, size = _content_range(resp.headers.get("Content-Range"))
        if first != start or size is None:
            raise HubError(f"{where}: asked for bytes from {start}, the server sent Content-Range "
                           f"{shown(resp.headers.get('Content-Range'))}")
    elif resp.status == 200:  # the range was ignored: the body is the whole file, of which only a prefix is read
        length = resp.headers.get("Content-Length", "")
        if start or not length.strip().isdigit():
            raise HubError(f"{where}: the server does not answer range requests (HTTP 200"
                           f"{'' if length.strip().isdigit() else ' without a length'}); not downloading the file")
        size = int(length)
    else:
        raise HubError(f"{where}: unexpected HTTP {resp.status}")
    if max_size is not None and size > max_size:
        raise FileFormatError(f"{where}: {size:,} bytes is more than the {max_size:,} such a file may have; "
                              "not downloaded")
    want, chunks = max(0, min(stop, size) - start), []
    while want:
        chunk = resp.read(min(want, 2**20))
        if not chunk:
            break
        chunks.append(chunk)
        want -= len(chunk)
    if want:
        raise HubError(f"{where}: the connection closed {want:,} bytes short of the range asked for")
    return size, b"".join(chunks)


# ---------------------------------------------------------------------------------------------------- cache


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
    from .model_files import with_safetensors

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
    from ..hf_import import parse_json, spec_from_config

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
    from .model_files import gguf_spec, split_names

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
