"""``report.html``: one self-contained page a person reads after a run.

Everything on it comes from the run manifest: counts, reasons, checksums, versions and
the validation verdict. No text of any document is read or shown, so the page can be
shared as freely as the manifest. Plots are PNGs drawn with matplotlib's Agg renderer
and embedded as base64, the CSS is inline, and nothing is fetched from elsewhere.
Plot labels are stage and reason names, kept ASCII because the default fonts have no
Chinese glyphs; tables, which the browser renders, show names as they are.

The page holds no clock time and the PNGs no timestamp, so the same manifest gives the
same bytes.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from pipelines.errors import MedloomError
from pipelines.manifest import accounting_errors

REPORT_NAME = "report.html"
COUNT_KEYS = ("records_read", "quarantined", "documents", "written")
# Inputs listed in full up to this many; the manifest keeps them all.
INPUTS_SHOWN = 50
SHA256_SHOWN = 12
# Stage labels under the waterfall turn when there are more of them than this.
ROTATE_LABELS_OVER = 8

KEPT_COLOUR = "#4c78a8"
WRITTEN_COLOUR = "#54a24b"
# Tableau-like colours, one per rejection reason, in sorted reason order.
REASON_COLOURS = (
    "#e45756",
    "#f58518",
    "#eeca3b",
    "#b279a2",
    "#ff9da6",
    "#9d755d",
    "#72b7b2",
    "#bab0ac",
    "#9467bd",
    "#8c564b",
    "#17becf",
    "#bcbd22",
)

CSS = """
body { font-family: -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK SC", "PingFang SC",
       "Microsoft YaHei", sans-serif; color: #222; margin: 0; background: #f6f7f9; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 48px; }
header { background: #1f2d3d; color: #fff; padding: 24px 32px; }
header h1 { margin: 0 0 4px; font-size: 24px; font-weight: 600; }
header .meta { margin: 0; color: #c8d1dc; font-size: 14px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 18px; }
.card { background: #2c3e50; border-radius: 6px; padding: 10px 16px; min-width: 110px; }
.card .value { font-size: 22px; font-weight: 600; }
.card .label { font-size: 12px; color: #c8d1dc; text-transform: uppercase; letter-spacing: .04em; }
section { background: #fff; border-radius: 6px; box-shadow: 0 1px 3px rgba(0,0,0,.08);
          margin-top: 20px; padding: 16px 24px 20px; }
h2 { font-size: 18px; margin: 0 0 12px; }
h3 { font-size: 15px; margin: 16px 0 8px; }
p.note { color: #555; font-size: 13px; margin: 8px 0 0; }
img { max-width: 100%; height: auto; display: block; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 5px 10px; border-bottom: 1px solid #e3e6ea; text-align: left;
         vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 600; border-top: 2px solid #c9ced6; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
.badge { display: inline-block; padding: 2px 8px; border-radius: 10px; font-size: 12px;
         font-weight: 600; color: #fff; }
.pass { background: #2e7d32; } .fail { background: #c62828; } .none { background: #78909c; }
.warning { color: #c62828; font-weight: 600; }
.tiles { display: flex; flex-wrap: wrap; gap: 8px 40px; }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr));
           gap: 0 20px; }
"""


def write_report(output_dir: str | Path, manifest: dict) -> Path:
    """Render ``output_dir/report.html`` from the run manifest and return its path."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        raise MedloomError(f"output folder not found: {output_dir}")
    path = output_dir / REPORT_NAME
    path.write_text(render_report(manifest), encoding="utf-8")
    return path


def render_report(manifest: dict[str, Any], extra: Sequence[str] = ()) -> str:
    """The report page for ``manifest``, as HTML text; ``extra`` sections follow the plots."""
    counts = {str(source): _source_counts(entry) for source, entry in _items(manifest, "counts")}
    totals = _source_counts(manifest.get("totals")) if "totals" in manifest else _sum(counts)
    name = str(manifest.get("name") or _mapping(manifest.get("config")).get("name") or "run")
    sections = [
        _drops_section(manifest, totals),
        _rejects_section(totals),
        _lengths_section(manifest),
        *extra,
        _sources_section(counts, totals),
        _inputs_section(manifest),
        _validation_section(manifest),
        _deid_section(manifest),
        _side_by_side(_outputs_section(manifest), _libraries_section(manifest)),
    ]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>medloom report: {_e(name)}</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body>",
            _header(manifest, name, totals),
            "<main>",
            *[s for s in sections if s],
            "</main>",
            "</body>",
            "</html>",
            "",
        ]
    )


# --- header -------------------------------------------------------------------------------


def _header(manifest: dict[str, Any], name: str, totals: dict[str, Any]) -> str:
    meta = [
        ("pipeline", manifest.get("pipeline")),
        ("dataset", manifest.get("dataset")),
        ("runner", manifest.get("runner")),
        ("medloom", manifest.get("medloom_version")),
    ]
    meta_line = " &middot; ".join(f"{k} <b>{_e(v)}</b>" for k, v in meta if v is not None)
    rejected = sum(totals["rejected"].values())
    cards = [
        ("records read", _n(totals["records_read"])),
        ("quarantined", _n(totals["quarantined"])),
        ("documents", _n(totals["documents"])),
        ("written", _n(totals["written"])),
        ("rejected", _n(rejected)),
        ("keep rate", _rate(totals["written"], totals["documents"])),
    ]
    validation = manifest.get("validation")
    if isinstance(validation, dict):
        cards.append(("validation", "passed" if validation.get("success") else "FAILED"))
    card_html = "".join(
        f'<div class="card"><div class="value">{_e(v)}</div><div class="label">{_e(k)}</div></div>'
        for k, v in cards
    )
    return (
        f'<header><h1>medloom run: {_e(name)}</h1><p class="meta">{meta_line}</p>'
        f'<div class="cards">{card_html}</div></header>'
    )


# --- plots --------------------------------------------------------------------------------


def _drops_section(manifest: dict[str, Any], totals: dict[str, Any]) -> str:
    documents = totals["documents"]
    if not documents:
        return _section("drops", "Where documents were dropped", "<p>No documents.</p>")
    rejected = totals["rejected"]
    stages = _stages(manifest, rejected)
    colours = _reason_colours(rejected)
    dropped = [{r: n for r, n in rejected.items() if _stage_of(r) == s and n} for s in stages]
    entering = [documents]
    for drops in dropped:
        entering.append(entering[-1] - sum(drops.values()))
    x = range(len(stages) + 1)
    labels = [*(_ascii(s) for s in stages), "written"]

    # Drops are often a few percent of the documents: the lower panel shows them on their
    # own scale, under the flow they were taken from.
    figure = Figure(figsize=(10, 5.4))
    flow, drops_ax = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    heights = [*entering[:-1], totals["written"]]
    flow.bar(x, heights, width=0.6, color=[KEPT_COLOUR] * len(stages) + [WRITTEN_COLOUR])
    for i, n in enumerate(heights):
        _label_bar(flow, i, n, f"{n:,}")
    flow.set_ylim(0, max(heights) * 1.15)
    flow.set_ylabel("documents entering")
    most = 0
    for i, drops in enumerate(dropped):
        bottom = 0
        for reason, n in sorted(drops.items()):
            drops_ax.bar(i, n, bottom=bottom, width=0.6, color=colours[reason])
            bottom += n
        if bottom:
            _label_bar(drops_ax, i, bottom, f"-{bottom:,}")
        most = max(most, bottom)
    drops_ax.set_ylim(0, max(most, 1) * 1.2)
    drops_ax.set_ylabel("documents dropped")
    drops_ax.set_xticks(x, labels)
    if len(labels) > ROTATE_LABELS_OVER:
        drops_ax.tick_params(axis="x", labelrotation=30)
        for label in drops_ax.get_xticklabels():
            label.set_horizontalalignment("right")
    for ax in (flow, drops_ax):
        _tidy(ax)
    handles = [_patch(colour, _ascii(reason)) for reason, colour in colours.items()]
    if handles:
        drops_ax.legend(
            handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False
        )
    note = (
        "Top: the documents entering each stage, and those written. Bottom: what each stage "
        "dropped, by stage/reason, on its own scale. A record cut into chunks counts as "
        "several documents."
    )
    quarantined = totals["quarantined"]
    if quarantined:
        note += (
            f" Not shown: {quarantined:,} unreadable {_plural(quarantined, 'record')} "
            "quarantined at read, before they became documents."
        )
    body = _image(figure, "Documents entering each stage and dropped by reason")
    return _section(
        "drops", "Where documents were dropped", body + f'<p class="note">{_e(note)}</p>'
    )


def _rejects_section(totals: dict[str, Any]) -> str:
    rejected = {r: n for r, n in totals["rejected"].items() if n}
    if not rejected:
        return _section("rejects", "Rejects by reason", "<p>Nothing was rejected.</p>")
    colours = _reason_colours(rejected)
    ordered = sorted(rejected.items(), key=lambda item: (-item[1], item[0]))
    figure = Figure(figsize=(10, 0.9 + 0.34 * len(ordered)))
    ax = figure.add_subplot()
    y = range(len(ordered))
    ax.barh(y, [n for _, n in ordered], color=[colours[r] for r, _ in ordered], height=0.6)
    ax.set_yticks(y, [_ascii(r) for r, _ in ordered])
    ax.invert_yaxis()
    for i, (_, n) in enumerate(ordered):
        _label_bar(ax, n, i, f"{n:,}", horizontal=True)
    ax.set_xlim(0, max(rejected.values()) * 1.12)
    ax.set_xlabel("documents rejected")
    _tidy(ax, grid="x")
    body = _image(figure, "Rejected documents by stage and reason")
    return _section("rejects", "Rejects by reason", body)


def _lengths_section(manifest: dict[str, Any]) -> str:
    histograms = _mapping(manifest.get("histograms"))
    series = [
        (label, _mapping(histograms.get(key)))
        for key, label in (("length_before", "before filters"), ("length_after", "written"))
        if isinstance(histograms.get(key), dict)
    ]
    series = [(label, h) for label, h in series if _histogram_ok(h)]
    if not series:
        return ""
    figure = Figure(figsize=(10, 3.8))
    same_edges = all(h["edges"] == series[0][1]["edges"] for _, h in series)
    groups = [series] if same_edges else [[s] for s in series]
    for i, group in enumerate(groups):
        ax = figure.add_subplot(1, len(groups), i + 1)
        edges, buckets = group[0][1]["edges"], len(group[0][1]["counts"])
        width = 0.8 / len(group)
        colours = ("#9ecae9", KEPT_COLOUR)
        for j, (label, h) in enumerate(group):
            x = [k + (j - (len(group) - 1) / 2) * width for k in range(buckets)]
            colour = colours[j % 2] if len(group) > 1 else KEPT_COLOUR
            ax.bar(x, h["counts"], width=width, color=colour, label=label)
        ax.set_xticks(range(buckets), _bucket_labels(edges, buckets))
        ax.tick_params(axis="x", labelsize=8)
        ax.set_xlabel("length in characters")
        ax.set_ylabel("documents")
        if len(group) == 1:
            ax.set_title(group[0][0], fontsize=10)
        else:
            ax.legend(frameon=False, fontsize=9)
        _tidy(ax)
    note = (
        "Buckets about double in width (a log scale): bucket a-b holds lengths from a up "
        "to but not including b; a label ending in + is open-ended."
    )
    body = _image(figure, "Document length before filters and as written")
    return _section("lengths", "Document length", body + f'<p class="note">{_e(note)}</p>')


# --- tables -------------------------------------------------------------------------------


def _sources_section(counts: dict[str, dict[str, Any]], totals: dict[str, Any]) -> str:
    if not counts:
        return ""
    head = ["source", "records read", "quarantined", "documents", "written", "rejected"]
    rows: list[Any] = [[_e(source), *_source_cells(c)] for source, c in counts.items()]
    rows.append(("total", ["all sources", *_source_cells(totals)]))
    parts = [f'<div class="scroll">{_table([*head, "keep rate"], rows, numeric_from=1)}</div>']
    parts.append('<p class="note">Keep rate = written / documents.</p>')
    errors = accounting_errors(counts)
    if errors:
        lines = "".join(f"<li>{_e(e)}</li>" for e in errors)
        parts.append(f'<p class="warning">Counts do not add up:</p><ul>{lines}</ul>')

    # Reasons run down and sources across: there are more reasons than sources, as a rule.
    reasons = sorted({r for c in [*counts.values(), totals] for r in c["rejected"]})
    if reasons:
        columns = [*counts.values(), totals]
        by_reason = [
            [f"<code>{_e(r)}</code>", *(_n(c["rejected"].get(r)) for c in columns)] for r in reasons
        ]
        matrix = _table(["stage/reason", *counts, "all sources"], by_reason, numeric_from=1)
        parts.append(f'<h3>Rejected documents by reason</h3><div class="scroll">{matrix}</div>')
    tiles = []
    for key, title in (("quarantined_by_reason", "Quarantined records"), ("edits", "Edits")):
        if totals[key]:
            per_reason = [[_e(reason), _n(totals[key][reason])] for reason in sorted(totals[key])]
            tiles.append(f"<h3>{title}</h3>" + _table(["reason", "count"], per_reason, 1))
    parts.append(_tiles(tiles))
    return _section("sources", "Sources", "".join(parts))


def _source_cells(c: dict[str, Any]) -> list[str]:
    rejected = sum(c["rejected"].values())
    return [*(_n(c[k]) for k in COUNT_KEYS), _n(rejected), _e(_rate(c["written"], c["documents"]))]


def _inputs_section(manifest: dict[str, Any]) -> str:
    inputs = [i for i in _list(manifest.get("inputs")) if isinstance(i, dict)]
    if not inputs:
        return ""
    rows = [
        [
            _e(i.get("source", "")),
            f"<code>{_e(i.get('path', ''))}</code>",
            _n(i.get("bytes")),
            _n(i.get("records")),
            _n(i.get("quarantined")),
            f"<code>{_e(str(i.get('sha256', ''))[:SHA256_SHOWN])}</code>",
        ]
        for i in inputs[:INPUTS_SHOWN]
    ]
    head = ["source", "path", "bytes", "records", "quarantined", "sha256"]
    body = f'<div class="scroll">{_table(head, rows, numeric_from=2, numeric_to=5)}</div>'
    if len(inputs) > INPUTS_SHOWN:
        more = len(inputs) - INPUTS_SHOWN
        body += f'<p class="note">and {more:,} more files: see manifest.json.</p>'
    total_bytes = sum(_count(i.get("bytes")) for i in inputs)
    body += (
        f'<p class="note">{len(inputs):,} {_plural(len(inputs), "file")}, '
        f"{total_bytes:,} bytes; sha256 shows the first {SHA256_SHOWN} hex digits.</p>"
    )
    return _section("inputs", "Inputs", body)


def _validation_section(manifest: dict[str, Any]) -> str:
    validation = manifest.get("validation")
    if not isinstance(validation, dict):
        body = '<p><span class="badge none">not run</span> No validation in this manifest.</p>'
        return _section("validation", "Validation", body)
    results = [r for r in _list(validation.get("results")) if isinstance(r, dict)]
    verdict = (
        '<span class="badge pass">passed</span>'
        if validation.get("success")
        else '<span class="badge fail">FAILED</span>'
    )
    failed = [r for r in results if not r.get("success")]
    files = {r.get("file") for r in results if str(r.get("file", "")).endswith(".parquet")}
    parts = [
        f"<p>{verdict} {len(results) - len(failed):,} of {len(results):,} expectations met "
        f"on {len(files):,} {_plural(len(files), 'file')}.</p>"
    ]
    grouped: dict[tuple[str, str], list[bool]] = {}
    for r in results:
        key = (str(r.get("expectation", "")), str(r.get("column") or ""))
        grouped.setdefault(key, []).append(bool(r.get("success")))
    rows = [
        [
            _badge(all(outcomes)),
            f"<code>{_e(expectation)}</code>",
            _e(column),
            f"{sum(outcomes):,} of {len(outcomes):,}",
        ]
        for (expectation, column), outcomes in grouped.items()
    ]
    parts.append(_table(["", "expectation", "column", "passed"], rows, 3))
    if failed:
        rows = [
            [
                f"<code>{_e(r.get('expectation', ''))}</code>",
                _e(r.get("column") or ""),
                f"<code>{_e(r.get('file', ''))}</code>",
                _e(r.get("observed", "")),
            ]
            for r in failed
        ]
        parts.append("<h3>Failed expectations</h3>")
        parts.append(_table(["expectation", "column", "file", "observed"], rows))
    return _section("validation", "Validation", "".join(parts))


def _deid_section(manifest: dict[str, Any]) -> str:
    deid = _mapping(manifest.get("deid"))
    categories = _mapping(deid.get("categories"))
    gate = _mapping(deid.get("leak_gate"))
    if not categories and not gate:
        return ""
    tiles = []
    if categories:
        ordered = sorted(categories.items(), key=lambda item: (-_count(item[1]), str(item[0])))
        rows = [[_e(category), _n(n)] for category, n in ordered]
        tiles.append(
            "<h3>Identifiers replaced, by category</h3>" + _table(["category", "count"], rows, 1)
        )
    if gate:
        rows = [[_e(outcome), _n(n)] for outcome, n in gate.items()]
        tiles.append("<h3>Leak gate</h3>" + _table(["outcome", "documents"], rows, 1))
    note = '<p class="note">Counts only: no identifier or surrogate is kept here.</p>'
    return _section("deid", "De-identification", _tiles(tiles) + note)


def _outputs_section(manifest: dict[str, Any]) -> str:
    rows = [
        [
            _e(dataset),
            _e(output.get("schema", "")),
            _e(output.get("schema_version", "")),
            _n(len(_list(output.get("files")))),
            _n(output.get("rows")),
        ]
        for dataset, output in _items(manifest, "outputs")
        if isinstance(output, dict)
    ]
    if not rows:
        return ""
    table = _table(["dataset", "schema", "version", "files", "rows"], rows, numeric_from=3)
    return _section("outputs", "Outputs", table)


def _libraries_section(manifest: dict[str, Any]) -> str:
    rows = [[_e(name), _e(version)] for name, version in _items(manifest, "libraries")]
    if not rows:
        return ""
    return _section("libraries", "Library versions", _table(["library", "version"], rows))


# --- manifest access: every key optional, every value possibly malformed ------------------


def _source_counts(entry: Any) -> dict[str, Any]:
    entry = _mapping(entry)
    counts: dict[str, Any] = {k: _count(entry.get(k)) for k in COUNT_KEYS}
    for key in ("rejected", "quarantined_by_reason", "edits"):
        counts[key] = {str(r): _count(n) for r, n in _mapping(entry.get(key)).items()}
    return counts


def _sum(counts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    total = _source_counts({})
    for c in counts.values():
        for k in COUNT_KEYS:
            total[k] += c[k]
        for key in ("rejected", "quarantined_by_reason", "edits"):
            for r, n in c[key].items():
                total[key][r] = total[key].get(r, 0) + n
    return total


def _stages(manifest: dict[str, Any], rejected: dict[str, int]) -> list[str]:
    """The manifest's stages, then any stage that rejected something but is not listed."""
    stages = [str(s) for s in _list(manifest.get("stages"))]
    unlisted = sorted({_stage_of(r) for r in rejected} - set(stages))
    if "write" in stages:
        at = stages.index("write")
        return stages[:at] + unlisted + stages[at:]
    return stages + unlisted


def _stage_of(reason: str) -> str:
    stage, sep, _ = reason.partition("/")
    return stage if sep else "unattributed"


def _histogram_ok(h: dict[str, Any]) -> bool:
    edges, counts = _list(h.get("edges")), _list(h.get("counts"))
    numbers = all(isinstance(v, int | float) for v in [*edges, *counts])
    return numbers and bool(counts) and len(edges) in (len(counts), len(counts) + 1)


def _bucket_labels(edges: list[float], buckets: int) -> list[str]:
    labels = []
    for i in range(buckets):
        if i + 1 < len(edges):
            labels.append(f"{_compact(edges[i])}-{_compact(edges[i + 1])}")
        else:
            labels.append(f"{_compact(edges[i])}+")
    return labels


def _items(manifest: dict[str, Any], key: str) -> Iterable[tuple[Any, Any]]:
    return _mapping(manifest.get(key)).items()


def _mapping(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


# --- rendering helpers --------------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _n(value: Any) -> str:
    return f"{_count(value):,}"


def _rate(kept: int, total: int) -> str:
    return f"{100.0 * kept / total:.1f}%" if total else "n/a"


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


def _compact(value: float) -> str:
    if value >= 1000 and value % 1000 == 0:
        return f"{int(value) // 1000}k"
    return f"{value:g}"


def _ascii(label: str) -> str:
    """A plot label the default font can draw: non-ASCII characters as escapes."""
    return label.encode("ascii", "backslashreplace").decode("ascii")


def _badge(passed: bool) -> str:
    return (
        '<span class="badge pass">pass</span>' if passed else '<span class="badge fail">fail</span>'
    )


def _tiles(parts: list[str]) -> str:
    return '<div class="tiles">' + "".join(f"<div>{p}</div>" for p in parts) + "</div>"


def _side_by_side(*sections: str) -> str:
    shown = [s for s in sections if s]
    return '<div class="columns">' + "".join(shown) + "</div>" if shown else ""


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{_e(title)}</h2>{body}</section>'


def _table(
    head: Sequence[str],
    rows: Sequence[list[str] | tuple[str, list[str]]],
    numeric_from: int | None = None,
    numeric_to: int | None = None,
) -> str:
    """An HTML table; cells are already escaped. A row may carry a CSS class: (class, cells)."""

    def numeric(i: int) -> bool:
        last = len(head) - 1 if numeric_to is None else numeric_to
        return numeric_from is not None and numeric_from <= i <= last

    def cell(tag: str, i: int, value: str) -> str:
        css = ' class="num"' if numeric(i) else ""
        return f"<{tag}{css}>{value}</{tag}>"

    header = "".join(cell("th", i, _e(h)) for i, h in enumerate(head))
    body = []
    for row in rows:
        css, cells = row if isinstance(row, tuple) else ("", row)
        attr = f' class="{css}"' if css else ""
        body.append(
            f"<tr{attr}>" + "".join(cell("td", i, v) for i, v in enumerate(cells)) + "</tr>"
        )
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _reason_colours(rejected: dict[str, int]) -> dict[str, str]:
    """One colour per reason, stable for a given set of reasons."""
    return {r: REASON_COLOURS[i % len(REASON_COLOURS)] for i, r in enumerate(sorted(rejected))}


def _patch(colour: str, label: str) -> Any:
    from matplotlib.patches import Patch

    return Patch(facecolor=colour, label=label)


def _label_bar(ax: Any, x: float, y: float, text: str, horizontal: bool = False) -> None:
    """A small count just past the end of a bar."""
    offset, ha, va = ((3, 0), "left", "center") if horizontal else ((0, 2), "center", "bottom")
    ax.annotate(text, (x, y), xytext=offset, textcoords="offset points", ha=ha, va=va, fontsize=8)


def _tidy(ax: Any, grid: str = "y") -> None:
    """Light grid on the count axis, whose ticks are whole documents; no top or right frame."""
    ax.spines[["top", "right"]].set_visible(False)
    (ax.yaxis if grid == "y" else ax.xaxis).set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, axis=grid, color="#e3e6ea")
    ax.set_axisbelow(True)


def _image(figure: Figure, alt: str) -> str:
    buffer = io.BytesIO()
    figure.tight_layout()
    # No Software/date metadata: the same manifest renders to the same bytes.
    figure.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{encoded}">'
