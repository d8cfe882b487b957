"""The run manifest: inputs with checksums, config, versions, counts, and their audit.

For every source: records read = readable records + quarantined, and documents (the
pieces readable records were split into) = written + rejected by reason. A run whose
counts do not add up fails: some record was lost.
"""

from __future__ import annotations

import json
from collections import defaultdict
from importlib import metadata
from typing import Any

from pipelines.counting import ALL_SOURCES, LENGTH_EDGES
from pipelines.errors import AccountingError

LIBRARIES = (
    "medloom",
    "apache-beam",
    "pyarrow",
    "pandas",
    "datasets",
    "jieba",
    "opencc",
    "langdetect",
    "great-expectations",
    "python-stdnum",
)


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def source_counts(stats: dict[tuple[str, str], int], sources: list[str]) -> dict[str, Any]:
    """Per-source counts from the summed ``(source, metric)`` stats."""
    counts: dict[str, Any] = {}
    for source in sources:
        entry: dict[str, Any] = {
            "records_read": 0,
            "quarantined": 0,
            "quarantined_by_reason": {},
            "documents": 0,
            "written": 0,
            "rejected": {},
            "edits": {},
        }
        for (name, metric), n in sorted(stats.items()):
            if name != source:
                continue
            kind, _, rest = metric.partition("/")
            if kind == "quarantined":
                entry["quarantined"] += n
                entry["quarantined_by_reason"][rest] = n
            elif kind == "rejected":
                entry["rejected"][rest] = n
            elif kind == "edits":
                entry["edits"][rest] = n
            elif kind in ("records_read", "documents", "written"):
                entry[kind] = n
        counts[source] = entry
    return counts


def totals(counts: dict[str, Any]) -> dict[str, Any]:
    total: dict[str, Any] = {"records_read": 0, "quarantined": 0, "documents": 0, "written": 0}
    by_reason: dict[str, dict[str, int]] = defaultdict(dict)
    for entry in counts.values():
        for key in total:
            total[key] += entry[key]
        for group in ("quarantined_by_reason", "rejected", "edits"):
            for reason, n in entry[group].items():
                by_reason[group][reason] = by_reason[group].get(reason, 0) + n
    for group in ("quarantined_by_reason", "rejected", "edits"):
        total[group] = dict(sorted(by_reason[group].items()))
    return total


def histogram(stats: dict[tuple[str, str], int], name: str) -> dict[str, list[int]]:
    counts = [stats.get((ALL_SOURCES, f"{name}/{i}"), 0) for i in range(len(LENGTH_EDGES))]
    return {"edges": list(LENGTH_EDGES), "counts": counts}


def accounting_errors(counts: dict[str, Any]) -> list[str]:
    """One line per source whose counts do not add up; empty when all do."""
    errors = []
    for source, c in counts.items():
        readable = c["records_read"] - c["quarantined"]
        if readable < 0:
            errors.append(f"source {source!r}: more records quarantined than read")
        rejected = sum(c["rejected"].values())
        if c["documents"] != c["written"] + rejected:
            errors.append(
                f"source {source!r}: {c['documents']} documents but {c['written']} written"
                f" + {rejected} rejected"
            )
        if readable > 0 and c["documents"] < readable:
            errors.append(
                f"source {source!r}: {readable} readable records gave only"
                f" {c['documents']} documents"
            )
    return errors


def check_accounting(counts: dict[str, Any]) -> None:
    errors = accounting_errors(counts)
    if errors:
        raise AccountingError("counts do not add up: " + "; ".join(errors))


def dumps(manifest: dict[str, Any]) -> str:
    """The manifest as stable JSON text (sorted keys: same run, same bytes)."""
    return json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
