"""One evaluation run: every section for the model (and the model it is compared with),
written to ``DIR/eval.json``, ``DIR/eval.html`` and ``DIR/samples/*.jsonl``.

    exams ─────────┐
    held-out QA ───┼─► contamination check against OUT's training outputs
    diagnosis ─────┘
    for each model: exams (zero- and few-shot), QA answers, diagnoses, perplexity
    reward model: every QA answer scored; win/tie/loss of --model against --compare
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import torch

from pipelines.dedup.decontam import EvalItem
from pipelines.errors import MedloomError
from pipelines.tasks.exams import ExamItem
from schemas.registry import SFT_CONVERSATION
from training.config import PretrainConfig
from training.data import PRETRAIN_DIR, SFT_DIR, Messages, parquet_files, pretrain_texts, prompt_of
from training.evaluation.choices import parse_choice
from training.evaluation.contamination import DEFAULTS, contamination_report
from training.evaluation.diagnosis import match_diagnosis
from training.evaluation.exams import (
    ANSWER_PREFIX,
    ExamOutcome,
    ExamSet,
    accuracy_table,
    candidate_answers,
    draw_shots,
    exam_prompt,
    question_turn,
    read_exam_set,
)
from training.evaluation.model import EvalModel
from training.evaluation.page import render_page
from training.runtime import require_model_dir

EVAL_JSON = "eval.json"
EVAL_HTML = "eval.html"
SAMPLES = "samples"
# Tasks scored elsewhere: exams by their letters, diagnosis by string match.
NOT_OPEN_QA = ("exam", "diagnosis")


@dataclass
class EvalSettings:
    """What `medloom eval` evaluates and how (the command's flags, one to one)."""

    model: Path
    data: Path
    output: Path
    compare: Path | None = None
    reward_model: Path | None = None
    exams: list[Path] = field(default_factory=list)
    shot_pool: list[Path] = field(default_factory=list)
    shots: list[int] = field(default_factory=lambda: [0, 3])
    max_new_tokens: int = 64
    max_prompts: int = 64
    samples_written: int = 20
    tie_margin: float = 0.1
    heldout_fraction: float = PretrainConfig().heldout_fraction
    perplexity_window: int = 512
    batch_size: int = 8
    ngram: int = DEFAULTS.ngram
    overlap: float = DEFAULTS.overlap


@dataclass(frozen=True)
class HeldOut:
    """An SFT row asked again: its id, task, the prompt and the reference answer."""

    id: str
    task: str
    prompt: Messages
    reference: str


def heldout_rows(data: Path) -> tuple[list[HeldOut], list[HeldOut], str]:
    """(open QA prompts of the test split, diagnosis rows, which split the diagnoses are
    from: ``test``, or ``all`` when the test split has none)."""
    if not any((data / SFT_DIR).glob("*.parquet")):
        return [], [], "none"
    rows = [
        row
        for path in parquet_files(data / SFT_DIR, SFT_CONVERSATION)
        for row in pq.read_table(path, columns=["id", "messages", "task", "split"]).to_pylist()
    ]
    rows.sort(key=lambda row: row["id"])

    def held(row: dict[str, Any]) -> HeldOut:
        messages = row["messages"]
        prompt = prompt_of(messages)
        reference = messages[len(prompt)]["content"] if len(prompt) < len(messages) else ""
        return HeldOut(row["id"], row["task"], prompt, reference)

    test = [row for row in rows if row["split"] == "test"]
    qa = [held(row) for row in test if row["task"] not in NOT_OPEN_QA]
    diagnoses = [held(row) for row in test if row["task"] == "diagnosis"]
    split = "test"
    if not diagnoses:
        diagnoses = [held(row) for row in rows if row["task"] == "diagnosis"]
        split = "all" if diagnoses else "none"
    return qa, diagnoses, split


def _text(messages: Messages) -> str:
    return "\n".join(m["content"] for m in messages)


def _evaluation_items(
    exams: ExamSet, qa: list[HeldOut], diagnoses: list[HeldOut]
) -> list[EvalItem]:
    items = [EvalItem("exams", item.id, question_turn(item)) for item in exams.items]
    items += [EvalItem("qa_prompts", row.id, _text(row.prompt)) for row in qa]
    items += [EvalItem("diagnosis_prompts", row.id, _text(row.prompt)) for row in diagnoses]
    return items


def _exam_outcomes(
    model: EvalModel, items: list[ExamItem], pool: list[ExamItem], k: int, settings: EvalSettings
) -> list[ExamOutcome]:
    prompts = [exam_prompt(item, draw_shots(item, pool, k)) for item in items]
    generated = model.answer(prompts, settings.max_new_tokens)
    outcomes = []
    for item, prompt, text in zip(items, prompts, generated, strict=True):
        candidates = candidate_answers(item)
        scores = model.continuation_logprobs(model.prompt_ids(prompt, ANSWER_PREFIX), candidates)
        best = max(range(len(candidates)), key=lambda i: scores[i])
        outcomes.append(
            ExamOutcome(
                item, len(prompt) // 2, text, parse_choice(text, item.options), candidates[best]
            )
        )
    return outcomes


def _reward_summary(scores: list[float]) -> dict[str, Any]:
    if not scores:
        return {"answers": 0, "mean": None}
    ordered = sorted(scores)
    return {
        "answers": len(scores),
        "mean": sum(scores) / len(scores),
        "median": ordered[len(ordered) // 2],
        "min": ordered[0],
        "max": ordered[-1],
        "scores": scores,
    }


def compare_rewards(model: list[float], other: list[float], margin: float) -> dict[str, Any]:
    """Win/tie/loss of ``model`` against ``other`` on the same prompts: a tie when the
    rewards differ by at most ``margin``."""
    wins = sum(a - b > margin for a, b in zip(model, other, strict=True))
    losses = sum(b - a > margin for a, b in zip(model, other, strict=True))
    return {
        "prompts": len(model),
        "tie_margin": margin,
        "win": wins,
        "tie": len(model) - wins - losses,
        "loss": losses,
    }


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )


def _model_names(settings: EvalSettings) -> dict[str, Path]:
    """A short name for each model: its folder name, the parent's too when they clash."""
    paths = [settings.model] + ([settings.compare] if settings.compare else [])
    names = [p.resolve().name for p in paths]
    if len(set(names)) < len(names):
        names = [f"{p.resolve().parent.name}/{p.resolve().name}" for p in paths]
    if len(set(names)) < len(names):
        names = ["model", "compare"]
    return dict(zip(names, paths, strict=True))


def run_eval(
    settings: EvalSettings, announce: Callable[[str], None] = lambda line: None
) -> dict[str, Any]:
    """Evaluate, write the results to ``settings.output`` and return eval.json's content."""
    started = time.perf_counter()
    models = _model_names(settings)
    for path in models.values():
        require_model_dir(path)
    if settings.reward_model is not None:
        require_model_dir(settings.reward_model, "reward model")
    if not settings.data.is_dir():
        raise MedloomError(f"output folder not found: {settings.data}")
    if any(k < 0 for k in settings.shots):
        raise MedloomError(f"--shots: expected counts of 0 or more, got {settings.shots}")

    exams = read_exam_set(settings.exams)
    pool = read_exam_set(settings.shot_pool).items if settings.shot_pool else exams.items
    qa, diagnoses, diagnosis_split = heldout_rows(settings.data)
    qa = qa[: settings.max_prompts]
    diagnoses = diagnoses[: settings.max_prompts]
    announce(
        f"{len(exams.items)} exam items ({len(exams.skipped)} skipped), {len(qa)} held-out "
        f"prompts, {len(diagnoses)} diagnosis records"
    )
    announce("contamination check against the training outputs")
    contamination = contamination_report(
        _evaluation_items(exams, qa, diagnoses), settings.data, settings.ngram, settings.overlap
    )

    results: dict[str, Any] = {}
    answers: dict[str, list[str]] = {}
    samples = settings.output / SAMPLES
    for name, path in models.items():
        announce(f"evaluating {name} ({path})")
        model = EvalModel(path, settings.batch_size)
        section: dict[str, Any] = {"path": str(path)}
        exam_rows: list[dict[str, Any]] = []
        section["exams"] = {}
        for k in settings.shots:
            outcomes = _exam_outcomes(model, exams.items, pool, k, settings)
            section["exams"][f"{k}-shot"] = accuracy_table(outcomes)
            exam_rows += [
                {
                    "model": name,
                    "id": o.item.id,
                    "shots": o.shots,
                    "answer": o.item.answer,
                    "generated": o.generated,
                    "parsed": o.parsed,
                    "by_likelihood": o.by_likelihood,
                }
                for o in outcomes
            ]
        _write_jsonl(samples / f"exams.{_file_safe(name)}.jsonl", exam_rows)

        answers[name] = model.answer([row.prompt for row in qa], settings.max_new_tokens)
        section["qa"] = {"prompts": len(qa)}

        diagnosed = model.answer([row.prompt for row in diagnoses], settings.max_new_tokens)
        matches = [
            (row, text, match_diagnosis(row.reference, text))
            for row, text in zip(diagnoses, diagnosed, strict=True)
        ]
        matched = sum(m.matched for _, _, m in matches)
        section["diagnosis"] = {
            "records": len(matches),
            "split": diagnosis_split,
            "matched": matched,
            "accuracy": matched / len(matches) if matches else None,
        }
        for outcome, flag in (("matched", True), ("missed", False)):
            _write_jsonl(
                samples / f"diagnosis_{outcome}.{_file_safe(name)}.jsonl",
                [
                    {
                        "id": row.id,
                        "reference": m.reference,
                        "answer": text,
                        "how": m.how,
                    }
                    for row, text, m in matches
                    if m.matched is flag
                ][: settings.samples_written],
            )
        section["perplexity"] = _perplexity(model, settings)
        results[name] = section
        del model
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    comparison = None
    if settings.reward_model is not None and qa:
        from training.reward import RewardScorer

        announce(f"scoring the answers with the reward model {settings.reward_model}")
        scorer = RewardScorer(settings.reward_model, settings.batch_size)
        rewards = {
            name: scorer.score(
                [
                    [*row.prompt, {"role": "assistant", "content": text}]
                    for row, text in zip(qa, texts, strict=True)
                ]
            )
            for name, texts in answers.items()
        }
        for name, scores in rewards.items():
            results[name]["qa"]["reward"] = _reward_summary(scores)
            results[name]["qa"]["reward_by_task"] = _by_task(qa, scores)
        if settings.compare is not None:
            first, second = list(models)
            comparison = {
                "model": first,
                "compare": second,
                **compare_rewards(rewards[first], rewards[second], settings.tie_margin),
            }
    else:
        rewards = {}
    _write_jsonl(
        samples / "qa_answers.jsonl",
        [
            {
                "id": row.id,
                "task": row.task,
                "prompt": row.prompt,
                "answers": {
                    name: {"content": texts[i], "reward": rewards[name][i] if rewards else None}
                    for name, texts in answers.items()
                },
            }
            for i, row in enumerate(qa[: settings.samples_written])
        ],
    )

    report = {
        "data": str(settings.data.resolve()),
        "settings": {
            "shots": settings.shots,
            "shot_pool": [str(p) for p in settings.shot_pool] or "the other items of the exams",
            "max_new_tokens": settings.max_new_tokens,
            "decoding": "greedy",
            "max_prompts": settings.max_prompts,
            "tie_margin": settings.tie_margin,
            "heldout_fraction": settings.heldout_fraction,
            "reward_model": str(settings.reward_model) if settings.reward_model else None,
        },
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "exam_files": [str(p) for p in settings.exams],
        "exam_items": len(exams.items),
        "skipped": {
            "exam_items": len(exams.skipped),
            "by_reason": exams.skipped_by_reason(),
            "lines": exams.skipped,
        },
        "heldout_prompts": {
            "qa": len(qa),
            "qa_tasks": _count_tasks(qa),
            "multi_turn": sum(len(row.prompt) > 1 for row in qa),
            "diagnosis": len(diagnoses),
            "diagnosis_split": diagnosis_split,
        },
        "contamination": contamination,
        "models": results,
        "comparison": comparison,
        "samples": sorted(str(p.relative_to(settings.output)) for p in samples.glob("*.jsonl")),
        "seconds": time.perf_counter() - started,
    }
    settings.output.mkdir(parents=True, exist_ok=True)
    (settings.output / EVAL_JSON).write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (settings.output / EVAL_HTML).write_text(render_page(report), encoding="utf-8")
    return report


def _perplexity(model: EvalModel, settings: EvalSettings) -> dict[str, Any]:
    if not any((settings.data / PRETRAIN_DIR).glob("*.parquet")):
        return {"documents": 0, "perplexity": None, "note": "no pretraining output"}
    _, heldout = pretrain_texts(settings.data, settings.heldout_fraction)
    if len(heldout) == 0:
        return {"documents": 0, "perplexity": None, "note": "no document is held out"}
    return model.perplexity(list(heldout["text"]), settings.perplexity_window)


def _count_tasks(rows: list[HeldOut]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.task] = counts.get(row.task, 0) + 1
    return dict(sorted(counts.items()))


def _by_task(rows: list[HeldOut], scores: list[float]) -> dict[str, float]:
    totals: dict[str, list[float]] = {}
    for row, score in zip(rows, scores, strict=True):
        totals.setdefault(row.task, []).append(score)
    return {task: sum(v) / len(v) for task, v in sorted(totals.items())}


def _file_safe(name: str) -> str:
    return name.replace("/", "_")
