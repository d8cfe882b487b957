"""De-identification settings and the run secret that keys every surrogate.

The secret makes surrogates consistent within a run (HMAC of the value) without being
reversible by anyone who lacks it. It is read from an environment variable or a file,
never written anywhere; a missing secret is an error unless the config asks for a
throwaway one (the demo does, and says so).
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pipelines.deid.spans import CATEGORIES
from pipelines.errors import ConfigError

log = logging.getLogger(__name__)

# A secret shorter than this is guessable by brute force over HMAC outputs (NIST SP 800-107
# asks for a key at least as long as the security strength wanted: 128 bits).
MIN_SECRET_BYTES = 16


@dataclass
class DeidConfig:
    """How the de-identification stage runs.

    ``categories`` limits what is redacted (all of them by default). ``date_shift_days``
    bounds the per-document date offset. ``throwaway_secret`` lets a demo run without a
    configured secret: one is generated for the run and surrogates will not match any
    other run's.
    """

    enabled: bool = True
    mode: Literal["surrogate", "tag", "mask"] = "surrogate"
    secret_env: str = "MEDLOOM_DEID_SECRET"
    secret_file: str | None = None
    leak_gate: Literal["fail", "quarantine"] = "quarantine"
    categories: list[str] = field(default_factory=lambda: list(CATEGORIES))
    date_shift_days: int = 365
    throwaway_secret: bool = False

    def __post_init__(self) -> None:
        unknown = [c for c in self.categories if c not in CATEGORIES]
        if unknown:
            raise ConfigError(
                f"deid.categories: unknown category {unknown[0]!r}; known: {', '.join(CATEGORIES)}"
            )
        if self.date_shift_days < 1:
            raise ConfigError("deid.date_shift_days: must be at least 1")


def load_secret(config: DeidConfig) -> bytes:
    """The run secret from ``secret_file`` or the ``secret_env`` variable, in that order."""
    if config.secret_file:
        path = Path(config.secret_file)
        try:
            secret = path.read_bytes().strip()
        except OSError as exc:
            raise ConfigError(
                f"deid secret file {path} cannot be read: {exc.strerror or exc}"
            ) from None
        source = f"secret file {path}"
    else:
        secret = os.environ.get(config.secret_env, "").strip().encode("utf-8")
        source = f"environment variable {config.secret_env}"
    if not secret:
        if config.throwaway_secret:
            log.warning(
                "no de-identification secret configured: using a throwaway one for this run; "
                "surrogates will not match those of any other run"
            )
            return secrets.token_bytes(32)
        raise ConfigError(
            f"no de-identification secret: set {config.secret_env} or deid.secret_file "
            f"(for example: export {config.secret_env}=$(openssl rand -hex 32))"
        )
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"de-identification secret from {source} is too short: "
            f"use at least {MIN_SECRET_BYTES} bytes"
        )
    return secret
