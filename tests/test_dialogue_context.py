"""Token budgets: estimated or counted tokens, cuts only between turns."""

from __future__ import annotations

from pathlib import Path

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers

from pipelines.dialogues.context import (
    TOKENS_PER_MESSAGE,
    count_tokens,
    estimate_tokens,
    fit_to_budget,
    load_counter,
)
from pipelines.dialogues.records import Turn
from pipelines.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("高血压", 3),
        # Two CJK characters, then twelve others at four to a token.
        ("血压160/100mmHg", 5),
        # Full-width punctuation is not CJK: 4 + ceil(2 / 4).
        ("你好，医生。", 5),
        ("BP 160/100", 3),
        # A CJK extension B character (outside the BMP) is one token too.
        ("𠮷", 1),
    ],
)
def test_estimate_counts_cjk_characters_one_each_and_others_four_to_a_token(
    text: str, tokens: int
) -> None:
    assert estimate_tokens(text) == tokens


def test_each_message_costs_its_template_markers() -> None:
    turns = [("user", "高血压"), ("assistant", "低盐饮食")]

    assert count_tokens(turns, estimate_tokens) == 3 + 4 + 2 * TOKENS_PER_MESSAGE == 15


SYSTEM: Turn = ("system", "你是一名全科医生。")  # 9 tokens + 4
# Each round's cost (user + assistant, estimated, with the markers): 50, 46, 44, 39.
ROUNDS: list[list[Turn]] = [
    [
        ("user", "医生您好，我最近总是头晕乏力。"),
        ("assistant", "头晕乏力常见于贫血、低血压或睡眠不足，建议先查血常规和血压。"),
    ],
    [
        ("user", "血常规显示血红蛋白偏低。"),
        ("assistant", "血红蛋白偏低提示贫血，需要进一步查铁蛋白，明确是否缺铁。"),
    ],
    [
        ("user", "铁蛋白也低，怎么补铁？"),
        ("assistant", "可以口服硫酸亚铁，同时多吃红肉和动物肝脏，一个月后复查。"),
    ],
    [
        ("user", "补铁期间要注意什么？"),
        ("assistant", "避免与浓茶、咖啡同服，饭后服用可减少胃肠不适。"),
    ],
]
ANAEMIA = [SYSTEM] + [turn for r in ROUNDS for turn in r]


def sample(*rounds: int) -> list[Turn]:
    return [SYSTEM] + [turn for i in rounds for turn in ROUNDS[i]]


def test_the_costs_the_budgets_below_are_built_on() -> None:
    assert count_tokens([SYSTEM], estimate_tokens) == 13
    assert [count_tokens(r, estimate_tokens) for r in ROUNDS] == [50, 46, 44, 39]
    assert count_tokens(ANAEMIA, estimate_tokens) == 192


@pytest.mark.parametrize("split_long", [False, True])
def test_a_dialogue_within_budget_is_one_sample_as_it_is(split_long: bool) -> None:
    assert fit_to_budget(ANAEMIA, 192, estimate_tokens, split_long) == [ANAEMIA]


def test_a_long_dialogue_keeps_the_opening_rounds_that_fit() -> None:
    assert fit_to_budget(ANAEMIA, 109, estimate_tokens, False) == [sample(0, 1)]


def test_a_cut_never_skips_a_round_to_take_a_later_one() -> None:
    # Round 1 (46) does not fit in 108 - 63; round 2 (44) would, but it is not taken.
    assert fit_to_budget(ANAEMIA, 108, estimate_tokens, False) == [sample(0)]


def test_a_dialogue_whose_opening_round_does_not_fit_makes_no_sample() -> None:
    assert fit_to_budget(ANAEMIA, 62, estimate_tokens, True) == []


def test_split_long_makes_the_rest_into_samples_that_repeat_the_opening_round() -> None:
    # 13 + 50 leaves 46 of 109: one more round per sample, no room for history.
    assert fit_to_budget(ANAEMIA, 109, estimate_tokens, True) == [
        sample(0, 1),
        sample(0, 2),
        sample(0, 3),
    ]


def test_split_long_carries_the_rounds_just_before_as_history() -> None:
    # The second sample starts at round 3; round 2 fits before it as history, round 1 not.
    assert fit_to_budget(ANAEMIA, 160, estimate_tokens, True) == [
        sample(0, 1, 2),
        sample(0, 2, 3),
    ]


def test_split_long_continues_a_sample_with_the_rounds_after_it() -> None:
    assert fit_to_budget(ANAEMIA, 150, estimate_tokens, True) == [sample(0, 1), sample(0, 2, 3)]


def test_without_a_system_turn_the_opening_user_turn_leads_every_sample() -> None:
    body = ANAEMIA[1:]

    samples = fit_to_budget(body, 100, estimate_tokens, True)

    assert samples == [
        ROUNDS[0] + ROUNDS[1],
        ROUNDS[0] + ROUNDS[2],
        ROUNDS[0] + ROUNDS[3],
    ]


@pytest.mark.parametrize("split_long", [False, True])
def test_every_sample_fits_keeps_the_opening_and_ends_on_the_assistant(split_long: bool) -> None:
    for budget in range(63, 200):
        samples = fit_to_budget(ANAEMIA, budget, estimate_tokens, split_long)

        assert samples
        for turns in samples:
            assert count_tokens(turns, estimate_tokens) <= budget
            assert turns[:3] == sample(0)
            assert turns[-1][0] == "assistant"
            assert all(turn in ANAEMIA for turn in turns)


# A real tokenizer, trained here on a few sentences (nothing downloaded)

SENTENCES = [
    "高血压患者要低盐饮食。",
    "高血压患者要按时服药。",
    "糖尿病患者要控制饮食。",
    "糖尿病患者要监测血糖。",
    "高血压和糖尿病都是慢性病。",
]


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A BPE tokenizer.json whose template adds <s> and </s> around every text."""
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(
        vocab_size=36, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False
    )
    tokenizer.train_from_iterator(SENTENCES, trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 1), ("</s>", 2)]
    )
    folder = tmp_path_factory.mktemp("tokenizer")
    tokenizer.save(str(folder / "tokenizer.json"))
    return folder


def test_a_local_tokenizer_counts_its_tokens_without_special_tokens(tokenizer_dir: Path) -> None:
    count = load_counter(str(tokenizer_dir / "tokenizer.json"))

    # 高血压 | 患者要 | 低 | 盐 | 饮 | 食 | 。 — the template's <s> and </s> are not counted.
    assert count("高血压患者要低盐饮食。") == 7
    assert estimate_tokens("高血压患者要低盐饮食。") == 11


def test_a_tokenizer_folder_is_read_through_its_tokenizer_json(tokenizer_dir: Path) -> None:
    count = load_counter(str(tokenizer_dir))

    # 糖尿病 | 患者要 | 按 | 时 | 服 | 药 | 。
    assert count("糖尿病患者要按时服药。") == 7


def test_a_tokenizer_budget_fits_more_than_the_estimate(tokenizer_dir: Path) -> None:
    count = load_counter(str(tokenizer_dir))
    turns = [
        ("user", "高血压患者要低盐饮食。"),
        ("assistant", "糖尿病患者要按时服药。"),
    ] * 2

    assert count_tokens(turns, count) == 4 * (7 + TOKENS_PER_MESSAGE) == 44
    assert fit_to_budget(turns, 44, count, False) == [turns]
    assert fit_to_budget(turns, 44, estimate_tokens, False) == [turns[:2]]


def test_without_a_tokenizer_the_counter_is_the_estimate() -> None:
    assert load_counter(None) is estimate_tokens


def test_a_missing_tokenizer_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_counter(str(tmp_path))

    assert str(raised.value) == f"context.tokenizer: no tokenizer.json at {tmp_path}"
