"""The Python API's error messages in the command line's words: option names as the flags of the verb that ran."""

from __future__ import annotations

import re

# Whole phrases whose flags do not follow from the names ("^": only at the start of a message)
_FLAG_WORDS = (("give gpu= or gpu_memory_bytes=", "give --gpu, or a custom GPU's --gpu-memory and --gpu-bandwidth"),
               ("set num_parallel", "set --num-parallel"), ("mla_gguf says", "--legacy-mla-gguf says"),
               ("gpu_memory_bytes must be at least", "--gpu-memory must be at least"),
               ("v1_engine=True:", "--vllm-engine v1:"),
               ("v1_engine=False (VLLM_USE_V1=0)", "--vllm-engine v0 (VLLM_USE_V1=0)"),
               ("v1_engine=False:", "--vllm-engine v0:"),
               ("needs a GPU: give gpu (a catalog id, or planner.gpus.custom_gpu(...))",
                "needs a GPU: give --gpu, or a custom GPU's --gpu-memory and --gpu-bandwidth"),
               ("^efficiency sets a speed figure", "--efficiency sets a speed figure"),
               ("op_offload=False:", "--no-op-offload:"))

# The Python options whose flag is not their name with dashes
_OPTION_FLAGS = {"n_parallel": "--parallel", "v1_engine": "--vllm-engine", "enable_prefix_caching": "--prefix-caching",
                 "enable_chunked_prefill": "--chunked-prefill", "op_offload": "--no-op-offload",
                 "mla_gguf": "--legacy-mla-gguf", "cuda_graph_memory_bytes": "--cuda-graph-memory",
                 "gpu_memory_bytes": "--gpu-memory", "host_memory_bytes": "--host-memory",
                 "host_bandwidth_bytes_per_s": "--host-bandwidth", "lora_rank": "--rank", "lora_targets": "--targets",
                 "gradient_accumulation": "--grad-accum", "n_gpus": "--gpus"}
# Boolean options whose flag takes on/off (or is a switch): True/False in a message is not their value as typed
_SWITCHES = {"enable_chunked_prefill", "enable_prefix_caching", "custom_all_reduce", "flash_attn", "fit"}
_QUOTED = re.compile(r"'([a-z][a-z0-9_]*)'")
_IN_QUOTES = re.compile(r"('[^']*'|\"[^\"]*\")")
# a name_with_underscores standing alone: not a model's attribute ("X's max_context"), a path, a call or an assignment
_BARE = re.compile(r"(?<![\w./-])(?<!'s )([a-z][a-z0-9]*(?:_[a-z0-9]+)+)(?![\w(./=-])")
_ASSIGNED = re.compile(r"\b([a-z][a-z0-9_]*)=('[^']*'|[\w.+-]+)((?: or '[^']*')*)")


def _flag(name: str, flags: set[str]) -> str | None:
    flag = _OPTION_FLAGS.get(name, "--" + name.replace("_", "-"))
    return flag if flag in flags else None


def _outside_quotes(message: str, fn) -> str:
    """fn applied to the message's text outside quotes: what it quotes (a log line, a value typed) stays as written."""
    return "".join(part if i % 2 else fn(part) for i, part in enumerate(_IN_QUOTES.split(message)))


def as_flags(message: str, verb: str | None = None) -> str:
    """The message with the API's option names as `verb`'s flags ('tensor_parallel_size' → --tensor-parallel-size)
    and its settings as flags with values (engine_version='0.6.6' → --engine-version 0.6.6)."""
    for python, flags in _FLAG_WORDS:
        message = (flags + message[len(python) - 1:] if python.startswith("^") and message.startswith(python[1:])
                   else message.replace(python, flags))
    if "_" not in message and "=" not in message and "option '" not in message:
        return message
    flags = long_flags(verb)
    name = message.split(" ", 1)[0]
    if "_" in name and message.startswith(f"{name} must be ") and (flag := _flag(name, flags)):
        message = flag + message[len(name):]
    if m := re.match(r"engine '([\w.]+)' has no option '(\w+)'(?: \(did you mean ([^?]*)\?\))?; it takes (.*)$",
                     message):
        own = [f for o in m[4].split(", ") if (f := _flag(o, flags))]
        near = [f for o in (m[3] or "").split(", ") if o and (f := _flag(o, flags))]
        message = (f"{_flag(m[2], flags) or repr(m[2])} does not apply to --engine {m[1]}"
                   + (f" (did you mean {', '.join(near)}?)" if near else "")
                   + (f"; its flags: {', '.join(own)}" if own else ""))
    message = re.sub(r" \(CLI [^)]*\)", "", message)  # a Python message's own pointer to the flag

    def assigned(m: re.Match) -> str:
        flag = _flag(m[1], flags)
        if flag is None or m[2] in ("None",) or (m[2] in ("True", "False") and m[1] not in _SWITCHES):
            return m[0]
        value = {"True": "on", "False": "off"}.get(m[2], m[2].strip("'"))
        return f"{flag} {value}{m[3].replace(' or ' + chr(39), ' or ').replace(chr(39), '')}"

    message = _ASSIGNED.sub(assigned, message)
    if "option '" in message:
        message = _QUOTED.sub(lambda m: _flag(m[1], flags) or m[0], message)
    message = _outside_quotes(message, lambda text: _BARE.sub(lambda m: _flag(m[1], flags) or m[0], text))
    return re.sub(r"(--[\w-]+) \(\1\)", r"\1", message)  # "its own is --num-ctx (--num-ctx)"


def long_flags(verb: str | None = None) -> set[str]:
    """The --flags `verb` takes (every verb's when None), read from the parser on an error's path only."""
    import argparse

    from . import build_parser

    flags, parsers = set(), [build_parser()]
    while parsers:
        parser = parsers.pop()
        for action in parser._actions:
            flags.update(o for o in action.option_strings if o.startswith("--"))
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(p for name, p in action.choices.items() if verb is None or name == verb)
    return flags
