"""The annotator's side: the projects page, the labeling page and its JSON API.

The labeling page is a plain form (it works without JavaScript); `static/label.js` makes it
keyboard-first and saves drafts through the JSON API as the annotator goes. Form fields
name responses by their position on this annotator's screen (``rank-0``, ``score-0-safety``)
and the server maps positions back to response ids through the recorded order. An
annotator only ever reads their own assignments: anyone else's is a 404.
"""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from annotation.records import DIMENSIONS
from annotation.rules import RULE_VERSION, rules_html
from annotation.store import Assignment, Conflict, InvalidLabels, Labels, NotFound
from annotation.web.deps import ProjectDep, StoreDep, UserDep, flash, render
from annotation.web.models import (
    AssignmentOut,
    DraftOut,
    LabelsIn,
    MyProgressOut,
    SkipOut,
    SubmitOut,
)

router = APIRouter()

DIMENSION_NAMES = {
    "safety": ("安全", "Safety"),
    "professionalism": ("专业", "Professionalism"),
    "fluency": ("流畅", "Fluency"),
}
ROLE_NAMES = {"user": "患者", "assistant": "医生", "system": "系统"}


async def form_data(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(form_data)]


def _label_url(project_id: int) -> str:
    return f"/projects/{project_id}/label"


@router.get("/")
def home(request: Request, user: UserDep, store: StoreDep) -> Response:
    if user.is_admin:
        return RedirectResponse("/admin", status_code=303)
    projects = [(p, store.my_progress(p.name, user.username)) for p in store.projects()]
    return render(request, "home.html", user, projects=projects)


@router.get("/projects/{project_id}/label")
def label_page(
    request: Request, project: ProjectDep, user: UserDep, store: StoreDep, lang: str = "zh"
) -> Response:
    assignment = store.current_assignment(project.name, user.username)
    progress = store.my_progress(project.name, user.username)
    lang = "en" if lang == "en" else "zh"
    context = {
        "project": project,
        "progress": progress,
        "assignment": assignment,
        "rules": rules_html(lang),
        "rules_lang": lang,
        "rule_version": RULE_VERSION,
        "dimensions": [(d, *DIMENSION_NAMES[d]) for d in DIMENSIONS],
        "role_names": ROLE_NAMES,
    }
    if assignment is not None:
        context["responses"] = _responses(assignment)
    return render(request, "label.html", user, **context)


def _responses(assignment: Assignment) -> list[dict]:
    """The item's responses in this annotator's order, with what they have entered so far."""
    by_id = {c.id: c for c in assignment.item.candidates}
    labels = assignment.labels
    return [
        {
            "position": i,
            "letter": chr(ord("A") + i),
            "id": cid,
            "content": by_id[cid].content,
            "rank": labels.ranks.get(cid),
            "scores": labels.scores.get(cid, {}),
            "unsafe": cid in labels.unsafe,
        }
        for i, cid in enumerate(assignment.shown_order)
    ]


@router.post("/projects/{project_id}/next")
def take_next(project: ProjectDep, user: UserDep, store: StoreDep) -> Response:
    store.next_item(project.name, user.username)
    return RedirectResponse(_label_url(project.id), status_code=303)


def _labels_from_form(form: FormData, assignment: Assignment) -> Labels:
    """Labels from the form's position-named fields; a blank field is a missing value."""

    def number(name: str) -> int | None:
        value = form.get(name)
        if not isinstance(value, str) or not value.strip():
            return None
        try:
            return int(value)
        except ValueError:
            raise InvalidLabels(f"{name} is not a number: {value[:20]!r}") from None

    ranks, scores, unsafe = {}, {}, set()
    for i, cid in enumerate(assignment.shown_order):
        rank = number(f"rank-{i}")
        if rank is not None:
            ranks[cid] = rank
        given = {d: number(f"score-{i}-{d}") for d in DIMENSIONS}
        scores[cid] = {d: v for d, v in given.items() if v is not None}
        if form.get(f"unsafe-{i}"):
            unsafe.add(cid)
    corrected = form.get("corrected")
    seconds = form.get("seconds")
    try:
        spent = float(seconds) if isinstance(seconds, str) and seconds else None
    except ValueError:
        spent = None
    return Labels(
        ranks=ranks,
        scores={c: s for c, s in scores.items() if s},
        unsafe=frozenset(unsafe),
        corrected=corrected if isinstance(corrected, str) else None,
        seconds=spent,
    )


def _first_gap(labels: Labels, assignment: Assignment) -> str:
    """What the annotator has left empty, named as they see it (response letters)."""
    for i, candidate in enumerate(assignment.shown_order):
        letter = chr(ord("A") + i)
        if candidate not in labels.ranks:
            return f"回答 {letter} 还没有排序 Response {letter} has no rank"
        for dimension in DIMENSIONS:
            if dimension not in labels.scores.get(candidate, {}):
                zh, en = DIMENSION_NAMES[dimension]
                return f"回答 {letter} 还没有{zh}分 Response {letter} has no {en} score"
    return ""


def _lettered(message: str, assignment: Assignment) -> str:
    """The store's message with response ids replaced by the letters the annotator sees."""
    for i, candidate in enumerate(assignment.shown_order):
        message = message.replace(f"{candidate!r}", chr(ord("A") + i))
    return message


def _own(store: StoreDep, assignment_id: int, username: str) -> Assignment:
    try:
        return store.assignment(assignment_id, username)
    except NotFound:
        raise HTTPException(404, "no such assignment") from None


@router.post("/assignments/{assignment_id}/submit")
def submit_form(
    request: Request, assignment_id: int, form: FormDep, user: UserDep, store: StoreDep
) -> Response:
    assignment = _own(store, assignment_id, user.username)
    project = store.project(assignment.project)
    labels = _labels_from_form(form, assignment)
    try:
        gap = _first_gap(labels, assignment)
        if gap:
            raise InvalidLabels(gap)
        store.submit(assignment_id, user.username, labels, RULE_VERSION)
    except InvalidLabels as error:
        # Keep what was entered so nothing typed is lost, then say what is missing.
        with contextlib.suppress(InvalidLabels, Conflict):
            store.save_draft(assignment_id, user.username, labels, RULE_VERSION)
        flash(request, f"未提交：{_lettered(str(error), assignment)}", "error")
        return RedirectResponse(_label_url(project.id), status_code=303)
    except Conflict as error:
        flash(request, str(error), "error")
        return RedirectResponse(_label_url(project.id), status_code=303)
    flash(request, "已提交 Submitted")
    store.next_item(project.name, user.username)
    return RedirectResponse(_label_url(project.id), status_code=303)


@router.post("/assignments/{assignment_id}/skip")
def skip_form(request: Request, assignment_id: int, user: UserDep, store: StoreDep) -> Response:
    assignment = _own(store, assignment_id, user.username)
    project = store.project(assignment.project)
    try:
        store.skip(assignment_id, user.username)
    except Conflict as error:
        flash(request, str(error), "error")
        return RedirectResponse(_label_url(project.id), status_code=303)
    flash(request, "已跳过 Skipped")
    store.next_item(project.name, user.username)
    return RedirectResponse(_label_url(project.id), status_code=303)


# The JSON API: the labeling page's drafts, and scripted clients (the load benchmark).


@router.post("/api/projects/{project_id}/next", response_model=AssignmentOut | None)
def api_next(project: ProjectDep, user: UserDep, store: StoreDep) -> AssignmentOut | None:
    """The annotator's current item, or a new one; null when none is left for them."""
    assignment = store.next_item(project.name, user.username)
    return AssignmentOut.of(assignment) if assignment else None


@router.get("/api/projects/{project_id}/progress/me")
def api_my_progress(project: ProjectDep, user: UserDep, store: StoreDep) -> MyProgressOut:
    return MyProgressOut.of(store.my_progress(project.name, user.username))


@router.get("/api/assignments/{assignment_id}")
def api_assignment(assignment_id: int, user: UserDep, store: StoreDep) -> AssignmentOut:
    return AssignmentOut.of(_own(store, assignment_id, user.username))


def _refuse(error: Exception) -> HTTPException:
    if isinstance(error, NotFound):
        return HTTPException(404, "no such assignment")
    if isinstance(error, Conflict):
        return HTTPException(409, str(error))
    return HTTPException(422, str(error))


@router.post("/api/assignments/{assignment_id}/draft")
def api_draft(assignment_id: int, body: LabelsIn, user: UserDep, store: StoreDep) -> DraftOut:
    try:
        store.save_draft(assignment_id, user.username, body.labels(), RULE_VERSION)
    except (NotFound, Conflict, InvalidLabels) as error:
        raise _refuse(error) from None
    return DraftOut(saved=True)


@router.post("/api/assignments/{assignment_id}/submit")
def api_submit(assignment_id: int, body: LabelsIn, user: UserDep, store: StoreDep) -> SubmitOut:
    try:
        result = store.submit(assignment_id, user.username, body.labels(), RULE_VERSION)
    except (NotFound, Conflict, InvalidLabels) as error:
        raise _refuse(error) from None
    return SubmitOut(
        judgement_id=result.judgement_id, created=result.created, rule_version=RULE_VERSION
    )


@router.post("/api/assignments/{assignment_id}/skip")
def api_skip(assignment_id: int, user: UserDep, store: StoreDep) -> SkipOut:
    try:
        store.skip(assignment_id, user.username)
    except (NotFound, Conflict) as error:
        raise _refuse(error) from None
    return SkipOut(skipped=True)
