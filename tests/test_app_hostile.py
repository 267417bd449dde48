"""Dashboard against hostile links, uploads and failures: refused at once, with a message that is plain text,
names the offending parameter, and shows no traceback and no server path."""

import re
from pathlib import Path

import pytest

from tests.dashboard import APP, VIEWS, AppTest  # (app/ on the path)
from tests.dashboard import app as run_app

# isort: split
from safety import plain, public

from planner import PlannerError, limits

TINYLLAMA = Path(__file__).parent / "fixtures" / "configs" / "TinyLlama__TinyLlama-1.1B-Chat-v1.0.json"
EVIL = "[click](https://evil.example)"


@pytest.fixture(scope="module", autouse=True)
def warm():
    """One run with a long timeout first, so that imports do not count against AppTest's default 3 s below."""
    AppTest.from_file(str(APP / "streamlit_app.py"), default_timeout=120).run()


def app(page: str | None = None, **query) -> AppTest:
    """A run under AppTest's default timeout (3 s): a hostile value must be refused, not computed."""
    return run_app(page, timeout=None, **query)


def seen(markdown: str) -> str:
    """What a reader sees of a message's Markdown source: escapes and zero-width joiners resolved."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


def messages(at: AppTest) -> str:
    return "\n".join(seen(e.value) for kind in ("error", "warning", "info", "success") for e in getattr(at, kind))


def upload(name: str, content: bytes) -> AppTest:
    at = app(source="config.json", context="1024")
    at.sidebar.get("file_uploader")[0].upload(name, content, "application/json")
    at.run()
    assert not at.exception, at.exception
    return at


# 1. Custom-architecture bounds

def test_custom_form_inputs_carry_the_planner_limits():
    at = app(source="custom")
    bounds = {"c_layers": limits.MAX_LAYERS, "c_hidden": limits.MAX_D_MODEL, "c_heads": limits.MAX_HEADS,
              "c_kv": limits.MAX_HEADS, "c_head_dim": limits.MAX_HEAD_DIM, "c_ff": limits.MAX_D_FF,
              "c_vocab": limits.MAX_VOCAB, "c_ctx": limits.MAX_CONTEXT}
    assert {k: at.sidebar.number_input(key=k).max for k in bounds} == bounds


@pytest.mark.parametrize(("key", "value", "problem"), [
    ("c_layers", "10000000", "is above the maximum 1,024"),
    ("c_hidden", str(limits.MAX_D_MODEL + 1), f"is above the maximum {limits.MAX_D_MODEL:,}"),
    ("c_ctx", "9" * 5000, "is not a whole number"),
    ("c_vocab", "abc", "is not a whole number"),
    ("c_heads", "0", "is below the minimum 1"),
    ("context", "eight", "is not a whole number of tokens"),
    ("context", "1024M", "is above the maximum"),
])
def test_custom_value_beyond_the_limits_is_named_at_once(key, value, problem):
    at = app(source="custom", **{key: value})
    assert f"Link parameter {key}={value[:60]}" in at.warning[0].value and problem in at.warning[0].value
    if key.startswith("c_"):
        assert at.sidebar.number_input(key=key).value <= at.sidebar.number_input(key=key).max


def test_a_link_takes_a_context_as_the_cli_does():
    """context=8K in a link is 8,192 tokens, as --context 8K is."""
    at = app(context="8K")
    assert not at.warning and at.query_params["context"] == "8192"


# 2. Uploads

def test_deeply_nested_upload_is_a_message_not_a_traceback():
    at = upload("config.json", b"[" * 100_000 + b"]" * 100_000)
    assert "config.json: not valid JSON (nested too deeply)" in seen(at.error[0].value)
    assert "Traceback" not in messages(at)


def test_upload_above_10_mib_is_refused():
    at = upload("config.json", b" " * (10 * 2**20 + 1) + b"{}")
    assert "more than the 10 MiB" in at.error[0].value


def test_a_valid_upload_still_works():
    at = upload("my-config.json", TINYLLAMA.read_bytes())
    assert any(m.label == "total" for m in at.metric) and not at.error


# 3. No server paths

def test_messages_show_the_file_name_not_the_server_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANNER_LOCAL_FILES", "1")
    bad = tmp_path / "private-folder" / "config.json"
    bad.parent.mkdir()
    bad.write_text("{not json")
    at = app(source="local file", path=str(bad))
    assert "config.json" in at.error[0].value
    assert "private-folder" not in messages(at) and str(tmp_path) not in messages(at)


def test_public_strips_folders_but_keeps_urls_and_ratios():
    assert public("/srv/app/profiles/models/x.yaml: bad; C:\\Users\\me\\y.gguf") == "x.yaml: bad; y.gguf"
    kept = "see https://example.org/a/b, 16/32 layers, tok/s"
    assert public(kept) == kept
    assert public("My Models/x.gguf: no", paths=["/home/me/My Models/x.gguf"]) == "My Models/x.gguf: no"
    assert public("/home/me/My Models/x.gguf: no", paths=["/home/me/My Models/x.gguf"]) == "x.gguf: no"


# 4. Text from a link is plain text

@pytest.mark.parametrize("query", [dict(source="local file", path=EVIL), dict(model=EVIL), dict(gpu=EVIL),
                                   dict(page="views/compare.py", models=EVIL)])
def test_crafted_link_puts_no_link_in_the_error_box(query, monkeypatch):
    monkeypatch.setenv("PLANNER_LOCAL_FILES", "1")
    at = app(**query)
    body = (at.error or at.warning)[0].value
    assert "\\[click\\]" in body and "[click](" not in body and "https://" not in body and "<a" not in body


def test_plain_escapes_every_markdown_construct():
    hostile = ("# h [a](b) ![i](j) <a href=x>y</a> *b* _i_ `c` $x$ ~s~ |t| &#58; :red[r] :smile: "
               "www.evil.example me@evil.example https://evil.example")
    out = plain(hostile)
    for ch in "#[]!<>*`$~|&:":
        assert out.count(ch) == out.count("\\" + ch), ch  # every one escaped
    assert "\\_i\\_" in out and "https://" not in out and "www." not in out and "@evil" not in out
    assert plain("n_heads (32) must be a multiple of n_kv_heads (5)") == "n_heads (32) must be a multiple of " \
                                                                        "n_kv_heads (5)"  # snake_case cannot emphasise
    assert plain("- a") == "\\- a" and plain("1. a") == "1\\. a" and plain("a\n\n    b") == "a b"
    unescaped = out.replace("\u2060", "")
    for ch in "\\#[]!<>*`$~|&:_":
        unescaped = unescaped.replace("\\" + ch, ch)
    assert unescaped == hostile  # reads exactly as given


# 5. Unknown choices are named; the custom budget is in the link

@pytest.mark.parametrize(("key", "value"), [("model", "no-such-model"), ("gpu", "no-such-gpu"), ("quant", "q9_z"),
                                            ("kv", "fp3"), ("unit", "MiB"), ("source", "ftp")])
def test_unknown_choice_in_a_link_is_named(key, value):
    at = app(**{key: value})
    assert f"Link parameter {key}={value} is not one of" in at.warning[0].value
    assert any(m.label == "total" for m in at.metric)  # the defaults below it
    assert at.query_params.get(key) != value  # and the link now says what is shown


def test_unknown_models_in_a_compare_link_are_named():
    at = app(page="views/compare.py", models=["no-such-model", "Qwen/Qwen2.5-7B"])
    assert "no-such-model" in at.warning[0].value and list(at.table[0].value.index) == ["Qwen/Qwen2.5-7B"]


def test_custom_budget_is_part_of_the_link():
    at = app(gpu="custom", budget="10", model="meta-llama/Meta-Llama-3-8B", context="8192")
    assert "of 10.00 GiB" in messages(at) and "Does not fit" in at.error[0].value
    at.sidebar.number_input(key="budget").set_value(80.0).run()
    assert at.query_params["budget"] == "80" and "Fits" in at.success[0].value  # a shared link keeps the budget
    again = app(**{k: at.query_params[k] for k in at.query_params})
    assert "Fits" in again.success[0].value and "80.00 GiB usable" in again.success[0].value
    bad = app(gpu="custom", budget="nan")
    assert "Link parameter budget=nan is not a number" in bad.warning[0].value


# 6. Unexpected failures

@pytest.mark.parametrize("page", VIEWS)
def test_unexpected_exception_is_one_line_naming_its_type(page, monkeypatch):
    import streamlit as st

    def boom(*args, **kwargs):
        raise RuntimeError("/srv/secret/folder went wrong")

    monkeypatch.setattr(st, "title", boom)
    at = app(page=None if page == VIEWS[0] else page)
    body = messages(at)
    assert "RuntimeError" in body and "secret" not in body and "Traceback" not in body


def test_planner_error_stays_readable_without_its_server_path(monkeypatch):
    import planner

    def refuse(*args, **kwargs):
        raise PlannerError("profile /srv/app/profiles/gpus/odd.yaml: memory must be positive")

    import streamlit as st

    st.cache_data.clear()  # an earlier test's answer for the same inputs would not call it
    monkeypatch.setattr(planner, "estimate", refuse)
    at = app()
    assert at.error[0].value == plain("profile odd.yaml: memory must be positive")
