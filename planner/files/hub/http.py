"""Ranged HTTP requests to the Hugging Face Hub: Hub names (HubRef), the endpoint, the token, and the errors.

HTTP: the standard library only. `GET {HF_ENDPOINT}/{org}/{name}/resolve/{revision}/{file}` with a `Range` header;
redirects followed (http and https only; the Authorization header only to the same host, never to the CDN);
a timeout; every read bounded by the byte count asked for, so a server that ignores the range still sends no more.
The token, from HF_TOKEN (or HUGGING_FACE_HUB_TOKEN), is sent as a Bearer header and appears in no message.
"""

from __future__ import annotations

import http.client
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from ...errors import PlannerError, UnknownModelError, shown
from ..gguf_reader import FileFormatError

HUB = "https://huggingface.co"
TIMEOUT = 30.0                   # seconds for each connection and read
TOKEN_VARS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")

_PART = r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}"
_NAME = re.compile(rf"hf://(?P<repo>{_PART}/{_PART})(?:@(?P<rev>[A-Za-z0-9][A-Za-z0-9._-]{{0,255}}))?"
                   r"(?:/(?P<path>.*))?", re.DOTALL)
_PATH_PART = re.compile(r"[^/\\\x00-\x1f\x7f?#%]{1,255}")


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
