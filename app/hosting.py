"""Safe to host: what a visitor may make the server do.

Reading server paths (a GGUF file or a model folder) is for the user's own machine only. It is on when the
dashboard listens on a loopback address (`--server.address localhost`) and off otherwise — Streamlit's default
listens on every interface — or when started as `streamlit run app/streamlit_app.py -- --server`.
PLANNER_LOCAL_FILES=1 or 0 overrides both. Behind a reverse proxy or a tunnel that reaches the dashboard on
localhost, visitors come from the loopback address too: start it with `-- --server` (or PLANNER_LOCAL_FILES=0).
"""

from __future__ import annotations

import os
import sys

LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def local_paths_allowed(address: str | None = None, argv: list[str] | None = None,
                        env: dict[str, str] | None = None) -> bool:
    """True when this server may read paths that a visitor types."""
    env = os.environ if env is None else env
    argv = sys.argv[1:] if argv is None else argv
    if (forced := env.get("PLANNER_LOCAL_FILES")) in ("0", "1"):
        return forced == "1"
    if "--server" in argv:
        return False
    if address is None:
        import streamlit as st

        address = st.get_option("server.address")
    return (address or "").strip("[]") in LOOPBACK
