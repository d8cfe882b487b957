"""``sft_report.html``: the corpus report's page for a dialogue run, plus what SFT needs.

On top of the counts, reasons, sources, validation and de-identification sections that
every medloom report has, it shows the turn-count and token-count histograms of the
written samples, the samples per department and per split, and what decontamination
removed. Like the corpus report it reads only the manifest, never a dialogue.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from pipelines.errors import MedloomError
from pipelines.report import (
    KEPT_COLOUR,
    _bucket_labels,
    _e,
    _histogram_ok,
    _image,
    _mapping,
    _n,
    _section,
    _table,
    _tidy,
    render_report,
)

REPORT_NAME = "sft_report.html"
HISTOGRAMS = (("turns", "user and assistant messages"), ("tokens", "tokens"))


def write_sft_report(output_dir: str | Path, manifest: dict[str, Any]) -> Path:
    """Render ``output_dir/sft_report.html`` from the dialogue run's manifest."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        raise MedloomError(f"output folder not found: {output_dir}")
    path = output_dir / REPORT_NAME
    path.write_text(render_sft_report(manifest), encoding="utf-8")
    return path


def render_sft_report(manifest: dict[str, Any]) -> str:
    """The SFT report page for ``manifest``, as HTML text."""
    extra = [
        _histograms_section(manifest),
        _departments_section(manifest),
        _decontam_section(manifest),
    ]
    return render_report(manifest, [s for s in extra if s])


def _histograms_section(manifest: dict[str, Any]) -> str:
    histograms = _mapping(manifest.get("histograms"))
    shown = [
        (key, label, _mapping(histograms.get(key)))
        for key, label in HISTOGRAMS
        if _histogram_ok(_mapping(histograms.get(key)))
    ]
    if not shown:
        return ""
    figure = Figure(figsize=(10, 3.6))
    for i, (key, label, h) in enumerate(shown):
        ax = figure.add_subplot(1, len(shown), i + 1)
        buckets = len(h["counts"])
        ax.bar(range(buckets), h["counts"], width=0.8, color=KEPT_COLOUR)
        ax.set_xticks(range(buckets), _bucket_labels(h["edges"], buckets))
        ax.tick_params(axis="x", labelsize=8, labelrotation=45)
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("right")
        ax.set_xlabel(f"{label} per sample")
        ax.set_ylabel("samples")
        ax.set_title(key, fontsize=10)
        _tidy(ax)
    context = _mapping(manifest.get("context"))
    note = (
        f"Token budget {_n(context.get('max_tokens'))}; tokens counted by "
        f"{context.get('token_counter', 'n/a')}. Bucket a-b holds a up to but not including b."
    )
    body = _image(figure, "Turns and tokens per written sample")
    return _section("shape", "Sample shape", body + f'<p class="note">{_e(note)}</p>')


def _departments_section(manifest: dict[str, Any]) -> str:
    departments = _mapping(manifest.get("departments"))
    splits = _mapping(manifest.get("splits"))
    parts = []
    if departments:
        rows = [
            [_e(name), _n(n)]
            for name, n in sorted(departments.items(), key=lambda item: (-item[1], item[0]))
        ]
        parts.append("<h3>Samples per department</h3>" + _table(["department", "samples"], rows, 1))
    tasks = _mapping(manifest.get("tasks"))
    if tasks:
        rows = [[_e(name), _n(n)] for name, n in sorted(tasks.items())]
        parts.append("<h3>Samples per task</h3>" + _table(["task", "samples"], rows, 1))
    if splits:
        names = sorted({split for per_source in splits.values() for split in per_source})
        rows = [
            [_e(source), *(_n(_mapping(per_source).get(split)) for split in names)]
            for source, per_source in sorted(splits.items())
        ]
        parts.append("<h3>Samples per split</h3>" + _table(["source", *names], rows, 1))
    if not parts:
        return ""
    return _section("departments", "Departments, tasks and splits", "".join(parts))


def _decontam_section(manifest: dict[str, Any]) -> str:
    decontam = _mapping(manifest.get("decontam"))
    if not decontam.get("enabled"):
        return ""
    items = [[_e(name), _n(n)] for name, n in sorted(_mapping(decontam.get("eval_items")).items())]
    removed = [
        [_e(source), _e(set_item), _n(n)]
        for source, per_set in sorted(_mapping(decontam.get("removed")).items())
        for set_item, n in sorted(_mapping(per_set).items())
    ]
    body = "<h3>Evaluation items indexed</h3>" + _table(["evaluation set", "items"], items, 1)
    body += "<h3>Training samples removed</h3>" + (
        _table(["source", "evaluation set", "removed"], removed, 2)
        if removed
        else '<p class="note">None overlapped an evaluation item.</p>'
    )
    return _section("decontam", "Decontamination", body)
