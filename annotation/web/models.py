"""The JSON API's bodies: what the labeling page's script and scripted clients send and get."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from annotation.store import (
    MAX_CORRECTED_CHARS,
    MAX_SECONDS_PER_ITEM,
    Assignment,
    Labels,
    MyProgress,
    ProjectProgress,
)


class LabelsIn(BaseModel):
    """An annotator's labels on one item, keyed by response id; rank 1 is best, ties allowed."""

    model_config = ConfigDict(extra="forbid")

    ranks: dict[str, int] = Field(default_factory=dict)
    scores: dict[str, dict[str, int]] = Field(default_factory=dict)
    unsafe: list[str] = Field(default_factory=list)
    corrected: str | None = Field(default=None, max_length=MAX_CORRECTED_CHARS)
    seconds: float | None = Field(default=None, ge=0, le=MAX_SECONDS_PER_ITEM)

    def labels(self) -> Labels:
        return Labels(
            ranks=self.ranks,
            scores=self.scores,
            unsafe=frozenset(self.unsafe),
            corrected=self.corrected,
            seconds=self.seconds,
        )

    @classmethod
    def of(cls, labels: Labels) -> LabelsIn:
        return cls(
            ranks=dict(labels.ranks),
            scores={c: dict(s) for c, s in labels.scores.items()},
            unsafe=sorted(labels.unsafe),
            corrected=labels.corrected,
            seconds=labels.seconds,
        )


class MessageOut(BaseModel):
    role: str
    content: str


class ResponseOut(BaseModel):
    """A response as the annotator sees it: a letter, never the model that wrote it."""

    id: str
    letter: str
    content: str


class AssignmentOut(BaseModel):
    id: int
    project: str
    item_id: str
    status: str
    prompt: list[MessageOut]
    responses: list[ResponseOut]  # in this annotator's order
    labels: LabelsIn
    seconds: float

    @classmethod
    def of(cls, assignment: Assignment) -> AssignmentOut:
        by_id = {c.id: c for c in assignment.item.candidates}
        return cls(
            id=assignment.id,
            project=assignment.project,
            item_id=assignment.item.id,
            status=assignment.status,
            prompt=[MessageOut(role=m.role, content=m.content) for m in assignment.item.prompt],
            responses=[
                ResponseOut(id=cid, letter=chr(ord("A") + i), content=by_id[cid].content)
                for i, cid in enumerate(assignment.shown_order)
            ],
            labels=LabelsIn.of(assignment.labels),
            seconds=assignment.seconds,
        )


class SubmitOut(BaseModel):
    judgement_id: int
    created: bool  # False when it replaced or repeated an earlier submission
    rule_version: str


class DraftOut(BaseModel):
    saved: bool


class SkipOut(BaseModel):
    skipped: bool


class MyProgressOut(BaseModel):
    submitted: int
    available: int

    @classmethod
    def of(cls, progress: MyProgress) -> MyProgressOut:
        return cls(submitted=progress.submitted, available=progress.available)


class AnnotatorProgressOut(BaseModel):
    username: str
    submitted: int
    in_progress: int
    skipped: int
    seconds_total: float
    seconds_median: float | None


class ProjectProgressOut(BaseModel):
    project: str
    items: int
    target: int
    submitted: int
    complete_items: int
    agreed: int
    adjudicated: int
    awaiting_adjudication: int
    annotators: list[AnnotatorProgressOut]

    @classmethod
    def of(cls, progress: ProjectProgress) -> ProjectProgressOut:
        return cls(
            project=progress.project.name,
            items=progress.items,
            target=progress.target,
            submitted=progress.submitted,
            complete_items=progress.complete_items,
            agreed=progress.agreed,
            adjudicated=progress.adjudicated,
            awaiting_adjudication=progress.awaiting_adjudication,
            annotators=[
                AnnotatorProgressOut(
                    username=a.username,
                    submitted=a.submitted,
                    in_progress=a.in_progress,
                    skipped=a.skipped,
                    seconds_total=a.seconds_total,
                    seconds_median=a.seconds_median,
                )
                for a in progress.annotators
            ],
        )
