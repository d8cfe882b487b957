"""What every route depends on: the store, the signed-in user, the CSRF check, rendering.

Routes never read the session or open the database by hand: they take `Store`, `User`
and `Project` through `Depends(...)`. The store commits each call before it returns, so a
route's reply always comes after its write is on disk.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from annotation.store import NotFound, Project, Store, User

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """No valid session: pages redirect to the login form, the JSON API answers 401."""


async def get_store(request: Request) -> Store:
    # async: FastAPI runs sync dependencies in a worker thread, a hop not worth paying here.
    return request.app.state.store


StoreDep = Annotated[Store, Depends(get_store)]


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (also before login: the login form has one)."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def csrf_protect(request: Request) -> None:
    """Refuse a state-changing request whose form field or header lacks the session's token.

    Installed on the whole application, so no route can forget it.
    """
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get("csrf", "")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise HTTPException(403, "CSRF token missing or wrong; reload the page and try again")


def current_user(request: Request, store: StoreDep) -> User:
    user_id = request.session.get("uid")
    user = store.user(user_id) if isinstance(user_id, int) else None
    if user is None or user.session_epoch != request.session.get("epoch"):
        raise LoginRequired
    return user


UserDep = Annotated[User, Depends(current_user)]


async def require_admin(user: UserDep) -> User:
    if not user.is_admin:
        raise HTTPException(403, "admins only")
    return user


AdminDep = Annotated[User, Depends(require_admin)]


def project_from_path(project_id: int, store: StoreDep, _user: UserDep) -> Project:
    try:
        return store.project_by_id(project_id)
    except NotFound:
        raise HTTPException(404, "no such project") from None


ProjectDep = Annotated[Project, Depends(project_from_path)]


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """A one-line notice shown on the next page rendered for this session."""
    request.session["flash"] = [*request.session.get("flash", []), [kind, message]]


def render(
    request: Request,
    name: str,
    user: User | None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    notices = request.session.pop("flash", [])
    return templates.TemplateResponse(
        request,
        name,
        {"user": user, "csrf_token": csrf_token(request), "notices": notices, **context},
        status_code=status_code,
    )
