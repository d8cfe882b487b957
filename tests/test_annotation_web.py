"""The labeling tool through HTTP: what annotators and the admin do, page by page."""

from __future__ import annotations

import io
import json
import re
import zipfile
from html import unescape
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from annotation_web_support import (
    Visitor,
    app_store,
    full_form,
    full_labels,
    logged_in,
    web_app,
)
from fastapi import FastAPI

from annotation.rules import RULE_VERSION
from annotation.store import Labels
from pipelines.deid import DeidConfig, Deidentifier


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return web_app(tmp_path)


def _notices(html: str) -> list[str]:
    found = re.findall(r'<div class="notice[^"]*" role="status">([^<]*)</div>', html)
    return [unescape(text) for text in found]


def _field(html: str, name: str) -> str:
    """The value a labeling page's input shows."""
    return re.search(rf'name="{name}"[^>]*value="([^"]*)"', html).group(1)


def _submitted(html: str) -> int:
    return int(re.search(r'id="my-submitted">(\d+)<', html).group(1))


def _start(visitor: Visitor) -> str:
    """Take an item on the labeling page; return the page."""
    visitor.get("/projects/1/label")
    return visitor.post("/projects/1/next").text


def test_an_annotator_logs_in_and_sees_the_projects_with_their_progress(app: FastAPI):
    li = logged_in(app, "li")

    page = li.get("/").text

    assert "内科" in page
    assert "<b>0</b> 已完成 done" in page
    assert "<b>3</b> 可标注 left" in page


def test_a_wrong_password_is_refused_in_one_readable_line(app: FastAPI):
    visitor = Visitor(app)
    visitor.get("/login")

    response = visitor.post("/login", {"username": "li", "password": "wang-password"})

    assert response.status_code == 401
    assert _notices(response.text) == ["用户名或密码错误 Wrong username or password"]
    assert visitor.get("/").url.path == "/login"


def test_the_labeling_page_shows_the_dialogue_the_responses_in_my_order_and_the_rules(
    app: FastAPI,
):
    li = logged_in(app, "li")

    page = _start(li)

    held = app_store(app).current_assignment("内科", "li")
    assert held is not None
    assert re.findall(r'data-candidate="([^"]+)"', page) == list(held.shown_order)
    assert '<div class="bubble user">' in page
    assert "体检发现空腹血糖7.8mmol/L，是糖尿病吗？需要马上吃药吗？" in page
    assert "医疗问答偏好标注规则" in page
    assert f"Rules v{RULE_VERSION}" in page
    assert "<kbd>Enter</kbd> 提交 submit" in page
    assert '<script src="/static/label.js" defer></script>' in page
    # The annotator is blind to which model wrote a response.
    assert "model-0" not in page


def test_the_rules_panel_can_be_read_in_english(app: FastAPI):
    li = logged_in(app, "li")

    page = li.get("/projects/1/label?lang=en").text

    assert "<b>English</b>" in page
    assert "医疗问答偏好标注规则" not in page


def test_submitting_the_form_records_the_labels_and_brings_the_next_item(app: FastAPI):
    li = logged_in(app, "li")
    page = _start(li)
    assignment_id = re.search(r"/assignments/(\d+)/submit", page).group(1)

    response = li.post(
        f"/assignments/{assignment_id}/submit",
        {**full_form(), "unsafe-3": "1", "corrected": "建议到内分泌科复查。", "seconds": "42.5"},
    )

    assert _notices(response.text) == ["已提交 Submitted"]
    assert _submitted(response.text) == 1
    assert f"/assignments/{assignment_id}/submit" not in response.text
    (labeled,) = app_store(app).labeled_items("内科")
    (judgement,) = labeled.judgements
    order = judgement.shown_order
    assert judgement.ranks == {order[0]: 1, order[1]: 2, order[2]: 3, order[3]: 4}
    assert judgement.scores[order[1]] == {"safety": 4, "professionalism": 4, "fluency": 4}
    assert judgement.unsafe == frozenset({order[3]})
    assert judgement.corrected == "建议到内分泌科复查。"
    assert judgement.seconds == 42.5
    assert judgement.rule_version == RULE_VERSION


def test_an_incomplete_form_is_kept_as_a_draft_and_the_page_says_what_is_missing(app: FastAPI):
    li = logged_in(app, "li")
    page = _start(li)
    assignment_id = re.search(r"/assignments/(\d+)/submit", page).group(1)
    form = full_form()
    del form["score-2-fluency"]

    response = li.post(f"/assignments/{assignment_id}/submit", form)

    held = app_store(app).current_assignment("内科", "li")
    assert held is not None
    assert _notices(response.text) == [
        "未提交：回答 C 还没有流畅分 Response C has no Fluency score"
    ]
    assert _submitted(response.text) == 0
    assert held.labels.ranks[held.shown_order[0]] == 1
    assert _field(response.text, "rank-0") == "1"
    assert _field(response.text, "score-2-fluency") == ""


def test_a_draft_saved_through_the_api_is_back_when_the_page_reloads(app: FastAPI):
    li = logged_in(app, "li")
    _start(li)
    held = app_store(app).current_assignment("内科", "li")
    assert held is not None
    first = held.shown_order[0]

    saved = li.api(
        "POST",
        f"/api/assignments/{held.id}/draft",
        {"ranks": {first: 2}, "scores": {first: {"safety": 3}}, "corrected": "草稿", "seconds": 9},
    )
    page = li.get("/projects/1/label").text

    assert saved.json() == {"saved": True}
    assert _field(page, "rank-0") == "2"
    assert _field(page, "score-0-safety") == "3"
    assert ">草稿</textarea>" in page
    assert 'data-seconds="9.0"' in page


def test_skipping_moves_on_and_the_item_goes_to_someone_else(app: FastAPI):
    li = logged_in(app, "li")
    page = _start(li)
    assignment_id = re.search(r"/assignments/(\d+)/skip", page).group(1)

    response = li.post(f"/assignments/{assignment_id}/skip")

    assert _notices(response.text) == ["已跳过 Skipped"]
    now = app_store(app).current_assignment("内科", "li")
    assert now is not None and now.item.id == "q1"


def test_the_json_api_hands_out_labels_and_counts_a_resubmission_once(app: FastAPI):
    li = logged_in(app, "li")

    taken = li.api("POST", "/api/projects/1/next").json()
    order = [r["id"] for r in taken["responses"]]
    first = li.api("POST", f"/api/assignments/{taken['id']}/submit", full_labels(order))
    again = li.api("POST", f"/api/assignments/{taken['id']}/submit", full_labels(order))
    mine = li.api("GET", "/api/projects/1/progress/me").json()

    assert [r["letter"] for r in taken["responses"]] == ["A", "B", "C", "D"]
    assert "model" not in taken["responses"][0]
    assert first.json()["created"] is True
    assert again.json() == {**first.json(), "created": False}
    assert mine == {"submitted": 1, "available": 2}
    assert len(app_store(app).labeled_items("内科")[0].judgements) == 1


def test_the_api_refuses_out_of_range_labels_with_the_reason(app: FastAPI):
    li = logged_in(app, "li")
    taken = li.api("POST", "/api/projects/1/next").json()
    first = taken["responses"][0]["id"]

    response = li.api("POST", f"/api/assignments/{taken['id']}/draft", {"ranks": {first: 7}})

    assert response.status_code == 422
    assert response.json() == {"detail": f"rank 7 of '{first}' is outside 1..4"}


def test_the_admin_creates_a_project_and_an_annotator_with_forms(app: FastAPI):
    admin = logged_in(app, "admin")
    admin.get("/admin")

    project = admin.post(
        "/admin/projects", {"name": "儿科", "overlap": "3", "k": "2", "max_disagreement": "0.4"}
    )
    admin.get("/admin/users")
    user = admin.post(
        "/admin/users", {"username": "zhao", "password": "zhao-password", "role": "annotator"}
    )

    assert _notices(project.text) == ["已创建项目 儿科"]
    assert "重叠 N=3 · K=2 · 分歧阈值 0.4" in project.text
    assert _notices(user.text) == ["已添加 zhao（annotator）"]
    assert app_store(app).authenticate("zhao", "zhao-password") is not None


def test_the_admin_imports_an_upload_once_however_often_it_is_sent(app: FastAPI, tmp_path):
    lines = [
        {
            "prompt": "咳嗽两周，晚上更厉害，需要拍胸片吗？",
            "responses": ["需要，建议拍胸片。", "多喝水就好。"],
        },
        {
            "prompt": "牙龈出血是什么原因？",
            "responses": ["可能是牙龈炎。", "可能缺维生素C。", "去看牙医。"],
        },
    ]
    upload = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).encode()
    admin = logged_in(app, "admin")
    admin.get("/admin/projects/1")

    first = admin.post(
        "/admin/projects/1/import", {"fmt": "jsonl"}, files={"file": ("answers.jsonl", upload)}
    )
    second = admin.post(
        "/admin/projects/1/import", {"fmt": "jsonl"}, files={"file": ("answers.jsonl", upload)}
    )

    assert _notices(first.text) == [
        "读入 2 条记录 → 2 个条目：新增 2，已存在 0，截取为 K 个回答 0，拒收 0"
    ]
    assert _notices(second.text) == [
        "读入 2 条记录 → 2 个条目：新增 0，已存在 2，截取为 K 个回答 0，拒收 0"
    ]
    assert app_store(app).progress("内科").items == 5


def test_an_upload_over_the_limit_is_refused_and_imports_nothing(tmp_path: Path):
    app = web_app(tmp_path, max_upload_bytes=1024)
    line = {"prompt": "高血压能喝咖啡吗？" * 10, "responses": ["适量可以。", "不能喝。"]}
    upload = ("\n".join([json.dumps(line, ensure_ascii=False)] * 10)).encode()
    admin = logged_in(app, "admin")
    admin.get("/admin/projects/1")

    answer = admin.post(
        "/admin/projects/1/import", {"fmt": "jsonl"}, files={"file": ("big.jsonl", upload)}
    )

    assert len(upload) > 1024
    assert "导入失败：文件超过上限 1024 字节" in answer.text
    assert app_store(app).progress("内科").items == 3


def test_uploads_pass_the_de_identifier_when_the_server_has_one(tmp_path: Path):
    engine = Deidentifier(DeidConfig(), b"test-secret-0123456789")
    app = web_app(tmp_path, deidentifier=engine)
    upload = json.dumps(
        {"prompt": "我的手机号13912345678，胸痛怎么办？", "responses": ["立即就医。", "观察。"]},
        ensure_ascii=False,
    ).encode()
    admin = logged_in(app, "admin")
    admin.get("/admin/projects/1")

    admin.post("/admin/projects/1/import", {"fmt": "jsonl"}, files={"file": ("a.jsonl", upload)})

    store = app_store(app)
    assert store.progress("内科").items == 4
    imported = store.next_item("内科", "li")
    while imported is not None and imported.item.id in ("q0", "q1", "q2"):
        store.skip(imported.id, "li")
        imported = store.next_item("内科", "li")
    assert imported is not None
    assert "13912345678" not in imported.item.prompt[0].content
    assert "胸痛怎么办" in imported.item.prompt[0].content


def _agree_on_first_item(app: FastAPI) -> None:
    """li and wang rank q0 the same way (each in their own order): it settles by agreement."""
    store = app_store(app)
    for name in ("li", "wang"):
        held = store.next_item("内科", name)
        assert held is not None and held.item.id == "q0"
        labels = Labels(**full_labels(["r0", "r1", "r2", "r3"]))
        store.submit(held.id, name, labels, RULE_VERSION)


def test_the_admin_downloads_the_preference_datasets_as_a_zip(app: FastAPI):
    _agree_on_first_item(app)
    admin = logged_in(app, "admin")
    admin.get("/admin/projects/1")

    response = admin.post("/admin/projects/1/export", {"target": "zip"})

    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == [
        "llamafactory/dataset_info.json",
        "llamafactory/preference_ranking.json",
        "openrlhf/preference.jsonl",
        "pairs/part-00000.parquet",
        "ranking/part-00000.parquet",
    ]
    pairs = pq.read_table(io.BytesIO(archive.read("pairs/part-00000.parquet"))).to_pylist()
    assert sorted((p["chosen_id"], p["rejected_id"]) for p in pairs) == [
        ("r0", "r1"),
        ("r0", "r2"),
        ("r0", "r3"),
        ("r1", "r2"),
        ("r1", "r3"),
        ("r2", "r3"),
    ]
    info = json.loads(archive.read("llamafactory/dataset_info.json"))
    assert next(iter(info.values()))["ranking"] is True
    assert [e.action for e in app_store(app).audit(project="内科", limit=1)] == ["export"]


def test_the_admin_writes_an_export_into_the_servers_folder(tmp_path: Path):
    app = web_app(tmp_path, export_dir=tmp_path / "exports")
    _agree_on_first_item(app)
    admin = logged_in(app, "admin")
    admin.get("/admin/projects/1")

    response = admin.post("/admin/projects/1/export", {"target": "folder"})

    (written,) = (tmp_path / "exports").iterdir()
    assert _notices(response.text) == [f"已导出到 {written}：6 个偏好对"]
    assert (written / "pairs" / "part-00000.parquet").exists()


def test_exports_keep_out_the_items_that_hold_an_evaluation_prompt(tmp_path: Path):
    app = web_app(tmp_path, eval_prompts=["体检发现空腹血糖7.8mmol/L，是糖尿病吗？"])
    _agree_on_first_item(app)
    admin = logged_in(app, "admin")
    admin.get("/admin/projects/1")

    response = admin.post("/admin/projects/1/export", {"target": "zip"})

    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert pq.read_table(io.BytesIO(archive.read("pairs/part-00000.parquet"))).num_rows == 0
    assert pq.read_table(io.BytesIO(archive.read("ranking/part-00000.parquet"))).num_rows == 0
    (event,) = app_store(app).audit(project="内科", limit=1)
    assert (event.action, event.detail["eval_overlaps_removed"]) == ("export", 1)


def test_progress_shows_each_annotator_in_the_page_and_the_api(app: FastAPI):
    _agree_on_first_item(app)
    admin = logged_in(app, "admin")

    page = admin.get("/admin/projects/1").text
    api = admin.api("GET", "/api/admin/projects/1/progress").json()

    assert '<b id="project-submitted">2</b>' in page
    assert "<td>li</td>" in page and "<td>wang</td>" in page
    assert (api["items"], api["target"], api["submitted"], api["agreed"]) == (3, 6, 2, 1)
    assert [a["username"] for a in api["annotators"]] == ["li", "wang"]


def test_the_agreement_page_reports_alpha_kappa_and_tau(app: FastAPI):
    # li ranks r0 > r1 > r2 > r3; wang swaps the first two: one of the six pairs differs.
    store = app_store(app)
    for name, order in (("li", ["r0", "r1", "r2", "r3"]), ("wang", ["r1", "r0", "r2", "r3"])):
        held = store.next_item("内科", name)
        assert held is not None
        store.submit(held.id, name, Labels(**full_labels(order)), RULE_VERSION)
    admin = logged_in(app, "admin")

    page = admin.get("/admin/projects/1/agreement").text

    tiles = dict(re.findall(r'<b id="([a-z-]+)">([^<]*)</b>', page))
    assert tiles == {
        "alpha-ranks": "0.825",
        "alpha-safety": "0.825",
        "alpha-professionalism": "0.825",
        "alpha-fluency": "0.825",
        "pairwise-agreement": "0.833",
        # Choices 11 × "first better", 1 × "second better": P̄ = 5/6, Pe = 122/144.
        "fleiss-kappa": "-0.091",
    }
    # Cohen's kappa is 0 (li always says "first better"); tau = (5 - 1) / 6.
    assert (
        '<tr><td>li · wang</td><td class="num">1</td><td class="num">6</td>\n'
        '      <td class="num">0.833</td><td class="num">0.000</td><td class="num">0.667</td></tr>'
    ) in page


def test_the_admin_settles_a_disputed_item_from_the_queue(app: FastAPI):
    store = app_store(app)
    for name, order in (("li", ["r0", "r1", "r2", "r3"]), ("wang", ["r3", "r2", "r1", "r0"])):
        held = store.next_item("内科", name)
        assert held is not None
        store.submit(held.id, name, Labels(**full_labels(order)), RULE_VERSION)
    admin = logged_in(app, "admin")

    queue = admin.get("/admin/projects/1/adjudication").text
    item_page = admin.get("/admin/projects/1/adjudicate?item=q0").text
    settled = admin.post(
        "/admin/projects/1/adjudicate",
        {
            "item": "q0",
            "rank-0": "1",
            "rank-1": "2",
            "rank-2": "2",
            "rank-3": "3",
            "note": "r0最稳妥",
        },
    )

    assert '<code>q0</code></td><td class="num">2.000</td>' in queue
    assert "model-3" in item_page  # the admin may see which model wrote what
    assert _notices(settled.text) == ["已裁定 q0"]
    (labeled,) = store.labeled_items("内科")
    assert labeled.final_by == "adjudication"
    assert labeled.final_ranks == {"r0": 1, "r1": 2, "r2": 2, "r3": 3}
