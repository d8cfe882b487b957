"""A conversation as a reader finds it, before cleaning."""

from __future__ import annotations

from dataclasses import dataclass, field

USER = "user"
ASSISTANT = "assistant"
SYSTEM = "system"
ROLES = (SYSTEM, USER, ASSISTANT)

Turn = tuple[str, str]  # (role, content)


@dataclass(frozen=True)
class DialogueRecord:
    """One conversation of a source: turns in order, with the source's department label.

    ``department`` is the label as the source writes it (``传染病科``, ``nan``, None);
    the pipeline maps it onto the normalised vocabulary. ``metadata`` keeps what the source
    says about the conversation (the model that answered, the original dataset) as text.
    """

    source_record_id: str
    turns: tuple[Turn, ...]
    department: str | None = None
    metadata: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    # What the sample teaches: "dialogue", or a task builder's name (diagnosis, exam, kg_qa).
    task: str = "dialogue"


@dataclass(frozen=True)
class TaskSkip:
    """A task a source record could not make (a record without 诊断 for the diagnosis task).

    A task builder returns these beside the samples it made, so every (record, task) pair
    is counted: written, or rejected at stage ``tasks`` with ``reason``.
    """

    source_record_id: str
    task: str
    reason: str
    detail: str


def dialogue_text(turns: tuple[Turn, ...] | list[Turn]) -> str:
    """The conversation as one text, for exact and near-duplicate keys."""
    return "\n".join(f"{role}: {content}" for role, content in turns)
