"""The development secret key: random, made on the first start and kept in ``LOCAL_DATA_DIR/secret_key``.

Every process of one checkout (web server, worker, ``manage.py``) reads the same file, so tokens signed by one are
valid in the others, and no key that signs anything is ever committed. Production never comes here: it refuses to
start without ``DJANGO_SECRET_KEY`` (``settings/production.py``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_KEY_FILE = "secret_key"


def local_secret_key(data_dir: Path) -> str:
    """The key in ``data_dir/secret_key``, made (readable by its owner only) when there is none. Processes starting
    together agree on one key: each writes its own candidate aside and links it into place, and only the first link
    succeeds, so no process ever reads a half-written key."""
    path = data_dir / SECRET_KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        candidate = data_dir / f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_urlsafe(64) + "\n")
            try:
                os.link(candidate, path)
            except FileExistsError:
                pass  # another process made it first: use theirs
        finally:
            candidate.unlink()
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: delete it to have a new key made")
    return key
