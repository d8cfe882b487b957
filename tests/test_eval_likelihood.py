"""The log-likelihood choice and the generated answer of a tiny model taught to say "B"."""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import pytest
import torch

from pipelines.tasks.exams import ExamItem
from tests.training_support import session_dir, tiny_base
from training.evaluation.choices import parse_choice
from training.evaluation.exams import ANSWER_PREFIX, candidate_answers, exam_prompt
from training.evaluation.model import EvalModel

TRAINING_ITEMS = (
    ExamItem(
        "t1", "急性阑尾炎最典型的症状是", {"A": "恶心呕吐", "B": "转移性右下腹痛", "C": "发热"}, "B"
    ),
    ExamItem(
        "t2", "青霉素过敏性休克的首选药物是", {"A": "地塞米松", "B": "肾上腺素", "C": "异丙嗪"}, "B"
    ),
    ExamItem(
        "t3",
        "缺铁性贫血最可靠的诊断依据是",
        {"A": "血清铁降低", "B": "骨髓铁染色", "C": "总铁结合力"},
        "B",
    ),
)
HELD_OUT = ExamItem(
    "h1",
    "有机磷农药中毒时，能够恢复胆碱酯酶活性的药物是",
    {"A": "阿托品", "B": "碘解磷定", "C": "山莨菪碱"},
    "B",
)


@cache
def says_b() -> Path:
    """The tiny bootstrap model after 40 steps on exam prompts answered "答案：B"."""
    model = EvalModel(tiny_base())
    torch.manual_seed(0)
    sequences, starts = [], []
    for item in TRAINING_ITEMS:
        context = model.prompt_ids(exam_prompt(item, []))
        answer = model.tokenizer.encode(ANSWER_PREFIX + "B", add_special_tokens=False)
        sequences.append([*context, *answer, model.tokenizer.eos_token_id])
        starts.append(len(context))
    width = max(map(len, sequences))
    ids = torch.tensor([s + [model.tokenizer.pad_token_id] * (width - len(s)) for s in sequences])
    labels = ids.clone()
    for row, (sequence, start) in enumerate(zip(sequences, starts, strict=True)):
        labels[row, :start] = -100
        labels[row, len(sequence) :] = -100
    network = model.model.train()
    optimizer = torch.optim.AdamW(network.parameters(), lr=5e-3)
    for _ in range(40):
        loss = network(input_ids=ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    folder = session_dir() / "says-b"
    network.save_pretrained(folder)
    model.tokenizer.save_pretrained(folder)
    return folder


def test_the_likelihood_choice_picks_the_taught_letter() -> None:
    model = EvalModel(says_b())
    context = model.prompt_ids(exam_prompt(HELD_OUT, []), ANSWER_PREFIX)
    scores = model.continuation_logprobs(context, candidate_answers(HELD_OUT))
    assert max(zip(scores, "ABC", strict=True))[1] == "B"


def test_the_generated_answer_parses_to_the_taught_letter() -> None:
    model = EvalModel(says_b())
    (generated,) = model.answer([exam_prompt(HELD_OUT, [])], max_new_tokens=8)
    assert generated == "答案：B"
    assert parse_choice(generated, HELD_OUT.options) == "B"


def test_perplexity_is_the_models_own_loss_on_the_text() -> None:
    model = EvalModel(tiny_base())
    text = "急性阑尾炎最典型的症状是转移性右下腹痛。"
    result = model.perplexity([text], max_length=512)
    ids = torch.tensor([[*model.tokenizer.encode(text), model.tokenizer.eos_token_id]])
    with torch.no_grad():
        loss = model.model(input_ids=ids, labels=ids).loss
    assert result["documents"] == 1
    assert result["tokens"] == ids.shape[1] - 1
    assert result["perplexity"] == pytest.approx(math.exp(float(loss)), rel=1e-4)
