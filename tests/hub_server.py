"""The Hub-like HTTP server the hf:// tests read from, and the repositories they put on it.

The server (http.server in a thread) serves a temp folder laid out as the Hub's URLs are,
/{org}/{name}/resolve/{revision}/{file}, answers Range requests with 206, and records every request's path, Range
and Authorization header and the bytes it sent. No internet is used.
"""

import json
import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .fixtures.files.make_seeds import write_safetensors

FIXTURES = Path(__file__).parent / "fixtures"
CONFIG = FIXTURES / "configs" / "TinyLlama__TinyLlama-1.1B-Chat-v1.0.json"
TINY_GGUF = FIXTURES / "files" / "tiny.gguf"
TOKEN = "hf_test_secret_token_123"
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")


class Hub:
    """What the test server serves and what it saw."""

    def __init__(self, root: Path):
        self.root, self.requests, self.sent = root, [], 0
        self.gated: dict[str, str] = {}     # repo → the token that opens it
        self.not_found_401: set[str] = set()  # repos answered as the Hub answers an unknown one without a token
        self.redirect_to: str | None = None   # resolve URLs redirect here (another host name), as the Hub's CDN
        self.ignore_range = False
        self.lock = threading.Lock()

    def repo(self, name: str) -> Path:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def paths(self) -> list[str]:
        return [r["path"] for r in self.requests]


def _handler(hub: Hub):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802 (http.server's name)
            with hub.lock:
                hub.requests.append({"path": self.path, "range": self.headers.get("Range"),
                                     "auth": self.headers.get("Authorization"), "host": self.headers.get("Host")})
            path = self.path
            if path.startswith("/cdn"):
                path = path[4:]
            elif hub.redirect_to:
                self.send_response(302)
                self.send_header("Location", f"{hub.redirect_to}/cdn{path}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            m = _RESOLVE.match(path)
            if not m:
                return self.fail(404)
            repo, rev, file = m["repo"], m["rev"], m["file"]
            if repo in hub.not_found_401:
                return self.fail(401, "RepoNotFound")
            if repo in hub.gated:
                auth = self.headers.get("Authorization")
                if auth is None:
                    return self.fail(401, "GatedRepo")
                if auth != f"Bearer {hub.gated[repo]}":
                    return self.fail(403)
            folder = hub.root / (repo if rev == "main" else f"{repo}@{rev}")
            if not folder.is_dir():
                return self.fail(404)
            target = folder / file
            if not target.is_file():
                return self.fail(404, "EntryNotFound")
            data = target.read_bytes()
            ranged = re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers.get("Range") or "")
            if ranged and not hub.ignore_range:
                a, b = int(ranged[1]), min(int(ranged[2]), len(data) - 1)
                if a >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = data[a:b + 1]
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {a}-{b}/{len(data)}")
            else:
                body = data
                self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the client read what it asked for and left
                return
            with hub.lock:
                hub.sent += len(body)

        def fail(self, code: int, error_code: str | None = None):
            self.send_response(code)
            if error_code:
                self.send_header("X-Error-Code", error_code)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@pytest.fixture
def hub(tmp_path, monkeypatch):
    h = Hub(tmp_path / "hub")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(h))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    h.port = server.server_address[1]
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{h.port}")
    monkeypatch.setenv("PLANNER_CACHE_DIR", str(tmp_path / "cache"))
    yield h
    server.shutdown()
    server.server_close()


def _single(hub: Hub, name: str = "org/single") -> Path:
    folder = hub.repo(name)
    shutil.copy(CONFIG, folder / "config.json")
    write_safetensors(folder / "model.safetensors", {"model.embed_tokens.weight": ("BF16", (32000, 8)),
                                                     "model.layers.0.self_attn.q_proj.weight": ("BF16", (8, 8)),
                                                     "model.norm.weight": ("F32", (8,)),
                                                     "lm_head.weight": ("BF16", (32000, 8))})
    return folder


def _sharded(hub: Hub, name: str = "org/sharded") -> Path:
    folder = hub.repo(name)
    shutil.copy(CONFIG, folder / "config.json")
    shards = {"model-00001-of-00002.safetensors": {"model.embed_tokens.weight": ("BF16", (32000, 32)),
                                                   "model.norm.weight": ("F32", (8,))},
              "model-00002-of-00002.safetensors": {"lm_head.weight": ("BF16", (32000, 32)),
                                                   "model.layers.0.mlp.up_proj.weight": ("F16", (16, 8))}}
    for file, tensors in shards.items():
        write_safetensors(folder / file, tensors)
    weight_map = {t: file for file, tensors in shards.items() for t in tensors}
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": 1},
                                                                     "weight_map": weight_map}))
    return folder
