"""The committed measurement records (profiles/measurements/*.jsonl), read and summarised per engine and component."""

from __future__ import annotations

import json
from pathlib import Path
from statistics import median

from ..paths import profiles_dir


def load_records(folder: str | Path | None = None) -> list[dict]:
    """Every record of every JSONL file under profiles/measurements/ (or `folder`), in file order."""
    folder = Path(folder) if folder is not None else profiles_dir() / "measurements"
    return [json.loads(line) for path in sorted(folder.glob("*.jsonl"))
            for line in path.read_text().splitlines() if line.strip()]


def engine_label(record: dict) -> str:
    """The runtime a record measured, with " on a GPU" for runs on a real device (CPU and fake-tensor runs of the
    same engine are kept apart from them)."""
    engine = record.get("engine", "reference model")
    if "cuda" in str(record.get("mode", "")) or str(record.get("device", "")).startswith("NVIDIA"):
        engine += " on a GPU"
    return engine


def summary(records: list[dict]) -> list[dict]:
    """One row per engine × component: how many records, how many within their tolerance (where the record says),
    the median and the worst |error| in percent."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        for key, err in r.get("error_pct", {}).items():
            groups.setdefault((engine_label(r), key.removesuffix("_bytes")), []).append(
                {"err": abs(err), "ok": r.get("within_tolerance", {}).get(key)})
    return [{"engine": engine, "component": comp, "records": len(rows),
             "within": sum(bool(x["ok"]) for x in rows) if all(x["ok"] is not None for x in rows) else None,
             "median_pct": median(x["err"] for x in rows), "worst_pct": max(x["err"] for x in rows)}
            for (engine, comp), rows in groups.items()]


def markdown(records: list[dict]) -> str:
    """summary() as a Markdown table."""
    lines = ["| engine | component | records | within tolerance | median abs. error | worst |",
             "| --- | --- | --- | --- | --- | --- |"]
    for row in summary(records):
        within = "—" if row["within"] is None else f"{row['within']}"
        lines.append(f"| {row['engine']} | {row['component']} | {row['records']} | {within} | "
                     f"{row['median_pct']:.2f} % | {row['worst_pct']:.2f} % |")
    return "\n".join(lines)
