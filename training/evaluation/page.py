"""``eval.html``: the results of `medloom eval` as tables and plots, on one page.

Built with the run report's helpers (``pipelines.report``: the CSS, sections, tables and
base64 PNGs), so it looks like the pipeline's reports and needs nothing from elsewhere.
Plot labels are escaped to ASCII as there (the default fonts have no Chinese glyphs); the
tables show subject names as they are.
"""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from pipelines.report import CSS, REASON_COLOURS, _ascii, _e, _image, _section, _table, _tidy

OUTCOME_COLOURS = {"win": "#54a24b", "tie": "#bab0ac", "loss": "#e45756"}


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _num(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _exams(report: dict[str, Any]) -> str:
    rows = []
    for name, model in report["models"].items():
        for shots, table in model["exams"].items():
            if not table.get("items"):
                continue
            rows.append(
                [
                    _e(name),
                    _e(shots),
                    str(table["items"]),
                    _pct(table["accuracy"]),
                    _pct(table["likelihood_accuracy"]),
                    str(table["unparsed"]),
                ]
            )
    if not rows:
        return _section("exams", "Exams", '<p class="note">No exam items were given.</p>')
    head = ["model", "prompt", "items", "accuracy (generated)", "accuracy (likelihood)", "unparsed"]
    body = _table(head, rows, numeric_from=2)
    for key, title in (("by_subject", "subject"), ("by_exam_type", "exam type")):
        detail = [
            [
                _e(name),
                _e(shots),
                _e(group),
                str(g["items"]),
                _pct(g["accuracy"]),
                _pct(g["likelihood_accuracy"]),
            ]
            for name, model in report["models"].items()
            for shots, table in model["exams"].items()
            for group, g in table.get(key, {}).items()
        ]
        body += f"<h3>By {title}</h3>" + _table(
            ["model", "prompt", title, "items", "generated", "likelihood"], detail, numeric_from=3
        )
    body += _subject_plot(report)
    skipped = report["skipped"]
    if skipped["exam_items"]:
        reasons = [[_e(r), str(n)] for r, n in skipped["by_reason"].items()]
        body += "<h3>Skipped items</h3>" + _table(["reason", "items"], reasons, numeric_from=1)
    return _section("exams", "Exams", body)


def _subject_plot(report: dict[str, Any]) -> str:
    bars = [
        (f"{name} {shots}", subject, g["accuracy"])
        for name, model in report["models"].items()
        for shots, table in model["exams"].items()
        for subject, g in table.get("by_subject", {}).items()
    ]
    if not bars:
        return ""
    series = list(dict.fromkeys(b[0] for b in bars))
    subjects = list(dict.fromkeys(b[1] for b in bars))
    figure = Figure(figsize=(7, 3.2))
    ax = figure.subplots()
    width = 0.8 / len(series)
    for i, label in enumerate(series):
        values = {s: a for lab, s, a in bars if lab == label}
        ax.bar(
            [j + i * width for j in range(len(subjects))],
            [values.get(s, 0.0) for s in subjects],
            width,
            label=_ascii(label),
            color=REASON_COLOURS[i % len(REASON_COLOURS)],
        )
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(subjects))])
    ax.set_xticklabels([_ascii(s) for s in subjects], fontsize=7)
    ax.set(ylim=(0, 1), ylabel="accuracy", title="Exam accuracy per subject (generated)")
    ax.legend(fontsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    return _image(figure, "exam accuracy per subject")


def _qa(report: dict[str, Any]) -> str:
    rows, series = [], []
    for name, model in report["models"].items():
        reward = model["qa"].get("reward")
        rows.append(
            [
                _e(name),
                str(model["qa"]["prompts"]),
                _num(reward and reward["mean"]),
                _num(reward and reward.get("median")),
            ]
        )
        if reward and reward.get("scores"):
            series.append((name, reward["scores"]))
    body = _table(["model", "prompts", "mean reward", "median reward"], rows, numeric_from=1)
    if series:
        figure = Figure(figsize=(6, 3))
        ax = figure.subplots()
        ax.hist([s for _, s in series], label=[_ascii(n) for n, _ in series], bins=12)
        ax.set(xlabel="reward", ylabel="answers", title="Reward of the answers")
        ax.legend(fontsize=8)
        _tidy(ax)
        body += _image(figure, "reward distributions")
    else:
        body += '<p class="note">No reward model was given: the answers are not scored.</p>'
    comparison = report.get("comparison")
    if comparison:
        counts = [comparison[k] for k in OUTCOME_COLOURS]
        body += "<h3>Win / tie / loss</h3>" + _table(
            ["model", "against", "win", "tie", "loss", "tie margin"],
            [
                [
                    _e(comparison["model"]),
                    _e(comparison["compare"]),
                    *map(str, counts),
                    _num(comparison["tie_margin"]),
                ]
            ],
            numeric_from=2,
        )
        figure = Figure(figsize=(5, 1.6))
        ax = figure.subplots()
        left = 0
        for (outcome, colour), n in zip(OUTCOME_COLOURS.items(), counts, strict=True):
            ax.barh([0], [n], left=left, color=colour, label=f"{outcome} {n}")
            left += n
        ax.set_yticks([])
        ax.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.25))
        ax.set_title(_ascii(f"{comparison['model']} vs {comparison['compare']}"), fontsize=9)
        body += _image(figure, "win tie loss")
    return _section("qa", "Open QA and consultations", body)


def _diagnosis_and_perplexity(report: dict[str, Any]) -> str:
    rows = [
        [
            _e(name),
            str(m["diagnosis"]["records"]),
            _e(m["diagnosis"]["split"]),
            _pct(m["diagnosis"]["accuracy"]),
            str(m["perplexity"].get("documents", 0)),
            _num(m["perplexity"].get("perplexity")),
        ]
        for name, m in report["models"].items()
    ]
    head = ["model", "records", "split", "diagnosis accuracy", "held-out docs", "perplexity"]
    return _section("records", "Diagnosis and perplexity", _table(head, rows, numeric_from=1))


def _contamination(report: dict[str, Any]) -> str:
    facts = report["contamination"]
    sets = list(facts["items"])
    rows = [
        [_e(output)]
        + (
            [str(o["items_overlapping"])] + [str(o["by_set"][s]) for s in sets]
            if o["present"]
            else ["absent"] + [""] * len(sets)
        )
        for output, o in facts["outputs"].items()
    ]
    note = (
        f'<p class="note">{sum(facts["items"].values())} evaluation items; an item overlaps a '
        f"training document holding {facts['overlap']:.0%} of its character "
        f"{facts['ngram']}-grams; {facts['too_short']} items are too short to check.</p>"
    )
    head = ["training output", "items overlapping", *sets]
    return _section("contamination", "Contamination", _table(head, rows, numeric_from=1) + note)


def render_page(report: dict[str, Any]) -> str:
    """The whole page for eval.json's content."""
    names = ", ".join(report["models"])
    body = "".join(
        [_exams(report), _qa(report), _diagnosis_and_perplexity(report), _contamination(report)]
    )
    return (
        '<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8">'
        f"<title>medloom eval: {_e(names)}</title><style>{CSS}</style></head><body>"
        f'<header><h1>medloom eval</h1><p class="meta">{_e(names)} on {_e(report["data"])}'
        f"</p></header><main>{body}</main></body></html>\n"
    )
