"""Instruction data built from material that is not a dialogue (issue 8).

Three builders, each a dialogue source layout, so their samples pass the dialogue
pipeline's normalisation, de-identification, cleaning, dedup, decontamination, token
budget, splits, leak gate and ``sft_conversation`` output like any conversation:

* ``record_tasks`` (``records.py``): medical records → diagnosis, differential diagnosis,
  discharge summary and next-examination tasks;
* ``exam`` (``exams.py``): multiple-choice exam items → answers with the option and the
  explanation; ``medloom tasks export-exams`` writes them as an evaluation set instead;
* ``kg_triples`` (``kg.py``): knowledge-graph triples → questions and answers per entity
  and relation.

Each builder makes one sample or one TaskSkip per (record, task), so every pair is counted:
written, or rejected at stage ``tasks`` with its reason. Prompts and answers come from
templates (``templates.py``) chosen by a hash of the record id.
"""

from __future__ import annotations

from pipelines.dialogues.config import DialogueSourceConfig
from pipelines.errors import ConfigError
from pipelines.tasks.exams import ExamBuilder
from pipelines.tasks.kg import KgBuilder
from pipelines.tasks.records import RecordTaskBuilder

TaskBuilder = RecordTaskBuilder | ExamBuilder | KgBuilder

__all__ = ["ExamBuilder", "KgBuilder", "RecordTaskBuilder", "TaskBuilder", "make_builder"]


def make_builder(source: DialogueSourceConfig) -> TaskBuilder:
    """The builder of a source whose layout is record_tasks, exam or kg_triples."""
    if source.layout == "record_tasks":
        return RecordTaskBuilder(source)
    if source.layout == "exam":
        return ExamBuilder(source)
    if source.layout == "kg_triples":
        return KgBuilder(source)
    raise ConfigError(f"source {source.name!r}: layout {source.layout!r} has no task builder")
