"""Logging in and out. A password is checked against its argon2 hash and goes nowhere else."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from annotation.web.deps import StoreDep, UserDep, csrf_token, flash, render

router = APIRouter()


@router.get("/login")
def login_page(request: Request) -> Response:
    return render(request, "login.html", None)


@router.post("/login")
def login(
    request: Request,
    store: StoreDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    user = store.authenticate(username.strip(), password)
    if user is None:
        flash(request, "用户名或密码错误 Wrong username or password", "error")
        return render(request, "login.html", None, status_code=401, username=username)
    # A fresh session (and CSRF token) on every login: nothing carries over from before.
    request.session.clear()
    request.session.update({"uid": user.id, "epoch": user.session_epoch})
    csrf_token(request)
    return RedirectResponse("/", status_code=303)


@router.post("/logout")
def logout(request: Request, user: UserDep, store: StoreDep) -> Response:
    """End every session of the user (the epoch in their cookies no longer matches)."""
    store.end_sessions(user.username)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
