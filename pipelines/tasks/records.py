"""Medical records → clinical tasks: diagnosis, differential diagnosis, discharge summary,
next examinations.

A record is read into sections (主诉, 现病史, 既往史, 体格检查, 辅助检查, 诊断, 鉴别诊断,
治疗经过, 出院医嘱), from the fields of a structured record or from the headings of free
text (``主诉：...``, ``【现病史】``, ``二、既往史``). Lines before the first heading (the
header with 姓名, 住院号 ...) are never used. Each task shows the sections a clinician would
have at that point (``{case}``) and answers from the one it asks about; a record that lacks
a section a task needs gives a TaskSkip (``missing_section``), never an empty answer. The
pipeline de-identifies the samples like any dialogue.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.dialogues.config import DialogueSourceConfig
from pipelines.dialogues.records import ASSISTANT, USER, DialogueRecord, TaskSkip
from pipelines.errors import ConfigError
from pipelines.records import SourceRecord, Unreadable
from pipelines.tasks.config import RecordTasksOptions, source_folder, task_options
from pipelines.tasks.templates import TemplateSet, check_slots, load_templates, pick, render

# Slot → the headings that name it, the preferred first (出院诊断 over 入院诊断).
SECTIONS: dict[str, tuple[str, ...]] = {
    "chief_complaint": ("主诉",),
    "present_illness": ("现病史",),
    "past_history": ("既往史", "既往病史"),
    "physical_exam": ("体格检查", "入院查体", "查体"),
    "auxiliary_exam": ("辅助检查", "实验室及辅助检查", "实验室检查", "检查结果"),
    "diagnosis": ("出院诊断", "诊断", "入院诊断", "初步诊断"),
    "differential_diagnosis": ("鉴别诊断",),
    "treatment": ("治疗经过", "诊疗经过", "住院经过"),
    "discharge_advice": ("出院医嘱", "医嘱"),
}
# Headings that end a section but feed no task.
OTHER_HEADINGS = ("个人史", "婚育史", "月经史", "家族史", "入院情况", "出院情况", "专科检查")
LABELS = {slot: names[0] if slot != "diagnosis" else "诊断" for slot, names in SECTIONS.items()}

_HEADINGS = sorted(
    [name for names in SECTIONS.values() for name in names] + list(OTHER_HEADINGS),
    key=len,
    reverse=True,
)
_HEADING_LINE = re.compile(
    r"^\s*(?:[一二三四五六七八九十]+[、.．]|\d+[、.．])?\s*[【\[]?("
    + "|".join(_HEADINGS)
    + r")[】\]]?\s*(?:[:：]\s*(.*))?$"
)
# One examination of 辅助检查: its name, then a colon or 示/提示 and the finding.
_EXAMINATION = re.compile(
    r"^\s*(?:\d+[、.．)）]\s*)?([^：:，,。；;\d][^：:，,。；;]{1,19}?)\s*(?:[:：]|提示|显示|示)"
)


@dataclass(frozen=True)
class RecordTask:
    """What one task shows in ``{case}`` and the sections without which it makes no sample."""

    case: tuple[str, ...]
    needs: tuple[str, ...]
    derived: tuple[str, ...] = ()

    @property
    def slots(self) -> tuple[str, ...]:
        return ("case", *self.needs, *self.derived)


_HISTORY = ("chief_complaint", "present_illness", "past_history", "physical_exam")
TASKS: dict[str, RecordTask] = {
    "diagnosis": RecordTask(
        case=(*_HISTORY, "auxiliary_exam"),
        needs=("chief_complaint", "present_illness", "diagnosis"),
    ),
    "differential_diagnosis": RecordTask(
        case=(*_HISTORY, "auxiliary_exam"),
        needs=("chief_complaint", "present_illness", "diagnosis", "differential_diagnosis"),
    ),
    "discharge_summary": RecordTask(
        case=(
            "chief_complaint",
            "present_illness",
            "physical_exam",
            "auxiliary_exam",
            "diagnosis",
            "treatment",
        ),
        needs=("chief_complaint", "present_illness", "diagnosis", "treatment", "discharge_advice"),
    ),
    "next_examinations": RecordTask(
        case=_HISTORY,
        needs=("chief_complaint", "present_illness", "auxiliary_exam"),
        derived=("examinations",),
    ),
}


def parse_sections(text: str) -> dict[str, str]:
    """The record sections of free text, by heading; text before the first heading is left out."""
    found: dict[str, tuple[int, str]] = {}
    current: tuple[str, int] | None = None
    body: list[str] = []

    def close() -> None:
        if current is not None:
            slot, rank = current
            content = "\n".join(body).strip()
            if content and (slot not in found or rank < found[slot][0]):
                found[slot] = (rank, content)

    for line in text.split("\n"):
        heading = _HEADING_LINE.match(line)
        if heading:
            close()
            current = _slot_of(heading.group(1))
            body = [heading.group(2) or ""]
        elif current is not None:
            body.append(line.strip())
    close()
    return {slot: content for slot, (_, content) in found.items()}


def _slot_of(heading: str) -> tuple[str, int] | None:
    for slot, names in SECTIONS.items():
        if heading in names:
            return slot, names.index(heading)
    return None


def examinations(auxiliary_exam: str) -> list[str]:
    """The names of the examinations in a 辅助检查 section (血常规, 胸部CT ...), in order."""
    names: dict[str, None] = {}
    for item in re.split(r"[；;。\n]", auxiliary_exam):
        named = _EXAMINATION.match(item)
        if named:
            names[named.group(1).strip()] = None
    return list(names)


class _NotARecord(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class RecordTaskBuilder:
    """Makes one sample or TaskSkip per (record, task) of a ``record_tasks`` source."""

    def __init__(self, source: DialogueSourceConfig) -> None:
        self._source = source
        self._options: RecordTasksOptions = task_options(RecordTasksOptions, source)
        where = f"source {source.name!r}: tasks"
        if not self._options.tasks:
            raise ConfigError(f"{where}.tasks: name at least one of {', '.join(TASKS)}")
        unknown = sorted(set(self._options.sections) - set(SECTIONS))
        if unknown:
            raise ConfigError(
                f"{where}.sections: unknown section {unknown[0]!r}; known: {', '.join(SECTIONS)}"
            )
        templates = load_templates(self._options.templates, source_folder(source), where)
        self._templates: dict[str, TemplateSet] = {}
        for task in self._options.tasks:
            chosen = templates.record_tasks.get(task)
            if chosen is None:
                raise ConfigError(f"{where}: no templates for the record task {task!r}")
            check_slots(chosen.prompts, TASKS[task].slots, f"templates.record_tasks.{task}.prompts")
            check_slots(chosen.answers, TASKS[task].slots, f"templates.record_tasks.{task}.answers")
            self._templates[task] = chosen
        try:
            self._separator = re.compile(self._options.record_separator)
        except re.error as exc:
            raise ConfigError(f"{where}.record_separator: not a valid expression: {exc}") from None

    def to_record(
        self, record: Mapping[str, Any], position_id: str, path: str, line: int | None
    ) -> tuple[DialogueRecord | TaskSkip, ...] | Unreadable:
        """The samples of one structured record, or why it is not a record."""
        options = self._options
        record_id = record.get(options.id_field)
        if not (isinstance(record_id, str | int) and str(record_id).strip()):
            record_id = position_id
        try:
            text = record.get(options.text_field)
            sections = parse_sections(text) if isinstance(text, str) else self._fields(record)
            if not sections:
                raise _NotARecord(
                    "no_sections", "no field or heading names a record section (主诉, 现病史 ...)"
                )
        except _NotARecord as exc:
            return Unreadable(path, line, exc.reason, exc.detail)
        department = record.get(options.department_field)
        return self.samples(
            str(record_id), sections, department if isinstance(department, str) else None
        )

    def from_text(self, record: SourceRecord, path: str) -> Iterator[Any]:
        """The samples of every record in a text file, records split at the separator lines."""
        blocks: list[tuple[int, list[str]]] = [(1, [])]
        for number, text in enumerate(record.text.split("\n"), start=1):
            if self._separator.match(text):
                blocks.append((number + 1, []))
            else:
                blocks[-1][1].append(text)
        blocks = [(start, lines) for start, lines in blocks if any(t.strip() for t in lines)]
        for start, lines in blocks:
            record_id = (
                record.source_record_id
                if len(blocks) == 1
                else f"{record.source_record_id}:{start}"
            )
            sections = parse_sections("\n".join(lines))
            if not sections:
                yield Unreadable(
                    path,
                    start,
                    "no_sections",
                    "no heading names a record section (主诉, 现病史 ...)",
                )
            else:
                yield self.samples(record_id, sections, None)

    def samples(
        self, record_id: str, sections: dict[str, str], department: str | None
    ) -> tuple[DialogueRecord | TaskSkip, ...]:
        """One sample or TaskSkip per configured task of one record's sections."""
        made: list[DialogueRecord | TaskSkip] = []
        for name in self._options.tasks:
            task = TASKS[name]
            sample_id = f"{record_id}#{name}"
            missing = [LABELS[slot] for slot in task.needs if slot not in sections]
            if missing:
                made.append(
                    TaskSkip(
                        sample_id, name, "missing_section", f"{name} needs {'、'.join(missing)}"
                    )
                )
                continue
            slots = {slot: sections[slot] for slot in task.needs}
            slots["case"] = "\n".join(
                f"{LABELS[slot]}：{sections[slot]}" for slot in task.case if slot in sections
            )
            if "examinations" in task.derived:
                named = examinations(sections["auxiliary_exam"])
                if not named:
                    made.append(
                        TaskSkip(
                            sample_id,
                            name,
                            "no_named_examinations",
                            "辅助检查 names no examination (血常规：..., 胸部CT示...)",
                        )
                    )
                    continue
                slots["examinations"] = "、".join(named)
            templates = self._templates[name]
            prompt = render(pick(templates.prompts, record_id, f"{name}/prompt"), slots)
            answer = render(pick(templates.answers, record_id, f"{name}/answer"), slots)
            made.append(
                DialogueRecord(
                    sample_id,
                    ((USER, prompt), (ASSISTANT, answer)),
                    department or self._source.department,
                    task=name,
                )
            )
        return tuple(made)

    def _fields(self, record: Mapping[str, Any]) -> dict[str, str]:
        sections = {}
        for slot, headings in SECTIONS.items():
            configured = self._options.sections.get(slot)
            names = (configured,) if configured else (slot, *headings)
            for name in names:
                value = record.get(name)
                if isinstance(value, list) and all(isinstance(v, str) for v in value):
                    value = "\n".join(value)
                if value is None or (isinstance(value, str) and not value.strip()):
                    continue
                if not isinstance(value, str):
                    raise _NotARecord("not_text", f"field '{name}' holds {type(value).__name__}")
                sections[slot] = value.strip()
                break
        return sections
