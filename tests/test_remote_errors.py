"""hf:// names that cannot be read: gated or private repositories (the token is sent to the Hub alone and never
shown), missing repositories, files and revisions, network failures, malformed names, and hostile safetensors,
index and GGUF files, which fail with one clear line and fetch nothing more.

The server is tests/hub_server.py; the reads that work are in test_remote.py.
"""

import json
import shutil
import struct
from pathlib import Path

import pytest

from planner import ConfigImportError, UnknownModelError, load_model
from planner.files.gguf_reader import FileFormatError
from planner.files.hub import HubAccessError, HubError, HubNotFoundError, cache_dir, reads

from . import hub_server
from .hub_server import CONFIG, TINY_GGUF, TOKEN, Hub, _sharded, _single

hub = hub_server.hub  # the fixture


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
