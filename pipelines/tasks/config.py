"""The options of the task builders: a dialogue source's ``tasks:`` mapping, one per layout.

    - name: records
      path: tasks/records.jsonl
      layout: record_tasks
      tasks: {tasks: [diagnosis, next_examinations], templates: templates.yaml}

A wrong key stops the run with one line naming it (``source 'records': tasks: unknown
key 'task'; allowed keys: ...``).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipelines.config import from_dict
from pipelines.dialogues.config import DialogueSourceConfig

RecordTask = Literal[
    "diagnosis", "differential_diagnosis", "discharge_summary", "next_examinations"
]
RECORD_TASKS: tuple[RecordTask, ...] = (
    "diagnosis",
    "differential_diagnosis",
    "discharge_summary",
    "next_examinations",
)


@dataclass
class RecordTasksOptions:
    """Medical records → clinical tasks.

    A structured record keeps each section in a field named after it (主诉, 现病史, or the
    slot name: chief_complaint, present_illness ...) or in the field ``sections`` maps it
    to; a record with a ``text`` field (or a text file) is parsed at its section headings.
    """

    tasks: list[RecordTask] = field(default_factory=lambda: list(RECORD_TASKS))
    # A YAML file of templates (relative to the source's folder) or the mapping itself.
    templates: Any = None
    # Slot name → the field of a structured record that holds that section.
    sections: dict[str, str] = field(default_factory=dict)
    text_field: str = "text"
    id_field: str = "id"
    department_field: str = "科室"
    # In a text file, a line matching this starts the next record.
    record_separator: str = r"^\s*(={3,}|-{3,})\s*$"


@dataclass
class ExamFields:
    """Where an exam item keeps each part; the defaults read CMB and MedQA-MCMLE as they are.

    ``answer`` is tried first, then ``answer_idx`` (MedQA-MCMLE keeps the letter there and
    the option text in ``answer``). CMExam: ``{question: Question, options: Options,
    answer: Answer, explanation: Explanation, subject: Medical Discipline}``.
    """

    question: str = "question"
    options: list[str] = field(default_factory=lambda: ["options", "option"])
    answer: list[str] = field(default_factory=lambda: ["answer_idx", "answer"])
    explanation: list[str] = field(default_factory=lambda: ["explanation", "analysis"])
    subject: list[str] = field(default_factory=lambda: ["subject", "exam_subject", "meta_info"])
    exam_type: list[str] = field(default_factory=lambda: ["exam_type", "exam_class"])
    id: str = "id"


@dataclass
class ExamOptions:
    """Exam questions → SFT samples (or, with ``medloom tasks export-exams``, an eval set)."""

    fields: ExamFields = field(default_factory=ExamFields)
    templates: Any = None
    # Without an explanation in the item, answer with the option alone.
    with_explanation: bool = True


@dataclass
class KgOptions:
    """Knowledge-graph triples → QA, one sample per (entity, relation).

    Text files hold one triple a line, ``head<TAB>relation<TAB>tail``; a file's triples are
    grouped by head. Structured records hold one entity each: ``{entity, relations:
    {relation: [tails]}}``.
    """

    templates: Any = None
    delimiter: str = "\t"
    entity_field: str = "entity"
    relations_field: str = "relations"
    # Tails joined into one answer; more than this many are cut (a list is not an answer).
    max_tails: int = 12


def task_options(cls: type, source: DialogueSourceConfig) -> Any:
    """``source.tasks`` as ``cls``, or a ConfigError naming the source and the bad key."""
    return from_dict(cls, source.tasks, where=f"source {source.name!r}: tasks")


def source_folder(source: DialogueSourceConfig) -> str:
    """The folder a source's relative ``templates`` path is read from."""
    if "://" in source.path:
        return posixpath.dirname(source.path.rstrip("/"))
    path = Path(source.path)
    return str(path if path.is_dir() else path.parent)
