"""`medloom annotate ...`: run the labeling tool and manage it from a shell.

    medloom annotate create-admin --username admin          # password asked, never an argument
    medloom annotate add-user --username li --role annotator
    medloom annotate create-project --name 内科 --overlap 2 --k 4
    medloom annotate import --project 内科 --format disc FILE
    medloom annotate serve                                  # prints the URL
    medloom annotate progress --project 内科
    medloom annotate export --project 内科 --output DIR [--eval-prompts FILE]

Every command takes ``--db URL`` (default ``$MEDLOOM_ANNOTATE_DB``, else the SQLite file
``medloom-annotate.db`` here); ``postgresql+psycopg://...`` for a team's server. Passwords
are read from the terminal (or one line of standard input when it is not a terminal): a
password on the command line would sit in the shell history and the process list.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import secrets
import sys
from dataclasses import asdict
from pathlib import Path

from sqlalchemy.engine import make_url

from annotation.exports import write_preference_datasets
from annotation.importers import FORMATS, read_candidates
from annotation.store import ROLES, Store, normalize_url
from pipelines.deid import DeidConfig, Deidentifier, load_secret
from pipelines.errors import MedloomError

DEFAULT_DB = "medloom-annotate.db"
SECRET_ENV = "MEDLOOM_ANNOTATE_SECRET"
DB_ENV = "MEDLOOM_ANNOTATE_DB"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `annotate` and its commands to the medloom command line."""
    annotate = subparsers.add_parser("annotate", help="the preference-labeling tool")
    commands = annotate.add_subparsers(dest="annotate_command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, help=help_text)
        parser.add_argument(
            "--db",
            default=os.environ.get(DB_ENV, DEFAULT_DB),
            help=f"database URL or SQLite file (default: ${DB_ENV} or {DEFAULT_DB})",
        )
        return parser

    serve = command("serve", "run the labeling web application")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--allow-http",
        action="store_true",
        help="send the session cookie over plain HTTP too (only on a trusted network)",
    )
    serve.add_argument("--export-dir", help="folder for the admin's 'write to a folder' exports")
    serve.add_argument(
        "--eval-prompts",
        help="evaluation prompts (one per line) that the admin's exports keep out",
    )
    serve.add_argument(
        "--deid-secret-file",
        help="de-identify uploaded candidates with this secret (default: $MEDLOOM_DEID_SECRET; "
        "without one, uploads are taken as they are)",
    )
    serve.add_argument(
        "--max-upload-mb",
        type=int,
        default=100,
        help="largest import file an admin may upload through the web page (default 100)",
    )
    serve.set_defaults(handler=run_serve)

    admin = command("create-admin", "create an admin account (password asked)")
    admin.add_argument("--username", required=True)
    admin.set_defaults(handler=run_create_admin)

    user = command("add-user", "create an annotator (or admin) account (password asked)")
    user.add_argument("--username", required=True)
    user.add_argument("--role", choices=ROLES, default="annotator")
    user.set_defaults(handler=run_add_user)

    project = command("create-project", "create a labeling project")
    project.add_argument("--name", required=True)
    project.add_argument("--overlap", type=int, default=2, help="annotators per item (N)")
    project.add_argument("--k", type=int, default=4, help="responses shown per item")
    project.add_argument(
        "--max-disagreement",
        type=float,
        default=0.5,
        help="1 - mean Kendall tau above which an item goes to adjudication",
    )
    project.set_defaults(handler=run_create_project)

    load = command("import", "add prompts with candidate responses to a project")
    load.add_argument("--project", required=True)
    load.add_argument("--format", dest="fmt", required=True, choices=FORMATS)
    load.add_argument("file", help="file (or, for disc, folder) to import")
    load.add_argument(
        "--secret-file", help="de-identification secret file (default: $MEDLOOM_DEID_SECRET)"
    )
    load.add_argument(
        "--no-deid",
        action="store_true",
        help="take the text as it is (it was de-identified already)",
    )
    load.set_defaults(handler=run_import)

    export = command("export", "write a project's preference datasets")
    export.add_argument("--project", required=True)
    export.add_argument("--output", required=True, help="folder to write")
    export.add_argument(
        "--eval-prompts",
        help="evaluation prompts, one per line: items whose prompt holds one are kept out",
    )
    export.add_argument(
        "--near-dup-threshold",
        type=float,
        default=0.8,
        help="Jaccard similarity of prompts above which only one item of a cluster is kept",
    )
    export.set_defaults(handler=run_export)

    progress = command("progress", "show a project's progress per annotator")
    progress.add_argument("--project", required=True)
    progress.add_argument("--json", action="store_true", help="print JSON instead of a table")
    progress.set_defaults(handler=run_progress)


def _store(args: argparse.Namespace) -> Store:
    url = normalize_url(args.db)
    if url.startswith("sqlite:///"):
        folder = Path(url.removeprefix("sqlite:///")).parent
        if not folder.is_dir():
            raise MedloomError(f"folder of the database does not exist: {folder}")
    return Store(url)


def read_eval_prompts(path: str | None) -> list[str]:
    """The evaluation prompts of a file, one per line (blank lines skipped); none without one."""
    if path is None:
        return []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise MedloomError(f"cannot read the evaluation prompts {path}: {error}") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def _shown_url(url: str) -> str:
    return make_url(normalize_url(url)).render_as_string(hide_password=True)


def _password(prompt: str) -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(f"{prompt}: ")
        if getpass.getpass("again: ") != first:
            raise MedloomError("the two passwords differ")
        return first
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise MedloomError("no password on standard input")
    return line


def session_secret(db: str) -> str:
    """$MEDLOOM_ANNOTATE_SECRET, else a secret kept beside a SQLite database (made once)."""
    from_env = os.environ.get(SECRET_ENV, "").strip()
    if from_env:
        return from_env
    url = normalize_url(db)
    if not url.startswith("sqlite:///"):
        raise MedloomError(
            f"set {SECRET_ENV} (for example: export {SECRET_ENV}=$(openssl rand -hex 32))"
        )
    path = Path(url.removeprefix("sqlite:///") + ".secret")
    if not path.exists():
        # Created readable by its owner only, and never overwritten: sessions survive restarts.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
    return path.read_text(encoding="utf-8").strip()


def run_serve(args: argparse.Namespace, _extra: list[str]) -> int:
    # The web stack loads only here: the other commands start faster without it.
    import uvicorn

    from annotation.web import create_app

    deidentifier = None
    config = DeidConfig(secret_file=args.deid_secret_file)
    if args.deid_secret_file or os.environ.get(config.secret_env):
        deidentifier = Deidentifier(config, load_secret(config))
    export_dir = Path(args.export_dir).resolve() if args.export_dir else None
    if export_dir is not None:
        export_dir.mkdir(parents=True, exist_ok=True)
    eval_prompts = read_eval_prompts(args.eval_prompts)
    _store(args).close()  # a bad URL or missing folder fails here, in one line
    app = create_app(
        args.db,
        session_secret(args.db),
        secure_cookies=not args.allow_http,
        deidentifier=deidentifier,
        export_dir=export_dir,
        eval_prompts=eval_prompts,
        max_upload_bytes=args.max_upload_mb * 1024 * 1024,
    )
    print(f"medloom annotate: http://{args.host}:{args.port}/  (database {_shown_url(args.db)})")
    if not args.allow_http and args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            "  the session cookie is Secure: annotators must reach this server over HTTPS "
            "(a reverse proxy), or pass --allow-http on a trusted network"
        )
    if deidentifier is None:
        print("  no de-identification secret: uploads are imported as they are")
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def _create_user(args: argparse.Namespace, role: str) -> int:
    store = _store(args)
    user = store.create_user(args.username, _password(f"password for {args.username}"), role)
    print(f"created {user.role} {user.username}")
    return 0


def run_create_admin(args: argparse.Namespace, _extra: list[str]) -> int:
    return _create_user(args, "admin")


def run_add_user(args: argparse.Namespace, _extra: list[str]) -> int:
    return _create_user(args, args.role)


def run_create_project(args: argparse.Namespace, _extra: list[str]) -> int:
    project = _store(args).create_project(
        args.name, overlap=args.overlap, k=args.k, max_disagreement=args.max_disagreement
    )
    print(
        f"created project {project.name}: {project.overlap} annotators per item, "
        f"{project.k} responses, adjudication above disagreement {project.max_disagreement}"
    )
    return 0


def run_import(args: argparse.Namespace, _extra: list[str]) -> int:
    store = _store(args)
    store.project(args.project)  # a missing project fails before the file is read
    deidentifier = None
    if not args.no_deid:
        config = DeidConfig(secret_file=args.secret_file)
        deidentifier = Deidentifier(config, load_secret(config))
    result = read_candidates(Path(args.file), args.fmt, deidentifier)
    added = store.add_items(args.project, result.items, actor="cli")
    counts = ", ".join(f"{key} {value}" for key, value in sorted(result.counts.items()))
    print(f"read: {counts}")
    print(
        f"project {args.project}: added {added.added}, already there {added.existing}, "
        f"cut to K responses {added.trimmed}, rejected {len(added.rejected)}"
    )
    for record in result.quarantined[:20]:
        where = record.get("line") or record.get("index")
        print(f"  quarantined {record['path']}:{where}: {record['reason']}", file=sys.stderr)
    for item_id, reason in added.rejected[:20]:
        print(f"  rejected {item_id}: {reason}", file=sys.stderr)
    return 0


def run_export(args: argparse.Namespace, _extra: list[str]) -> int:
    eval_prompts = read_eval_prompts(args.eval_prompts)
    store = _store(args)
    labeled = store.labeled_items(args.project)
    counts = write_preference_datasets(
        labeled,
        Path(args.output),
        eval_prompts=eval_prompts,
        near_dup_threshold=args.near_dup_threshold,
    )
    store.note("cli", "export", project=args.project, detail=counts)
    for key, value in counts.items():
        print(f"{key}: {value}")
    print(f"wrote {args.output}")
    return 0


def run_progress(args: argparse.Namespace, _extra: list[str]) -> int:
    progress = _store(args).progress(args.project)
    if args.json:
        print(json.dumps(asdict(progress), ensure_ascii=False, indent=2))
        return 0
    project = progress.project
    print(
        f"{project.name} (N={project.overlap}, K={project.k}): {progress.items} items, "
        f"{progress.submitted}/{progress.target} judgements, {progress.complete_items} complete, "
        f"{progress.agreed} agreed, {progress.adjudicated} adjudicated, "
        f"{progress.awaiting_adjudication} awaiting adjudication"
    )
    header = ("annotator", "submitted", "in progress", "skipped", "minutes", "median s")
    rows = [
        (
            a.username,
            str(a.submitted),
            str(a.in_progress),
            str(a.skipped),
            f"{a.seconds_total / 60:.1f}",
            f"{a.seconds_median:.0f}" if a.seconds_median is not None else "-",
        )
        for a in progress.annotators
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return 0
