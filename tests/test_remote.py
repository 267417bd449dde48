"""hf:// names: config.json, safetensors and GGUF headers read from a Hub-like HTTP server by range requests only.

The server (http.server in a thread) serves a temp folder laid out as the Hub's URLs are,
/{org}/{name}/resolve/{revision}/{file}, answers Range requests with 206, and records every request's path, Range
and Authorization header and the bytes it sent. No internet is used.
"""

import json
import re
import shutil
import struct
import sys
import threading
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from planner import ConfigImportError, UnknownModelError, estimate, load_model
from planner.cli import main
from planner.files.gguf_reader import FileFormatError
from planner.files.hub import HubAccessError, HubError, HubNotFoundError, cache_dir, reads

from .fixtures.files.make_seeds import write_gguf, write_safetensors

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


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir())


def _same_weights(remote_spec, local_spec):
    assert remote_spec.checkpoint.tensors == local_spec.checkpoint.tensors
    assert remote_spec.model_copy(update={"checkpoint": None, "name": "x", "source": "x"}) == \
        local_spec.model_copy(update={"checkpoint": None, "name": "x", "source": "x"})
    for quant in (None, "checkpoint"):
        assert (estimate(remote_spec, quant=quant, context=2048).total_bytes
                == estimate(local_spec, quant=quant, context=2048).total_bytes)


def test_single_safetensors_file_by_ranges_equals_the_local_read(hub):
    folder = _single(hub)
    spec = load_model("hf://org/single")
    local = load_model(folder)
    _same_weights(spec, local)
    assert spec.name == "org/single" and spec.weights_dtype == "checkpoint"
    assert spec.checkpoint.format == "safetensors" and spec.checkpoint.path == "hf://org/single"
    assert spec.checkpoint.total_bytes == (2 * 32000 * 8 + 64) * 2 + 8 * 4
    assert hub.paths() == ["/org/single/resolve/main/config.json",
                           "/org/single/resolve/main/model.safetensors.index.json",
                           "/org/single/resolve/main/model.safetensors"]
    assert all(r["range"] and r["range"].startswith("bytes=") for r in hub.requests)
    assert hub.sent < _size(folder) / 10  # config.json and one 64 KiB range of a 1 MB file


def test_sharded_checkpoint_reads_the_index_and_each_shards_header(hub):
    folder = _sharded(hub)
    spec = load_model("hf://org/sharded")
    _same_weights(spec, load_model(folder))
    assert spec.checkpoint.total_bytes == 2 * 32000 * 32 * 2 + 8 * 4 + 16 * 8 * 2
    assert sorted(hub.paths()) == sorted(f"/org/sharded/resolve/main/{f}" for f in (
        "config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors"))
    assert hub.sent < _size(folder) / 10


def test_a_long_header_takes_a_second_range_and_no_more(hub, monkeypatch):
    monkeypatch.setattr(reads, "SAFETENSORS_FIRST", 256)
    folder = _single(hub)
    spec = load_model("hf://org/single")
    _same_weights(spec, load_model(folder))
    ranges = [r["range"] for r in hub.requests if r["path"].endswith("model.safetensors")]
    n = struct.unpack("<Q", (folder / "model.safetensors").read_bytes()[:8])[0]
    assert n > 256 and ranges == ["bytes=0-255", f"bytes=256-{max(8 + n, 512) - 1}"]


def test_cached_headers_are_read_without_the_network(hub, tmp_path):
    _sharded(hub)
    _single(hub, "org/plain")
    (hub.repo("org/config-only") / "config.json").write_bytes(CONFIG.read_bytes())
    first = [load_model(f"hf://org/{n}") for n in ("sharded", "plain", "config-only")]
    seen = len(hub.requests)
    assert [load_model(f"hf://org/{n}") for n in ("sharded", "plain", "config-only")] == first
    assert len(hub.requests) == seen  # every file, present or absent, came from the cache
    assert first[2].checkpoint is None  # no safetensors: the weights from config.json, as a local folder gives
    cached = sorted(p.relative_to(tmp_path / "cache" / "hub").as_posix()
                    for p in (tmp_path / "cache" / "hub").rglob("*.head"))
    assert f"127.0.0.1_{hub.port}/org/sharded/main/model-00001-of-00002.safetensors.head" in cached
    head = (tmp_path / "cache" / "hub" / f"127.0.0.1_{hub.port}" / "org" / "plain" / "main" /
            "model.safetensors.head").stat().st_size
    assert head < 1000  # the header, not the first 64 KiB that were fetched


def test_a_revision_is_part_of_the_url_and_the_cache_key(hub):
    _single(hub, "org/single")
    folder = _sharded(hub, "org/single@v2")
    spec = load_model("hf://org/single@v2")
    _same_weights(spec, load_model(folder))
    assert spec.checkpoint.path == "hf://org/single@v2"
    assert all("/resolve/v2/" in p for p in hub.paths())
    assert load_model("hf://org/single").checkpoint.total_bytes != spec.checkpoint.total_bytes


def test_gguf_header_in_blocks_equals_the_local_read(hub, monkeypatch):
    monkeypatch.setattr(reads, "GGUF_BLOCK", 512)
    folder = hub.repo("org/gguf")
    (folder / "sub").mkdir()
    shutil.copy(TINY_GGUF, folder / "sub" / "tiny-Q8_0.gguf")
    spec = load_model("hf://org/gguf/sub/tiny-Q8_0.gguf")
    local = load_model(folder / "sub" / "tiny-Q8_0.gguf")
    _same_weights(spec, local)
    assert spec.checkpoint.format == "gguf" and spec.checkpoint.path == "hf://org/gguf/sub/tiny-Q8_0.gguf"
    assert len(hub.requests) > 1 and all(r["range"] for r in hub.requests)
    assert hub.sent < TINY_GGUF.stat().st_size / 10
    assert estimate("hf://org/gguf/sub/tiny-Q8_0.gguf", context=1024).weights_bytes == local.checkpoint.total_bytes


def test_split_gguf_reads_every_part(hub, monkeypatch):
    monkeypatch.setattr(reads, "GGUF_BLOCK", 4096)
    folder = hub.repo("org/split")
    extra = {2: {"extra.weight": np.zeros((128, 64), dtype=np.float16)},
             3: {"more.weight": np.zeros((64, 64), dtype=np.float32)}}
    for k in (1, 2, 3):
        write_gguf(folder / f"m-{k:05d}-of-00003.gguf", split=(k - 1, 3), tensors=extra.get(k))
    spec = load_model("hf://org/split/m-00002-of-00003.gguf")
    _same_weights(spec, load_model(folder / "m-00001-of-00003.gguf"))
    assert spec.checkpoint.total_bytes == load_model(TINY_GGUF).checkpoint.total_bytes + 128 * 64 * 2 + 64 * 64 * 4
    assert {p.rsplit("/", 1)[-1] for p in hub.paths()} == {f"m-{k:05d}-of-00003.gguf" for k in (1, 2, 3)}
    assert hub.sent < _size(folder) / 10
    (folder / "m-00003-of-00003.gguf").unlink()
    shutil.rmtree(Path(cache_dir()))
    with pytest.raises(HubNotFoundError, match=r"hf://org/split/m-00001-of-00003.gguf: split GGUF is missing "
                                               r"m-00003-of-00003.gguf"):
        load_model("hf://org/split/m-00001-of-00003.gguf")


def test_gated_repo_needs_the_token_which_is_sent_and_never_shown(hub, monkeypatch):
    _single(hub, "org/gated")
    hub.gated["org/gated"] = TOKEN
    with pytest.raises(HubAccessError, match=r"hf://org/gated/config.json: org/gated is gated or private "
                                             r"\(HTTP 401; no token is set\): accept its license on "
                                             r"http://127.0.0.1:\d+/org/gated and set HF_TOKEN"):
        load_model("hf://org/gated")
    monkeypatch.setenv("HF_TOKEN", "hf_wrong_secret_value")
    with pytest.raises(HubAccessError, match=r"HTTP 403; the token in HF_TOKEN was refused") as refused:
        load_model("hf://org/gated")
    assert "hf_wrong_secret_value" not in str(refused.value) + repr(refused.value)
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", TOKEN)  # the older name is read too
    assert load_model("hf://org/gated").checkpoint.total_bytes > 0
    assert {r["auth"] for r in hub.requests[-3:]} == {f"Bearer {TOKEN}"}


def test_the_token_goes_to_the_hub_but_not_to_a_redirected_host(hub, monkeypatch):
    _single(hub)
    hub.redirect_to = f"http://localhost:{hub.port}"  # the CDN: another host name
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert load_model("hf://org/single").checkpoint is not None
    hub_side = [r for r in hub.requests if not r["path"].startswith("/cdn")]
    cdn_side = [r for r in hub.requests if r["path"].startswith("/cdn")]
    assert len(hub_side) == len(cdn_side) == 3
    assert all(r["auth"] == f"Bearer {TOKEN}" for r in hub_side) and all(r["auth"] is None for r in cdn_side)
    assert all(r["range"] for r in cdn_side)  # the range survives the redirect


def test_missing_repo_file_and_revision_are_clear(hub):
    with pytest.raises(HubNotFoundError, match=r"hf://org/nothing/config.json: no such repository, revision or "
                                               r"file \(HTTP 404\)"):
        load_model("hf://org/nothing")
    hub.not_found_401.add("org/private")  # the Hub's answer to an unknown (or private) repo without a token
    with pytest.raises(HubNotFoundError, match=r"no such repository org/private on 127.0.0.1:\d+ \(HTTP 401; if "
                                               r"it is private, set HF_TOKEN"):
        load_model("hf://org/private")
    hub.repo("org/gguf-only")
    shutil.copy(TINY_GGUF, hub.repo("org/gguf-only") / "tiny.gguf")
    with pytest.raises(HubNotFoundError, match=r"no such file in org/gguf-only \(HTTP 404\); a GGUF repository is "
                                               r"read by naming its file: hf://org/gguf-only/FILE.gguf"):
        load_model("hf://org/gguf-only")
    with pytest.raises(HubNotFoundError, match=r"hf://org/gguf-only/other.gguf: no such file in org/gguf-only"):
        load_model("hf://org/gguf-only/other.gguf")
    assert load_model("hf://org/gguf-only/tiny.gguf").checkpoint.format == "gguf"


def test_a_network_failure_says_so(monkeypatch, tmp_path):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("PLANNER_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with pytest.raises(HubError, match=rf"hf://org/name/config.json: cannot reach 127.0.0.1:{port} \(") as e:
        load_model("hf://org/name")
    assert TOKEN not in str(e.value)


@pytest.mark.parametrize("name", ["hf://org", "hf://org/", "hf://org/na me", "hf://org/name/../x.gguf",
                                  "hf://../name", "hf://org/name@", "hf://org/name/a?b.gguf", "hf://org/n\name"])
def test_malformed_hub_names_are_refused(name):
    with pytest.raises(UnknownModelError, match="is not a Hub name: hf://ORG/NAME"):
        load_model(name)


def test_a_safetensors_file_name_is_not_a_model(hub):
    with pytest.raises(ConfigImportError, match="name the repository .*: hf://org/x"):
        load_model("hf://org/x/model.safetensors")


def _hostile_safetensors(hub: Hub, name: str, blob: bytes) -> Path:
    folder = hub.repo(name)
    shutil.copy(CONFIG, folder / "config.json")
    (folder / "model.safetensors").write_bytes(blob)
    return folder


def test_hostile_safetensors_headers_fail_cleanly_and_fetch_nothing_more(hub):
    _hostile_safetensors(hub, "evil/huge", struct.pack("<Q", 2**60) + b"{}" + bytes(100_000))
    with pytest.raises(FileFormatError, match=r"hf://evil/huge/model.safetensors: header length 1152921504606846976 "
                                              r"does not fit the file \(100010 bytes\)"):
        load_model("hf://evil/huge")
    assert [r["range"] for r in hub.requests if r["path"].endswith(".safetensors")] == ["bytes=0-65535"]
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    _hostile_safetensors(hub, "evil/cut", struct.pack("<Q", len(header)) + header[:-5] + bytes(21))
    with pytest.raises(FileFormatError, match=r"hf://evil/cut/model.safetensors: header is not valid JSON"):
        load_model("hf://evil/cut")
    past = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    _hostile_safetensors(hub, "evil/past", struct.pack("<Q", len(past)) + past + bytes(8))
    with pytest.raises(FileFormatError, match=r"hf://evil/past/model.safetensors: tensor 'w': data_offsets \[0, 16\] "
                                              r"outside the 8 data bytes"):
        load_model("hf://evil/past")
    _hostile_safetensors(hub, "evil/short", b"\x01\x02")
    with pytest.raises(FileFormatError, match="2 bytes is too short for a safetensors header"):
        load_model("hf://evil/short")
    assert not list(Path(cache_dir()).rglob("model.safetensors.head"))  # a bad header is not cached


def test_hostile_index_files_fail_cleanly(hub, monkeypatch):
    folder = _sharded(hub, "evil/index")
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    index["weight_map"]["ghost.weight"] = "model-00003-of-00003.safetensors"
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(FileFormatError, match="shard set is missing model-00001-of-00003.safetensors"):
        load_model("hf://evil/index")
    index["weight_map"]["ghost.weight"] = "model-00002-of-00002.safetensors"
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    shutil.rmtree(Path(cache_dir()))
    with pytest.raises(FileFormatError, match="weight_map puts tensor 'ghost.weight' in "
                                              "'model-00002-of-00002.safetensors', whose header has no such tensor"):
        load_model("hf://evil/index")
    (folder / "model.safetensors.index.json").write_text('{"weight_map": {"a": "../x.safetensors"}}')
    shutil.rmtree(Path(cache_dir()))
    with pytest.raises(FileFormatError, match="weight_map names files outside the folder"):
        load_model("hf://evil/index")
    (folder / "model-00002-of-00002.safetensors").unlink()
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    shutil.rmtree(Path(cache_dir()))
    with pytest.raises(HubNotFoundError, match="weight_map names shard 'model-00002-of-00002.safetensors', which "
                                               "the repository does not have"):
        load_model("hf://evil/index")
    monkeypatch.setattr(reads, "MAX_CONFIG_BYTES", 100)
    shutil.rmtree(Path(cache_dir()))
    with pytest.raises(FileFormatError, match=r"config.json: \d[\d,]* bytes is more than the 100 such a file may "
                                              "have; not downloaded"):
        load_model("hf://evil/index")


def test_hostile_gguf_headers_fail_cleanly(hub, monkeypatch):
    folder = hub.repo("evil/gguf")
    (folder / "counts.gguf").write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 2**40, 0) + bytes(64))
    with pytest.raises(FileFormatError, match=r"hf://evil/gguf/counts.gguf: 1099511627776 tensors / 0 metadata "
                                              r"entries exceed 1048576 at byte 24"):
        load_model("hf://evil/gguf/counts.gguf")
    (folder / "magic.gguf").write_bytes(b"GGML" + bytes(100))
    with pytest.raises(FileFormatError, match="not a GGUF file"):
        load_model("hf://evil/gguf/magic.gguf")
    (folder / "tiny.gguf").write_bytes(b"GGUF")
    with pytest.raises(FileFormatError, match="4 bytes is too short for a GGUF header"):
        load_model("hf://evil/gguf/tiny.gguf")
    # a header that goes on and on (a huge string array) is cut off at MAX_GGUF_HEADER, not downloaded
    monkeypatch.setattr(reads, "GGUF_BLOCK", 4096)
    monkeypatch.setattr(reads, "MAX_GGUF_HEADER", 3 * 4096)
    strings = b"".join(struct.pack("<Q", 1000) + bytes(1000) for _ in range(200))
    blob = (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 3) + b"big" + struct.pack("<IIQ", 9, 8, 200)
            + strings)
    (folder / "long.gguf").write_bytes(blob)
    with pytest.raises(FileFormatError, match=r"hf://evil/gguf/long.gguf: the header runs past byte 12,288; not "
                                              rf"downloading more of a {len(blob):,}-byte file"):
        load_model("hf://evil/gguf/long.gguf")
    served = [r for r in hub.requests if r["path"].endswith("long.gguf")]
    assert len(served) == 3


def test_a_server_that_ignores_ranges_is_read_no_further_than_asked(hub):
    folder = _single(hub)
    hub.ignore_range = True
    spec = load_model("hf://org/single")  # the header is inside the first 64 KiB it reads of the whole body
    _same_weights(spec, load_model(folder))


def test_unbundled_org_name_reads_the_safetensors_headers_too(hub, monkeypatch, tmp_path):
    """profiles.from_hub: config.json through huggingface_hub (a stand-in here), then the headers by ranges."""
    _sharded(hub, "someorg/sharded-model")
    (hub.repo("someorg/config-only") / "config.json").write_bytes(CONFIG.read_bytes())
    monkeypatch.setitem(sys.modules, "huggingface_hub", types.SimpleNamespace(
        hf_hub_download=lambda repo_id, filename: str(CONFIG), hf_hub_url=lambda repo, name: f"{repo}/{name}",
        get_hf_file_metadata=lambda url: types.SimpleNamespace(size=CONFIG.stat().st_size)))
    spec = load_model("someorg/sharded-model")
    _same_weights(spec, load_model(hub.root / "someorg" / "sharded-model"))
    assert spec.name == "someorg/sharded-model" and spec.source.startswith("https://huggingface.co/")
    plain = load_model("someorg/config-only")
    assert plain.checkpoint is None and plain.weights_dtype == "bf16"  # no safetensors: still works
    hub.gated["someorg/gated-model"] = TOKEN  # huggingface_hub had a token planner lacks: config.json's weights
    _single(hub, "someorg/gated-model")
    assert load_model("someorg/gated-model").checkpoint is None


def test_cli_estimates_a_hub_name_as_it_does_the_local_folder(hub, capsys):
    folder = _sharded(hub)
    assert main(["estimate", "hf://org/sharded", "--context", "2048"]) == 0
    remote_out = capsys.readouterr().out
    assert main(["estimate", str(folder), "--context", "2048"]) == 0
    local_out = capsys.readouterr().out
    assert remote_out.splitlines()[1:] == local_out.splitlines()[1:]
    assert "checkpoint weights" in remote_out.splitlines()[0]
