"""The tiny model's tokenizer and chat template, and SFT's loss mask: every assistant turn
(with its end-of-turn token) is trained, nothing else."""

from __future__ import annotations

from pathlib import Path

from datasets import Dataset
from training_support import tiny_base

from training.bootstrap import CHAT_TEMPLATE
from training.config import SftConfig
from training.runtime import load_tokenizer
from training.sft import build_trainer, ensure_training_template

CONVERSATION = [
    {"role": "system", "content": "你是一名耐心的全科医生。"},
    {"role": "user", "content": "最近总是失眠，凌晨三点就醒，怎么办？"},
    {"role": "assistant", "content": "失眠多久了？白天有没有犯困、心慌？"},
    {"role": "user", "content": "一个多月了，白天没精神。"},
    {
        "role": "assistant",
        "content": "建议固定起床时间，睡前不看手机，持续一个月不好转请到睡眠专科就诊。",
    },
]


def test_tokenizer_round_trips_chinese_medical_text() -> None:
    tokenizer = load_tokenizer(tiny_base())
    text = "血压152/94mmHg，WBC 8.6×10^9/L，阿司匹林100mg qd。"
    assert tokenizer.decode(tokenizer.encode(text)) == text


def test_chat_template_renders_chatml_turns() -> None:
    tokenizer = load_tokenizer(tiny_base())
    rendered = tokenizer.apply_chat_template(
        CONVERSATION[:2], tokenize=False, add_generation_prompt=True
    )
    assert rendered == (
        "<|im_start|>system\n你是一名耐心的全科医生。<|im_end|>\n"
        "<|im_start|>user\n最近总是失眠，凌晨三点就醒，怎么办？<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_sft_labels_cover_the_assistant_turns_only(tmp_path: Path) -> None:
    trainer = build_trainer(
        SftConfig(), Dataset.from_dict({"messages": [CONVERSATION]}), None, tiny_base(), tmp_path
    )
    batch = trainer.data_collator([trainer.train_dataset[0]])
    ids, labels = batch["input_ids"][0].tolist(), batch["labels"][0].tolist()
    runs: list[list[int]] = []
    for position, (token, label) in enumerate(zip(ids, labels, strict=True)):
        if label == -100:
            continue
        assert label == token
        if runs and labels[position - 1] != -100:
            runs[-1].append(token)
        else:
            runs.append([token])
    tokenizer = trainer.processing_class
    assert [tokenizer.decode(run) for run in runs] == [
        "失眠多久了？白天有没有犯困、心慌？<|im_end|>",
        "建议固定起床时间，睡前不看手机，持续一个月不好转请到睡眠专科就诊。<|im_end|>",
    ]


def test_a_template_without_generation_markers_is_replaced_by_ours() -> None:
    tokenizer = load_tokenizer(tiny_base())
    tokenizer.chat_template = (
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    )
    assert ensure_training_template(tokenizer) == "medloom"
    assert tokenizer.chat_template == CHAT_TEMPLATE


def test_a_template_with_generation_markers_is_kept() -> None:
    tokenizer = load_tokenizer(tiny_base())
    assert ensure_training_template(tokenizer) == "model"
    assert tokenizer.chat_template == CHAT_TEMPLATE
