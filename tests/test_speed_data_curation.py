"""Each published-speed data file is what its curation script writes: a hand edit of a row must go through the
script (with its reason), so the data can be regenerated and every figure traced to the code that copied it."""

import importlib
import json
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data"
SCRIPTS = {"curate_published_speed": "published_speed.jsonl", "curate_llamacpp_runs": "published_llamacpp.jsonl",
           "curate_engine_runs": "published_engines.jsonl", "curate_more_runs": "published_more.jsonl",
           "curate_batch1_runs": "published_batch1.jsonl", "curate_llamacpp_recent": "published_llamacpp_recent.jsonl"}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_the_committed_rows_are_what_the_curation_script_writes(script, monkeypatch):
    monkeypatch.syspath_prepend(str(DATA))
    module = importlib.import_module(script)
    committed = [json.loads(line) for line in (DATA / SCRIPTS[script]).read_text().splitlines() if line.strip()]
    assert module.curate() == committed
    sys.modules.pop(script, None)

