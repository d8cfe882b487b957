"""The admin's side: projects, annotators, import, export, progress, agreement, adjudication.

Every route here sits behind `require_admin` (a router dependency): an annotator gets 403.
"""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, Response, UploadFile
from fastapi.responses import RedirectResponse

from annotation.aggregate import disagreement, effective_ranks, mean_ranking
from annotation.agreement import agreement_report
from annotation.exports import write_preference_datasets
from annotation.importers import FORMATS, read_candidates
from annotation.records import DIMENSIONS, LabeledItem
from annotation.store import ROLES, InvalidLabels, NotFound, Project, Store, StoreError
from annotation.web.deps import (
    AdminDep,
    ProjectDep,
    StoreDep,
    flash,
    render,
    require_admin,
)
from annotation.web.label import DIMENSION_NAMES, ROLE_NAMES, FormDep
from annotation.web.models import ProjectProgressOut
from pipelines.errors import MedloomError

router = APIRouter(dependencies=[Depends(require_admin)])

FORMAT_NAMES = {
    "jsonl": "JSONL {prompt, responses}",
    "pairwise": "MedicalGPT 成对 {question, response_chosen, response_rejected}",
    "disc": "DISC-MedLLM 多模型对话 (JSON)",
    "zhongjing-tsv": "Zhongjing 排序 TSV",
}


def _project_url(project: Project, page: str = "") -> str:
    return f"/admin/projects/{project.id}" + (f"/{page}" if page else "")


@router.get("/admin")
def admin_home(request: Request, admin: AdminDep, store: StoreDep) -> Response:
    projects = [store.progress(p.name) for p in store.projects()]
    return render(request, "admin_home.html", admin, projects=projects)


@router.post("/admin/projects")
def create_project(
    request: Request,
    admin: AdminDep,
    store: StoreDep,
    name: Annotated[str, Form()],
    overlap: Annotated[int, Form()] = 2,
    k: Annotated[int, Form()] = 4,
    max_disagreement: Annotated[float, Form()] = 0.5,
) -> Response:
    try:
        project = store.create_project(
            name, overlap=overlap, k=k, max_disagreement=max_disagreement, actor=admin.username
        )
    except StoreError as error:
        flash(request, str(error), "error")
        return RedirectResponse("/admin", status_code=303)
    flash(request, f"已创建项目 {project.name}")
    return RedirectResponse(_project_url(project), status_code=303)


@router.get("/admin/users")
def users_page(request: Request, admin: AdminDep, store: StoreDep) -> Response:
    return render(request, "admin_users.html", admin, users=store.users(), roles=ROLES)


@router.post("/admin/users")
def create_user(
    request: Request,
    store: StoreDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[str, Form()] = "annotator",
) -> Response:
    try:
        user = store.create_user(username.strip(), password, role)
    except StoreError as error:
        flash(request, str(error), "error")
    else:
        flash(request, f"已添加 {user.username}（{user.role}）")
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/admin/projects/{project_id}")
def project_page(
    request: Request, project: ProjectDep, admin: AdminDep, store: StoreDep
) -> Response:
    return render(
        request,
        "admin_project.html",
        admin,
        project=project,
        progress=store.progress(project.name),
        formats=[(f, FORMAT_NAMES.get(f, f)) for f in FORMATS],
        deid=request.app.state.deidentifier is not None,
        export_dir=request.app.state.export_dir,
        events=store.audit(project=project.name, limit=20),
    )


@router.get("/api/admin/projects/{project_id}/progress")
def api_progress(project: ProjectDep, store: StoreDep) -> ProjectProgressOut:
    return ProjectProgressOut.of(store.progress(project.name))


@router.post("/admin/projects/{project_id}/import")
def import_items(
    request: Request,
    project: ProjectDep,
    admin: AdminDep,
    store: StoreDep,
    file: Annotated[UploadFile, File()],
    fmt: Annotated[str, Form()],
) -> Response:
    # The importers read paths (DISC finds its score files beside them), so the upload
    # goes to a private temporary folder under a tame name with its own suffix.
    suffix = "".join(re.findall(r"[A-Za-z0-9.]", Path(file.filename or "").suffix))[:12]
    with tempfile.TemporaryDirectory(prefix="medloom-import-") as folder:
        path = Path(folder) / f"upload{suffix}"
        limit: int = request.app.state.max_upload_bytes
        size = 0
        with path.open("wb") as out:
            while chunk := file.file.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    break
                out.write(chunk)
        if size > limit:
            shown = f"{limit // (1 << 20)} MB" if limit >= 1 << 20 else f"{limit} 字节"
            flash(request, f"导入失败：文件超过上限 {shown}", "error")
            return RedirectResponse(_project_url(project), status_code=303)
        try:
            result = read_candidates(path, fmt, request.app.state.deidentifier)
        except MedloomError as error:
            flash(request, f"导入失败：{error}", "error")
            return RedirectResponse(_project_url(project), status_code=303)
    added = store.add_items(project.name, result.items, actor=admin.username)
    message = (
        f"读入 {result.counts.get('read', 0)} 条记录 → {len(result.items)} 个条目："
        f"新增 {added.added}，已存在 {added.existing}，截取为 K 个回答 {added.trimmed}，"
        f"拒收 {len(added.rejected)}"
    )
    flash(request, message)
    reasons = Counter(q["reason"] for q in result.quarantined)
    reasons.update(reason for _, reason in added.rejected)
    for reason, count in reasons.most_common(10):
        flash(request, f"未导入 {count} 条：{reason}", "error")
    return RedirectResponse(_project_url(project), status_code=303)


@router.post("/admin/projects/{project_id}/export")
def export(
    request: Request,
    project: ProjectDep,
    admin: AdminDep,
    store: StoreDep,
    target: Annotated[str, Form()] = "zip",
) -> Response:
    labeled = store.labeled_items(project.name)
    eval_prompts: tuple[str, ...] = request.app.state.eval_prompts
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    export_dir: Path | None = request.app.state.export_dir
    if target == "folder":
        if export_dir is None:
            raise HTTPException(400, "this server has no export folder (serve --export-dir)")
        out = export_dir / f"project-{project.id}-{stamp}"
        counts = _export(store, project, labeled, out, admin.username, eval_prompts)
        flash(request, f"已导出到 {out}：{counts.get('pairs', 0)} 个偏好对")
        return RedirectResponse(_project_url(project), status_code=303)
    with tempfile.TemporaryDirectory(prefix="medloom-export-") as folder:
        out = Path(folder) / "preferences"
        _export(store, project, labeled, out, admin.username, eval_prompts)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(out.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(out).as_posix())
    name = f"{project.name}-{stamp}.zip"
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="preferences-{stamp}.zip"; '
            f"filename*=UTF-8''{quote(name)}"
        },
    )


def _export(
    store: Store,
    project: Project,
    labeled: list[LabeledItem],
    out: Path,
    actor: str,
    eval_prompts: Sequence[str],
) -> dict:
    try:
        counts = write_preference_datasets(labeled, out, eval_prompts=eval_prompts)
    except MedloomError as error:
        raise HTTPException(400, f"export failed: {error}") from None
    store.note(actor, "export", project=project.name, detail=counts)
    return counts


@router.get("/admin/projects/{project_id}/agreement")
def agreement_page(
    request: Request, project: ProjectDep, admin: AdminDep, store: StoreDep
) -> Response:
    report = agreement_report(store.labeled_items(project.name))
    return render(
        request,
        "admin_agreement.html",
        admin,
        project=project,
        report=report,
        dimensions=[(d, *DIMENSION_NAMES[d]) for d in DIMENSIONS],
    )


@router.get("/admin/projects/{project_id}/adjudication")
def adjudication_queue(
    request: Request, project: ProjectDep, admin: AdminDep, store: StoreDep
) -> Response:
    return render(
        request,
        "admin_queue.html",
        admin,
        project=project,
        queue=store.adjudication_queue(project.name),
    )


@router.get("/admin/projects/{project_id}/adjudicate")
def adjudicate_page(
    request: Request, project: ProjectDep, admin: AdminDep, store: StoreDep, item: str
) -> Response:
    labeled = next((x for x in store.labeled_items(project.name) if x.item.id == item), None)
    if labeled is None:
        raise HTTPException(404, "no judged item with this id")
    proposal = labeled.final_ranks or mean_ranking(labeled.judgements)
    judgements = [(j, effective_ranks(j)) for j in labeled.judgements]
    return render(
        request,
        "admin_adjudicate.html",
        admin,
        project=project,
        labeled=labeled,
        judgements=judgements,
        proposal=proposal,
        disagreement=disagreement(labeled.judgements),
        dimensions=[(d, *DIMENSION_NAMES[d]) for d in DIMENSIONS],
        role_names=ROLE_NAMES,
    )


@router.post("/admin/projects/{project_id}/adjudicate")
def adjudicate(
    request: Request, project: ProjectDep, admin: AdminDep, store: StoreDep, form: FormDep
) -> Response:
    item_id = form.get("item")
    if not isinstance(item_id, str):
        raise HTTPException(400, "which item?")
    try:
        candidates = store.item(project.name, item_id).candidates
        ranks = {}
        for i, candidate in enumerate(candidates):
            value = form.get(f"rank-{i}")
            if isinstance(value, str) and value.strip():
                ranks[candidate.id] = int(value)
        note = form.get("note")
        store.adjudicate(
            project.name, item_id, ranks, admin.username, note if isinstance(note, str) else ""
        )
    except NotFound:
        raise HTTPException(404, "no such item") from None
    except (InvalidLabels, ValueError) as error:
        flash(request, f"未保存：{error}", "error")
        return RedirectResponse(
            f"{_project_url(project, 'adjudicate')}?item={quote(item_id)}", status_code=303
        )
    flash(request, f"已裁定 {item_id}")
    return RedirectResponse(_project_url(project, "adjudication"), status_code=303)
