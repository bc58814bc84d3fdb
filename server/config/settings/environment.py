"""The environment every settings module reads: the process's variables, plus a git-ignored ``.env`` file at the
repository root for the ones the process does not set. Kept apart from ``base`` so that ``production`` can check its
required variables before ``base`` builds anything from them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import environ

REPO_ROOT = Path(__file__).resolve().parents[3]

env = environ.Env()
if (REPO_ROOT / ".env").exists():
    env.read_env(REPO_ROOT / ".env", overwrite=False)

# What production cannot run without: no default is safe for any of them, and without the database URLs the base
# settings would start an embedded database on the web host.
PRODUCTION_REQUIRED = ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "STREAMDATA_DATABASE_URL")
# Django's own floor for a secret key (its W009 deploy check): long, and not made of a handful of characters.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE_CHARACTERS = 5


def production_environment_problems(environment: Mapping[str, str]) -> list[str]:
    """Why ``environment`` cannot run the production settings; empty when it can."""
    problems = [f"{name} is not set" for name in PRODUCTION_REQUIRED if not environment.get(name, "").strip()]
    key = environment.get("DJANGO_SECRET_KEY", "")
    if key and (
        len(key) < SECRET_KEY_MIN_LENGTH
        or len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
        or key.startswith("django-insecure-")
    ):
        problems.append(
            f"DJANGO_SECRET_KEY is too weak: use at least {SECRET_KEY_MIN_LENGTH} random characters "
            '(python -c "import secrets; print(secrets.token_urlsafe(64))")'
        )
    return problems
