"""hf:// names: config.json, safetensors and GGUF headers read from a Hub-like HTTP server (tests/hub_server.py)
by range requests only, cached, and read as the same files on disk are.

Gated repositories, missing ones, network failures, malformed names and hostile files are in test_remote_errors.py.
"""

import shutil
import struct
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from planner import estimate, load_model
from planner.cli import main
from planner.files.hub import HubNotFoundError, cache_dir, reads

from . import hub_server
from .fixtures.files.make_seeds import write_gguf
from .hub_server import CONFIG, TINY_GGUF, TOKEN, _sharded, _single

hub = hub_server.hub  # the fixture


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
