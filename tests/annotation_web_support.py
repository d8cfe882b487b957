"""What the labeling tool's web tests share: an application with people and items in it,
and a visitor that keeps its cookies and the CSRF token of the page it saw last."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from test_annotation_store import FAST_HASHER, make_items

from annotation.records import DIMENSIONS
from annotation.store import Store
from annotation.web import create_app

SECRET = "test-session-secret-0123456789abcdef"
PASSWORDS = {
    "admin": "admin-password",
    "li": "li-password",
    "wang": "wang-password",
    "zhang": "zhang-password",
}
_CSRF = re.compile(r'(?:name="csrf_token" value|data-csrf)="([^"]+)"')


def web_app(tmp_path: Path, **options: Any) -> FastAPI:
    """The tool over a fresh SQLite file: an admin, three annotators, project 内科 (N=2, K=4)
    with three items."""
    app = create(tmp_path, **options)
    store = app_store(app)
    for name, password in PASSWORDS.items():
        store.create_user(name, password, "admin" if name == "admin" else "annotator")
    store.create_project("内科", overlap=2, k=4)
    store.add_items("内科", make_items(3))
    return app


def create(tmp_path: Path, **options: Any) -> FastAPI:
    return create_app(f"sqlite:///{tmp_path / 'labels.db'}", SECRET, hasher=FAST_HASHER, **options)


def app_store(app: FastAPI) -> Store:
    return app.state.store


class Visitor:
    """One browser's worth of state against the application."""

    def __init__(self, app: FastAPI) -> None:
        self.client = TestClient(app, base_url="https://testserver")
        self.csrf = ""

    def _seen(self, response: httpx.Response) -> httpx.Response:
        found = (
            _CSRF.search(response.text)
            if "text/html" in response.headers.get("content-type", "")
            else None
        )
        if found:
            self.csrf = found.group(1)
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._seen(self.client.get(url, **kwargs))

    def post(
        self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any
    ) -> httpx.Response:
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf)
        return self._seen(self.client.post(url, data=form, **kwargs))

    def api(self, method: str, url: str, body: Any = None, *, csrf: bool = True) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf} if csrf else {}
        return self.client.request(method, url, json=body, headers=headers)

    def login(self, username: str, password: str | None = None) -> httpx.Response:
        self.get("/login")
        return self.post(
            "/login", {"username": username, "password": password or PASSWORDS[username]}
        )


def logged_in(app: FastAPI, username: str) -> Visitor:
    visitor = Visitor(app)
    response = visitor.login(username)
    assert response.status_code == 200, response.text
    return visitor


def full_form(count: int = 4) -> dict[str, str]:
    """A complete labeling form: the response shown first ranked 1, and so on."""
    form = {}
    for position in range(count):
        form[f"rank-{position}"] = str(position + 1)
        for dimension in DIMENSIONS:
            form[f"score-{position}-{dimension}"] = str(5 - position)
    return form


def full_labels(order: list[str]) -> dict[str, Any]:
    """The same labels as JSON for the API, keyed by response id."""
    return {
        "ranks": {c: i + 1 for i, c in enumerate(order)},
        "scores": {c: {d: 5 - i for d in DIMENSIONS} for i, c in enumerate(order)},
    }
