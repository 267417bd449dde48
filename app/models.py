"""Where the dashboard's model comes from — a bundled profile, a Hugging Face id, a parameter count, the custom
form, an uploaded config.json or a local file — resolved from the shared state, and the cached catalog loaders."""

from __future__ import annotations

import importlib.util
import re

import streamlit as st
from pydantic import ValidationError
from safety import MAX_UPLOAD_BYTES, file_boundary, message, stop
from state import HUB_ID, SOURCES, models

from planner import PlannerError


@st.cache_resource(show_spinner=False)
def bundled_spec(name: str):
    from planner import load_model

    return load_model(name)


@st.cache_resource(show_spinner=False)
def gpu_spec(gpu_id: str):
    from planner import load_gpu

    return load_gpu(gpu_id)


@st.cache_resource(show_spinner=False, max_entries=64)
def _from_params(text: str):
    from planner.approx import spec_from_params

    return spec_from_params(text)


@st.cache_resource(show_spinner="Fetching config.json from the Hugging Face Hub…", ttl=3600, max_entries=64)
def _from_hub(repo_id: str):
    from planner.profiles import from_hub

    return from_hub(repo_id)


def model_spec(state: dict):
    """The ModelSpec the state's model source names; an input error is a PlannerError in the form's words."""
    source = state["source"]
    if source == "Hugging Face id":
        return _hub_spec(state["hub"].strip())
    if source == "parameter count":
        return _from_params(state["params"])
    if source == "custom":
        return _custom_spec(state)
    if source == "config.json":
        return _uploaded()
    if source == "local file":
        return _local(state["path"])
    return bundled_spec(state["model"])


# The form's words for the spec's fields, so an error reads as the form does ("query heads", not "n_heads").
FORM_WORDS = {"n_layers": "layers", "d_model": "hidden size", "n_heads": "query heads", "n_kv_heads": "KV heads",
              "head_dim": "head dim", "d_ff": "intermediate size", "vocab_size": "vocabulary",
              "max_context": "max context", "tie_embeddings": "tied embeddings"}
_FORM_WORD = re.compile(r"\b(" + "|".join(FORM_WORDS) + r")\b")


def _custom_spec(state: dict):
    from planner import ModelSpec

    v = state
    try:
        return ModelSpec(name="custom", source="dashboard form", model_type="llama", n_layers=v["c_layers"],
                         d_model=v["c_hidden"], n_heads=v["c_heads"], n_kv_heads=v["c_kv"], head_dim=v["c_head_dim"],
                         d_ff=v["c_ff"], vocab_size=v["c_vocab"], max_context=v["c_ctx"], tie_embeddings=v["c_tied"])
    except (PlannerError, ValidationError) as e:
        raise PlannerError(_FORM_WORD.sub(lambda m: FORM_WORDS[m[1]], message(e))) from None


def sources() -> list[str]:
    from hosting import local_paths_allowed

    return SOURCES if local_paths_allowed() else SOURCES[:-1]


def _hub_spec(repo: str):
    if not repo:
        st.info("Type a Hugging Face id such as Qwen/Qwen3-8B in the sidebar: its config.json is read, no weights.")
        stop()
    if not HUB_ID.fullmatch(repo):
        raise PlannerError(f"Hugging Face id {repo[:100]!r} is not of the form org/name")
    if repo.lower() in {m.lower() for m in models()}:
        return bundled_spec(next(m for m in models() if m.lower() == repo.lower()))
    if importlib.util.find_spec("huggingface_hub") is None:
        raise PlannerError(f"{repo} is not bundled, and this server cannot reach the Hub "
                           "(install planner[hub] to fetch config.json files)")
    spec = _from_hub(repo)
    if spec is None:
        raise PlannerError(f"could not fetch {repo}'s config.json from the Hub: offline, gated or not found")
    return spec


def _uploaded():
    """The config.json uploaded in this session (kept across views; not part of a link)."""
    from planner.hf_import import parse_json, spec_from_config

    up = st.session_state.get("upload")
    if up is not None and up.file_id != st.session_state.get("upload_id"):
        st.session_state["upload_id"], st.session_state["upload_spec"] = up.file_id, None
        if up.size > MAX_UPLOAD_BYTES:
            raise PlannerError(f"{up.name}: {up.size:,} bytes is more than the {MAX_UPLOAD_BYTES // 2**20} MiB "
                               "a config.json may have")
        with file_boundary():
            try:
                text = up.getvalue().decode("utf-8")
            except UnicodeDecodeError:
                raise PlannerError(f"{up.name}: not UTF-8 text") from None
            raw = parse_json(text, up.name)  # NaN, Infinity and nesting too deep are refused, as for files
            name = raw.get("_name_or_path") if isinstance(raw, dict) else None
            st.session_state["upload_spec"] = spec_from_config(raw, name=str(name or up.name), source=up.name)
    spec = st.session_state.get("upload_spec")
    if spec is None:
        st.info("Upload a model's config.json in the sidebar (nothing in it is executed). It stays for this "
                "session, on every view, but is not part of a shared link.")
        stop()
    return spec


def _local(path: str):
    from pathlib import Path

    from planner import load_model

    if not path:
        st.info("Give the path of a GGUF file (only its header is read) or of a model folder in the sidebar.")
        stop()
    with file_boundary():
        if not Path(path).expanduser().exists():  # a name is no path: never a Hub download from here
            raise PlannerError(f"{path}: no such file or folder")
        return load_model(Path(path).expanduser())


