"""The llama.cpp build of every published llama.cpp run, for the rules that change with it (planner's prefill runs
quantized weights on int8 tensor cores from b3216: planner.perf.LLAMACPP_MMQ_BUILD).

Writes benchmarks/data/llamacpp_builds.jsonl: one line per (engine_printed, source) of a llama.cpp row with its build
and how it was found. benchmarks/speed_data.py attaches the build to those rows. Needs a clone of llama.cpp's history
(git rev-list --count of a commit is its build number, what LLAMA_BUILD_NUMBER and the bNNNN tags name); CI reads the
committed file.

The rules, first that applies:
  0. an Ollama run ("Ollama 0.7.0 (…"): the build that release vendors (planner.engines.ollama.releases; releases
     before planner's oldest Ollama name their llm/llama.cpp submodule's commit, rule 2);
  1. a build the run printed: "build = 1691", "(2796)", "b4400";
  2. a commit the run printed ("commit 15499eb", "branch 277014f50"): that commit's build;
  3. the date of the comment or description the figures come from (YYYY-MM-DD in the source): the build of master's
     last commit on or before that day;
  4. a llama.cpp thread without a date: the build of the merge commit ("(#N)" in its subject) of the pull request
     with its number, else of the latest merged one numbered below it (GitHub numbers a repository's issues, pull
     requests and discussions from one counter, so a discussion is no older than the pull request before it);
  5. a month the run named ("Mar 2025", "2024-06"): master on the 15th of that month; a year alone: on 1 January.
Runs with none of these (an LM Studio table, a submission without a build) get no build: planner takes the current
rules for them, which matter only for CUDA rows (none of those is left without one).

Run: python benchmarks/data/date_llamacpp_builds.py [path to a llama.cpp clone's git directory]
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import cache, lru_cache
from pathlib import Path

from planner.engines.common import release_tuple
from planner.engines.ollama.releases import OLLAMA_OLDEST, ollama_llamacpp_build, ollama_release

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "benchmarks" / "data"
OUT = DATA / "llamacpp_builds.jsonl"
GIT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/.mirror/ngxson+llama.cpp/repo")
MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                      "dec"), start=1)}


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(GIT), *args], capture_output=True, text=True, check=True).stdout.strip()


@cache
def count(commit: str) -> int | None:
    try:
        return int(git("rev-list", "--count", commit))
    except subprocess.CalledProcessError:
        return None


@cache
def master_on(day: str) -> int:
    return count(git("rev-list", "-1", "--first-parent", f"--before={day}T23:59:59Z", "HEAD"))


@lru_cache(maxsize=1)
def merges() -> dict[int, str]:
    out = {}
    for line in git("log", "--first-parent", "--format=%H %s", "HEAD").splitlines():
        sha, _, subject = line.partition(" ")
        if (m := re.search(r"\(#(\d+)\)\s*$", subject)):
            out.setdefault(int(m[1]), sha)
    return out


def build_of(printed: str, source: str) -> tuple[int | None, str]:
    if (m := re.match(r"Ollama (\d+\.\d+\.\d+) \(", printed)) and release_tuple(m[1]) >= release_tuple(OLLAMA_OLDEST):
        return ollama_llamacpp_build(ollama_release(m[1])), (f"Ollama {m[1]} vendors it "
                                                             "(planner.engines.ollama.releases.OLLAMA_LLAMACPP_BUILDS)")
    if (m := re.search(r"build[ =:]*(\d{3,5})\b|\((\d{4,5})\)|\bb(\d{4,5})\b", printed)):
        return int(next(g for g in m.groups() if g)), "printed"
    for sha in re.findall(r"\b(?:commit|branch)\s+([0-9a-f]{7,40})\b", printed):
        if (b := count(sha)) is not None:
            return b, f"commit {sha}"
    if (m := re.search(r"\b(20\d\d-\d\d-\d\d)\b", source)):
        return master_on(m[1]), f"master on {m[1]}"
    if (m := re.search(r"llama\.cpp/(?:pull|issues|discussions)/(\d+)", source)):
        pr = max(n for n in merges() if n <= int(m[1]))
        return count(merges()[pr]), f"merge of PR #{pr}"
    if (m := re.search(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]* (20\d\d)\b", printed, re.I)):
        day = f"{m[2]}-{MONTHS[m[1].lower()]:02d}-15"
        return master_on(day), f"master on {day}"
    if (m := re.search(r"\b(20\d\d)-(\d\d)\b", printed)):
        return master_on(f"{m[1]}-{m[2]}-15"), f"master on {m[1]}-{m[2]}-15"
    if (m := re.search(r"\b(20\d\d)\b", printed)):
        return master_on(f"{m[1]}-01-01"), f"master on {m[1]}-01-01"
    return None, "none"


def main() -> None:
    seen, lines = set(), []
    for path in sorted(DATA.glob("published*.jsonl")):
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            key = (r["engine_printed"], r["source"])
            if r["engine"] != "llama.cpp" or key in seen:
                continue
            seen.add(key)
            build, how = build_of(*key)
            if build is not None:
                lines.append(json.dumps({"engine_printed": key[0], "source": key[1], "build": build, "from": how}))
    OUT.write_text("\n".join(lines) + "\n")
    print(f"{len(lines)} of {len(seen)} llama.cpp run groups dated -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
