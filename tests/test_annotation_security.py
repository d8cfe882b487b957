"""What the labeling tool must refuse or hide: sessions, roles, other people's labels,
markup in items, forged forms, and passwords."""

from __future__ import annotations

import io
import logging
import re
import sys
from pathlib import Path

import pytest
from annotation_web_support import (
    PASSWORDS,
    Visitor,
    app_store,
    full_form,
    full_labels,
    logged_in,
    web_app,
)
from fastapi import FastAPI

from annotation.records import Candidate, Message, PromptItem
from annotation.store import Labels, Store
from annotation.web.app import SESSION_COOKIE
from pipelines.cli import main

ITEM_TEXT = "体检发现空腹血糖7.8mmol/L"


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return web_app(tmp_path)


PAGES = (
    "/",
    "/projects/1/label",
    "/admin",
    "/admin/users",
    "/admin/projects/1",
    "/admin/projects/1/agreement",
    "/admin/projects/1/adjudication",
    "/admin/projects/1/adjudicate?item=q0",
)
API = ("/api/assignments/1", "/api/projects/1/progress/me", "/api/admin/projects/1/progress")


def test_an_unauthenticated_visitor_gets_nothing_but_the_login_page(app: FastAPI):
    app_store(app).next_item("内科", "li")
    stranger = Visitor(app)

    for url in PAGES:
        response = stranger.client.get(url, follow_redirects=False)
        assert (response.status_code, response.headers["location"], response.text) == (
            303,
            "/login",
            "",
        ), url
    for url in API:
        response = stranger.client.get(url)
        assert (response.status_code, response.json()) == (401, {"detail": "login required"})
    stranger.get("/login")
    refused = stranger.api("POST", "/api/projects/1/next")
    assert (refused.status_code, refused.json()) == (401, {"detail": "login required"})


def test_an_annotator_cannot_open_admin_pages_or_use_admin_forms(app: FastAPI):
    li = logged_in(app, "li")

    for url in [p for p in PAGES if p.startswith("/admin")]:
        assert li.get(url).status_code == 403, url
    assert li.api("GET", "/api/admin/projects/1/progress").status_code == 403
    created = li.post("/admin/users", {"username": "mallory", "password": "mallory-password"})
    exported = li.post("/admin/projects/1/export", {"target": "zip"})

    assert created.status_code == 403
    assert exported.status_code == 403
    assert "mallory" not in [u.username for u in app_store(app).users()]


def test_an_annotator_cannot_read_or_change_another_annotators_labels(app: FastAPI):
    li, wang = logged_in(app, "li"), logged_in(app, "wang")
    taken = li.api("POST", "/api/projects/1/next").json()
    order = [r["id"] for r in taken["responses"]]
    li.api(
        "POST",
        f"/api/assignments/{taken['id']}/draft",
        {**full_labels(order), "corrected": "李医生的修正：先复查糖化血红蛋白"},
    )

    assert wang.api("GET", f"/api/assignments/{taken['id']}").status_code == 404
    assert wang.api("POST", f"/api/assignments/{taken['id']}/draft", {}).status_code == 404
    forged = wang.api("POST", f"/api/assignments/{taken['id']}/submit", full_labels(order))
    assert forged.status_code == 404
    assert wang.post(f"/assignments/{taken['id']}/submit", full_form()).status_code == 404
    # wang gets the same item, blind: nothing li entered is on the page.
    wang.get("/projects/1/label")
    page = wang.post("/projects/1/next").text
    assert ITEM_TEXT in page
    assert "李医生的修正" not in page
    assert re.findall(r'data-field="\w+" value="([^"]*)"', page) == [""] * 16
    assert app_store(app).labeled_items("内科") == []


def test_markup_in_a_prompt_or_response_is_shown_as_text(app: FastAPI):
    store = app_store(app)
    store.create_project("注入", overlap=1)
    store.add_items(
        "注入",
        [
            PromptItem(
                "x1",
                "test",
                (Message("user", '头痛<img src=x onerror="alert(1)">怎么办'),),
                (
                    Candidate("r0", "<script>alert('偷cookie')</script>多休息"),
                    Candidate("r1", '<a href="javascript:alert(2)">点我</a>看医生'),
                ),
            )
        ],
    )
    li = logged_in(app, "li")

    li.get("/projects/2/label")
    page = li.post("/projects/2/next")
    admin = logged_in(app, "admin")
    held = store.current_assignment("注入", "li")
    assert held is not None
    store.submit(held.id, "li", Labels(**full_labels(list(held.shown_order))), "1.0")
    adjudication = admin.get("/admin/projects/2/adjudicate?item=x1").text

    for html in (page.text, adjudication):
        assert "&lt;script&gt;alert(&#39;偷cookie&#39;)&lt;/script&gt;多休息" in html
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert '<a href="javascript:' not in html
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_a_form_or_request_without_its_csrf_token_is_refused(app: FastAPI):
    li = logged_in(app, "li")
    li.get("/projects/1/label")
    li.post("/projects/1/next")
    held = app_store(app).current_assignment("内科", "li")
    assert held is not None
    other = logged_in(app, "wang")

    missing = li.post(f"/assignments/{held.id}/submit", full_form(), csrf=False)
    wrong = li.post(f"/assignments/{held.id}/submit", {**full_form(), "csrf_token": "guess"})
    foreign = li.post(f"/assignments/{held.id}/submit", {**full_form(), "csrf_token": other.csrf})
    api = li.api("POST", f"/api/assignments/{held.id}/submit", full_labels([]), csrf=False)
    login = Visitor(app).post("/login", {"username": "li", "password": "li-password"})

    for response in (missing, wrong, foreign, login):
        assert response.status_code == 403
        assert "CSRF token missing or wrong" in response.text
    assert api.status_code == 403
    assert app_store(app).labeled_items("内科") == []


def test_the_session_cookie_is_signed_httponly_secure_and_samesite(app: FastAPI):
    visitor = Visitor(app)
    visitor.get("/login")

    response = visitor.post("/login", {"username": "li", "password": "li-password"})

    cookie = response.history[0].headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie.lower()
    assert "secure" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "li-password" not in cookie


def test_a_tampered_or_logged_out_cookie_opens_nothing(app: FastAPI):
    li = logged_in(app, "li")
    stolen = li.client.cookies[SESSION_COOKIE]
    tampered = Visitor(app)
    tampered.client.cookies.set(SESSION_COOKIE, stolen[:-3] + "AAA", domain="testserver")

    assert tampered.client.get("/", follow_redirects=False).status_code == 303

    li.get("/")
    li.post("/logout")
    replay = Visitor(app)
    replay.client.cookies.set(SESSION_COOKIE, stolen, domain="testserver")
    assert replay.client.get("/", follow_redirects=False).headers["location"] == "/login"


def _stored_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


def test_a_password_is_never_stored_or_logged_in_clear(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    caplog.set_level(logging.DEBUG)
    app = web_app(tmp_path)
    admin = logged_in(app, "admin")
    admin.get("/admin/users")
    admin.post("/admin/users", {"username": "zhao", "password": "zhao-Secret-2026"})
    Visitor(app).login("zhao", "zhao-Secret-2026")
    Visitor(app).login("zhao", "zhao-Typo-2026")
    monkeypatch.setattr(sys, "stdin", io.StringIO("qian-Secret-2026\n"))
    cli = main(["annotate", "add-user", "--db", str(tmp_path / "labels.db"), "--username", "qian"])

    assert cli == 0
    written = _stored_bytes(tmp_path / "labels.db")
    for secret in ("zhao-Secret-2026", "zhao-Typo-2026", "qian-Secret-2026", *PASSWORDS.values()):
        assert secret.encode() not in written
        assert secret not in caplog.text
    assert [e.action for e in app_store(app).audit(limit=3)] == [
        "create_user",
        "login_failed",
        "login",
    ]
    assert app_store(app).authenticate("qian", "qian-Secret-2026") is not None


def test_passwords_are_hashed_with_argon2id_at_its_recommended_cost(tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 'labels.db'}")
    store.create_user("li", "li-password")

    written = _stored_bytes(tmp_path / "labels.db")

    # argon2-cffi's defaults: RFC 9106's second recommended option (64 MiB, 3 passes).
    assert b"$argon2id$v=19$m=65536,t=3,p=4$" in written
    assert store.authenticate("li", "li-password") is not None
