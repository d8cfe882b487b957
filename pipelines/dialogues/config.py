"""The dialogue pipeline's config: YAML maps onto these dataclasses one to one.

A dialogue source is a corpus source (path, format, encoding, priority) plus the layout of
its conversations. ``layout: auto`` decides per record from its keys, so one file may mix
CMtMedQA's dialogues with its ``{instruct, output}`` safety items.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipelines.config import (
    OutputConfig,
    SourceConfig,
    from_dict,
    load_yaml_mapping,
    resolve_path,
)
from pipelines.dedup.config import DecontamConfig, NearDedupConfig
from pipelines.deid.config import DeidConfig
from pipelines.errors import ConfigError
from pipelines.normalize import NormalizeConfig

Layout = Literal[
    "auto",
    "alpaca",
    "sharegpt",
    "openai",
    "disc",
    "qa",
    "consultation",
    "toyhom_txt",
    # Instruction data built from other material by pipelines/tasks (issue 8's builders).
    "record_tasks",
    "exam",
    "kg_triples",
]
TASK_LAYOUTS = ("record_tasks", "exam", "kg_triples")

DEFAULT_SPEAKERS = {
    "医生": "assistant",
    "大夫": "assistant",
    "Doctor": "assistant",
    "病人": "user",
    "患者": "user",
    "用户": "user",
    "Patient": "user",
}
# The form a consultation site asks a patient to fill in before the conversation.
DEFAULT_FORM_FIELDS = [
    "疾病",
    "病情描述",
    "希望获得的帮助",
    "想得到怎样的帮助",
    "患病多久",
    "过敏史",
    "既往病史",
    "用药情况",
    "身高体重",
    "怀孕情况",
    "曾经治疗情况和效果",
    "主诉",
]


@dataclass
class QaMapping:
    """Which fields of a record hold the question, the answer and the department.

    Several question fields are joined with a line break; one that another already
    contains (a title that repeats the start of the question) is left out.
    """

    question: list[str] = field(default_factory=lambda: ["question"])
    answer: str = "answer"
    department: str | None = None
    id: str | None = None


@dataclass
class DialogueSourceConfig(SourceConfig):
    layout: Layout = "auto"
    qa: QaMapping = field(default_factory=QaMapping)
    # Speaker markers at the start of a line (医生：, Patient:) and the role each one is.
    speakers: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SPEAKERS))
    form_fields: list[str] = field(default_factory=lambda: list(DEFAULT_FORM_FIELDS))
    # A line matching this expression starts a new conversation in a text file (id=12).
    dialogue_separator: str | None = None
    # The department of every record that does not name one (a file of internal medicine).
    department: str | None = None
    # Lines of a text export that are headings, not conversation (MedDialog's "Dialogue").
    skip_lines: str | None = r"^(Description|Dialogue|Doctor faculty)$"
    # The options of a task builder (layouts record_tasks, exam, kg_triples), which reads
    # them into its own config: templates, sections, relations.
    tasks: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        bad = {m: r for m, r in self.speakers.items() if r not in ("user", "assistant")}
        if bad:
            marker, role = next(iter(bad.items()))
            raise ConfigError(
                f"source {self.name!r}: speakers.{marker}: expected user or assistant, got {role!r}"
            )
        for key in ("dialogue_separator", "skip_lines"):
            pattern = getattr(self, key)
            try:
                re.compile(pattern or "")
            except re.error as exc:
                raise ConfigError(
                    f"source {self.name!r}: {key} is not a valid expression: {exc}"
                ) from None


# Sign-offs and platform boilerplate that say nothing about the patient (regular
# expressions, each removing the sentence it matches).
DEFAULT_BOILERPLATE = [
    r"祝[您你].{0,8}(健康|康复|愉快|顺利)",
    r"以上是对.{0,40}的建议",
    r"(仅供参考|僅供參考)",
    r"(希望|期望)(我的)?(回答|解答|解释|建议)对[您你].{0,6}(帮助|有所帮助)",
    r"感谢[您你]?的?(进行)?(咨询|信任|提问)",
    r"(关注|添加|加)(我的)?(微信|公众号|微博)",
    r"(扫码|扫描二维码)",
    r"(点击|进入).{0,6}(链接|主页)",
]
# Huatuo's answer template: these labels are dropped and the sections kept.
DEFAULT_TEMPLATE_LABELS = [
    "问题分析",
    "意见建议",
    "治疗方案",
    "分析",
    "建议",
    "指导意见",
    "病情分析",
]


@dataclass
class CleaningConfig:
    strip_boilerplate: bool = True
    boilerplate: list[str] = field(default_factory=lambda: list(DEFAULT_BOILERPLATE))
    strip_urls: bool = True
    strip_answer_templates: bool = False
    template_labels: list[str] = field(default_factory=lambda: list(DEFAULT_TEMPLATE_LABELS))
    # An assistant turn is substantive with at least this many characters once greetings
    # and sign-offs are gone; a dialogue needs one such reply.
    min_reply_chars: int = 10
    # A turn longer than this is a paste or a scrape error, not a conversation.
    max_turn_chars: int = 20000

    def __post_init__(self) -> None:
        for pattern in self.boilerplate:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ConfigError(
                    f"cleaning.boilerplate: bad expression {pattern!r}: {exc}"
                ) from None


@dataclass
class DialogueDedupConfig:
    exact: bool = True
    near: NearDedupConfig = field(default_factory=NearDedupConfig)
    # Dedup again on the opening user turn alone: the same question asked twice.
    first_turn: bool = True
    # Shorter opening turns (你好, 医生在吗) are not questions worth comparing.
    first_turn_min_chars: int = 12


@dataclass
class ContextConfig:
    """A sample fits ``max_tokens`` (ChiMed-GPT trained at 4,096).

    ``tokenizer`` is a local ``tokenizer.json`` or a folder holding one; without it,
    tokens are estimated (``pipelines.dialogues.context.estimate_tokens``).
    """

    max_tokens: int = 4096
    tokenizer: str | None = None
    # Split a dialogue that does not fit into several samples, each with its history;
    # otherwise keep the opening rounds that fit.
    split_long: bool = False

    def __post_init__(self) -> None:
        if self.max_tokens < 16:
            raise ConfigError(f"context.max_tokens: expected at least 16, got {self.max_tokens}")


@dataclass
class SplitConfig:
    """Shares of validation and test; the rest is train. Decided by a hash of the cluster."""

    validation: float = 0.05
    test: float = 0.05
    seed: str = "medloom"

    def __post_init__(self) -> None:
        if self.validation < 0 or self.test < 0 or self.validation + self.test >= 1:
            raise ConfigError(
                "splits: validation and test must be shares >= 0 that sum to less than 1"
            )


@dataclass
class DialogueOutputConfig(OutputConfig):
    # LLaMA-Factory's ShareGPT and alpaca JSON with dataset_info.json.
    llamafactory: bool = True


@dataclass
class DialogueConfig:
    """The dialogue pipeline: conversations in, an SFT dataset out."""

    sources: list[DialogueSourceConfig]
    pipeline: Literal["dialogues"] = "dialogues"
    name: str = "dialogues"
    # Prepended to every sample as a system turn when set.
    system_prompt: str | None = None
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    deid: DeidConfig = field(default_factory=DeidConfig)
    cleaning: CleaningConfig = field(default_factory=CleaningConfig)
    dedup: DialogueDedupConfig = field(default_factory=DialogueDedupConfig)
    decontam: DecontamConfig = field(default_factory=DecontamConfig)
    context: ContextConfig = field(default_factory=ContextConfig)
    splits: SplitConfig = field(default_factory=SplitConfig)
    output: DialogueOutputConfig = field(default_factory=DialogueOutputConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_dialogue_config(path: str | Path) -> DialogueConfig:
    """Read and validate a dialogue pipeline YAML; relative paths resolve against it."""
    path = Path(path)
    raw = load_yaml_mapping(path)
    config = from_dict(DialogueConfig, raw, where=str(path))
    base = path.parent
    for source in config.sources:
        source.path = resolve_path(source.path, base)
    for eval_set in config.decontam.eval_sets:
        eval_set.paths = [resolve_path(p, base) for p in eval_set.paths]
    if config.context.tokenizer:
        config.context.tokenizer = resolve_path(config.context.tokenizer, base)
    return config
