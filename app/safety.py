"""What the dashboard shows of text it did not write: plain text, no server paths, no tracebacks.

Streamlit renders the body of st.error, st.caption, st.table cells and the like as Markdown, so text from
a link, a file or an exception goes through plain() first; exception messages go through message().
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st
from pydantic import ValidationError

from planner import PlannerError
from planner.limits import MAX_CONFIG_BYTES

MAX_UPLOAD_BYTES = MAX_CONFIG_BYTES  # as planner.hf_import.load_config_json allows for a config.json
MAX_MESSAGE_CHARS = 1000
_LOG = logging.getLogger("planner.dashboard")

# Backslash-escaped wherever they stand: every character that starts Markdown, GitHub's extensions or
# Streamlit's (links, images, emphasis, code, HTML, headings, quotes, maths, strikethrough, tables, entities,
# :colour[…] and :emoji: directives). Parentheses are left alone: with [ and ] escaped they cannot form a link.
_ESCAPE = re.compile(r"([\\`*\[\]<>#$~|!&{}:])")
_UNDERSCORES = re.compile(r"_+")
_LIST_MARK = re.compile(r"^([-+])|^(\d+)([.)])")
# remark-gfm and Streamlit also rewrite the *text* after parsing (escapes already resolved): bare URLs and
# e-mail addresses become links, :name: an emoji or an icon. A word joiner (U+2060, zero width) after
# "www", ":" and "@" breaks those patterns without changing what the reader sees.
_JOIN = re.compile(r"(?i)(www(?=\.)|:(?=\S)|@(?=\S))")
_WORD_JOINER = "\u2060"
# Absolute paths with at least one folder: POSIX (not the // of a URL) and Windows.
_POSIX_PATH = re.compile(r"(?<![\w.~:/\\-])/(?:[^/\s'\"`,;]+/)+([^/\s'\"`,;]*)")
_WINDOWS_PATH = re.compile(r"(?<![\w])[A-Za-z]:\\{1,2}(?:[^\\\s'\"`,;]+\\{1,2})*([^\\\s'\"`,;]*)")


def plain(text: object) -> str:
    """`text` as Markdown that renders as exactly that text, on one line: no link, emphasis, HTML, emoji, …"""
    s = " ".join(str(text).split())  # one line: no block structure but a list marker at the start
    s = _ESCAPE.sub(r"\\\1", s)
    s = _UNDERSCORES.sub(_underscores, s)
    s = _LIST_MARK.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", s)
    return _JOIN.sub(lambda m: m[1] + _WORD_JOINER, s)


def _underscores(m: re.Match) -> str:
    """A run of _ between two letters or digits (snake_case) cannot emphasise; any other is escaped."""
    s, a, b = m.string, m.start(), m.end()
    inside_word = a > 0 and b < len(s) and s[a - 1].isalnum() and s[b].isalnum()
    return m.group(0) if inside_word else "\\_" * (b - a)


def public(text: object, paths: Iterable[str | Path] = ()) -> str:
    """`text` without server paths: each of `paths`, then any other absolute path, becomes its file name."""
    s = str(text)
    for p in sorted({str(p) for p in paths if str(p) not in ("", ".", "/")}, key=len, reverse=True):
        s = s.replace(p, Path(p).name)
    s = _WINDOWS_PATH.sub(r"\1", _POSIX_PATH.sub(r"\1", s))
    return s if len(s) <= MAX_MESSAGE_CHARS else s[:MAX_MESSAGE_CHARS] + " …"


def message(exc: BaseException) -> str:
    """What a user may read of `exc`: the message of an input error, else only the exception's type."""
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors()[0]
        where = ".".join(map(str, first.get("loc", ())))
        what = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        return public(f"{where}: {what}" if where else what)
    if isinstance(exc, PlannerError):
        return public(in_app_words(str(exc)))
    return f"unexpected error ({type(exc).__name__})"


# The Python API's settings as the sidebar names them (a message's own pointer to a CLI flag is dropped)
_APP_WORDS = ((re.compile(r" \(CLI [^)]*\)"), ""),
              (re.compile(r"engine_version='([^']+)'"), r"release \1 (the engine's release in the sidebar)"),
              (re.compile(r"engine_version older than"), "a release older than"),
              (re.compile(r"engine='(\w[\w.]*)'"), r"the \1 engine"))


def in_app_words(text: str) -> str:
    """An error from the Python API in the dashboard's words: engine_version='0.23.0' as the release picker says it,
    no "(CLI --flag)" pointers."""
    for pattern, words in _APP_WORDS:
        text = pattern.sub(words, text)
    return text


def clip(value: object, n: int = 60) -> str:
    """A value from a link or a file, cut to `n` characters for a message."""
    s = str(value)
    return s if len(s) <= n else s[:n] + "…"


@contextmanager
def file_boundary() -> Iterator[None]:
    """Reading a file: an input error passes; any other (RecursionError, OSError, …) becomes one naming its type."""
    try:
        yield
    except (PlannerError, ValidationError):
        raise
    except Exception as e:
        raise PlannerError(f"could not read this file: {type(e).__name__}") from None


class Stopped(Exception):
    """Raised by stop(): the view ends here (a message already says why); its sidebar is still drawn."""


def stop() -> None:
    """End the current view quietly (app/controls.py run() catches it and draws the sidebar)."""
    raise Stopped


@contextmanager
def guarded() -> Iterator[None]:
    """Run a view: an input error shows its message, anything else one line naming its type (traceback: log)."""
    try:
        yield
    except (PlannerError, ValidationError) as e:  # st.stop() and st.rerun() are BaseExceptions: they pass
        st.error(plain(message(e)))
    except Exception as e:
        if os.environ.get("PLANNER_DEBUG"):  # the tests of the views set it, so a bug fails them
            raise
        _LOG.exception("dashboard view failed")
        st.error(plain(f"This page hit an {message(e)}; the details are in the server log."))


def fragment(func):
    """st.fragment whose body runs inside guarded(): a rerun of the fragment alone has no page around it to catch
    an error, so it is caught here the same way."""
    import functools

    @functools.wraps(func)
    def body(*args, **kwargs):
        with guarded():
            return func(*args, **kwargs)

    return st.fragment(body)
