"""When a llama.cpp log was written: the build it prints, or the newest build whose log lines it has."""

from __future__ import annotations

import re

from ...engines.llamacpp.releases import LLAMACPP_OUTPUT_FIRST
from .common import first

# The load order of -ngl's layers: from PR #18148 (b7467) the output layer's line comes before the repeating layers'
# (older builds: "offloading non-repeating layers to GPU")
_OUTPUT_LINE = re.compile(r"offloading (?:output|non-repeating) layers? to GPU")
_REPEATING_LINE = re.compile(r"offloading (\d+) repeating layers to GPU")
# The build that wrote the log: 'build: 5000 (a1b2c3d) with cc … for …' (common's first line), 'main: build = 722
# (049aa16)' (older mains), llama-bench's 'build: a1b2c3d (5000)'
_BUILD = (re.compile(r"\bbuild(?::| =)\s*(\d{1,6})\s*\([0-9a-f]{6,40}\)"),
          re.compile(r"\bbuild:\s*[0-9a-f]{7,40}\s*\((\d{1,6})\)"))

# Lines that later builds no longer print, and the build that stopped printing them (its merge commit's rev-list
# count): an unversioned log that has one is older
# (journald and Ollama prefix each line with their own fields, so a line's name is matched anywhere in it)
_GONE_LINES = ((re.compile(r"\bllm_load_tensors:"), 4463),  # PR #11110, functions -> methods (Jan 2025)
               # PR #12181 (March 2025): llama_context and llama_kv_cache classes log under their own names
               (re.compile(r"\b(?:llama_new_context_with_model|llama_init_from_model|llama_kv_cache_init):"), 4881),
               (re.compile(r"\binit:\s+\S+ KV buffer size"), 5262),  # PR #12799, the cache's init() a constructor
               (re.compile(r"\bllama_kv_cache_unified:"), 6233))  # PR #15467, the "unified" prefix dropped


def newest_build_of_lines(text: str) -> int | None:
    """The newest build whose log lines this log's are: the build before the first change it predates (a line later
    builds dropped; the offload lines' order before PR #18148); None where nothing dates it."""
    bounds = [gone - 1 for pattern, gone in _GONE_LINES if pattern.search(text)]
    if _output_last(text):
        bounds.append(LLAMACPP_OUTPUT_FIRST - 1)
    return min(bounds, default=None)


def _output_last(text: str) -> bool:
    """Whether the log offloads layers in the order of builds before PR #18148: the repeating layers' line first,
    then the output layer's (only with every layer), or layers offloaded without the output (later builds offload
    it first, so -ngl 0 tells nothing)."""
    repeating = _REPEATING_LINE.search(text)
    if repeating is None:
        return False
    output = _OUTPUT_LINE.search(text)
    return output.start() > repeating.start() if output is not None else int(repeating[1]) > 0


def llamacpp_build_in_log(text: str) -> tuple[int, int] | None:
    """(build, line) of the build that wrote the log, where it prints one (a build stamped 0, as builds from outside
    llama.cpp's git tree are, names none)."""
    for pattern in _BUILD:
        m, line = first(pattern, text)
        if m and int(m[1]) > 0:
            return int(m[1]), line
    return None
