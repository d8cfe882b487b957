"""The labeling tool's web application: `create_app(store_url, secret)`.

Sessions live in a signed cookie (Starlette's SessionMiddleware: itsdangerous, HttpOnly,
SameSite=Lax, Secure unless told otherwise) holding the user id, the user's session epoch
(bumped on logout, so a copied cookie dies with it) and the CSRF token. Every
state-changing request must carry that token (see `deps.csrf_protect`). Pages are rendered
on the server with Jinja2, autoescaping everything; the Content-Security-Policy allows only
this site's own script and style files, so even a template slip could not run a script
from an item's text.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from argon2 import PasswordHasher
from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from annotation.store import Store
from annotation.web import admin, auth, label
from annotation.web.deps import LoginRequired, csrf_protect, render
from pipelines.deid import Deidentifier
from pipelines.errors import MedloomError

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "medloom_session"
SESSION_SECONDS = 12 * 3600  # a working day; then log in again
MIN_SECRET_CHARS = 32
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


# An import file larger than this is refused (serve --max-upload-mb changes it).
DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024


def create_app(
    store_url: str,
    secret: str,
    *,
    secure_cookies: bool = True,
    deidentifier: Deidentifier | None = None,
    export_dir: Path | None = None,
    hasher: PasswordHasher | None = None,
    eval_prompts: Sequence[str] = (),
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
) -> FastAPI:
    """The application over the store at ``store_url``, signing sessions with ``secret``.

    ``secure_cookies=False`` lets the session cookie travel over plain HTTP (a trusted
    network without TLS). ``deidentifier`` cleans uploaded candidates; ``export_dir`` is
    where "write to a folder" exports go; every export keeps out the items whose prompt
    holds one of ``eval_prompts``; an import upload larger than ``max_upload_bytes`` is
    refused.
    """
    if len(secret) < MIN_SECRET_CHARS:
        raise MedloomError(f"the session secret needs at least {MIN_SECRET_CHARS} characters")
    app = FastAPI(
        title="medloom annotate",
        dependencies=[Depends(csrf_protect)],
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.store = Store(store_url, hasher=hasher)
    app.state.deidentifier = deidentifier
    app.state.export_dir = export_dir
    app.state.eval_prompts = tuple(eval_prompts)
    app.state.max_upload_bytes = max_upload_bytes
    app.state.templates = Jinja2Templates(
        env=Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_SECONDS,
        same_site="lax",
        https_only=secure_cookies,
    )

    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(auth.router)
    app.include_router(label.router)
    app.include_router(admin.router)
    _error_pages(app)
    return app


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response, and no-store to every non-static one.

    Plain ASGI rather than `@app.middleware("http")`, whose per-request task and streams
    cost more than the rest of a small request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not static:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, with_headers)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error_pages(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _error: LoginRequired) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "login required"}, status_code=401)
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": error.detail}, status_code=error.status_code)
        return render(
            request, "error.html", None, status_code=error.status_code, message=error.detail
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": error.errors()}, status_code=422)
        fields = ", ".join(str(e["loc"][-1]) for e in error.errors())
        return render(request, "error.html", None, status_code=422, message=f"表单有误：{fields}")
