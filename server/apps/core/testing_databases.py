"""The test databases: migrated once per run into templates, then copied for each test process (docs/testing.md).

The first process of a run (under a file lock shared by the run's processes) creates and migrates a template of
each database, named after a digest of the migration files; every process then copies the templates under its own
names with ``CREATE DATABASE … TEMPLATE …``, which takes a second where migrating takes minutes. The last process
out drops the templates, so the next run migrates from scratch again; ``--reuse-db`` keeps them for the next run
while the digest is the same, and ``--create-db`` rebuilds them.
"""

from __future__ import annotations

import ast
import contextlib
import fcntl
import hashlib
import importlib
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import django
from django.apps import apps
from django.conf import settings
from django.db import connections
from django.db.migrations.loader import MigrationLoader

# Default first: a streamdata migration reads the default database (docs/databases.md).
ALIASES = ("default", "streamdata")
LOCK_FILE = "test-databases.lock"


def migration_files() -> list[Path]:
    """The files that decide the migrated schema: every migration of the installed apps, and the project modules
    that the project's migrations import (a helper they call shapes the schema as much as they do)."""
    files: set[Path] = set()
    for app in apps.get_app_configs():
        module_name, _ = MigrationLoader.migrations_module(app.label)
        if module_name is None:
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        for folder in getattr(module, "__path__", ()):
            files.update(Path(folder).glob("*.py"))
    for path in [path for path in files if path.parent.name == "migrations" and "server" in path.parts]:
        for node in ast.walk(ast.parse(path.read_bytes())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                spec = importlib.util.find_spec(name) if name.startswith("server.") else None
                if spec is not None and spec.origin:
                    files.add(Path(spec.origin))
    return sorted(files)


def migrations_digest(files: list[Path]) -> str:
    """A short digest of Django's version and of the files' names and contents: a changed migration changes it."""
    digest = hashlib.sha256(django.get_version().encode())
    for path in files:
        digest.update(f"{path.parent.name}/{path.name}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:12]


def template_name(test_name: str, digest: str) -> str:
    return f"{test_name}_tpl_{digest}"


def run_name(test_name: str, suffix: str, run_id: str, *, copy: bool = True) -> str:
    """pytest-django's name for a process's database (``test_iotile_gw0``) with the run's id before the process's
    suffix (``test_iotile_1f2e3d4c_gw0``); without the suffix (``copy=False``), the run's base for its templates."""
    base = test_name.removesuffix(f"_{suffix}") if suffix else test_name
    return "_".join(part for part in (base, run_id, suffix if copy else "") if part)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _on_server(alias: str, *statements: str) -> set[str]:
    """Run statements on the server of ``alias``, connected to none of our databases (the server's maintenance
    database, as Django does to create a test database); return the names of the server's databases."""
    connection = connections[alias]
    connection.close()
    with connection.creation._nodb_cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
        cursor.execute("SELECT datname FROM pg_database")
        return {row[0] for row in cursor.fetchall()}


def _quoted(alias: str, name: str) -> str:
    return connections[alias].ops.quote_name(name)


@dataclass
class TemplateDatabases:
    """One process's test databases, copied from its run's templates.

    ``run_dir`` is a folder that the run's processes (xdist's workers) share and no other run uses; ``suffix`` is
    the one pytest-django gave this process's database names (``gw0``), left out of the templates' names. ``run_id``
    goes into every name, the templates' included, so that two runs on one server never meet (a run in CI and one on
    a developer's machine): it is empty with ``--reuse-db``, whose databases are found again by name."""

    run_dir: Path
    suffix: str
    run_id: str
    reuse: bool
    rebuild: bool
    verbosity: int
    digest: str = field(init=False)
    test_names: dict[str, str] = field(init=False)
    names: dict[str, str] = field(init=False)
    original_names: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.digest = migrations_digest(migration_files())
        self.test_names = {alias: connections[alias].settings_dict["TEST"]["NAME"] for alias in ALIASES}
        self.names = {alias: run_name(name, self.suffix, self.run_id) for alias, name in self.test_names.items()}
        self.original_names = {alias: connections[alias].settings_dict["NAME"] for alias in ALIASES}

    def template(self, alias: str) -> str:
        return template_name(run_name(self.test_names[alias], self.suffix, self.run_id, copy=False), self.digest)

    def _marker(self, state: str) -> Path:
        return self.run_dir / f"test-databases-{self.digest}.{state}"

    def set_up(self, serialized_aliases: set[str]) -> None:
        """Copy the templates under this process's names, building them first if this run has not."""
        built, failed, users = self._marker("built"), self._marker("failed"), self._marker("users")
        with _locked(self.run_dir / LOCK_FILE):
            if failed.exists():
                raise RuntimeError(f"Migrating the test databases failed in another process: {failed.read_text()}")
            if not built.exists():
                try:
                    self._build()
                except BaseException as exc:
                    failed.write_text(repr(exc))
                    raise
                built.touch()
            users.write_text(str(int(users.read_text()) + 1 if users.exists() else 1))
            for alias in ALIASES:
                name, template = _quoted(alias, self.names[alias]), _quoted(alias, self.template(alias))
                _on_server(alias, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name} TEMPLATE {template}")
                settings.DATABASES[alias]["NAME"] = connections[alias].settings_dict["NAME"] = self.names[alias]
                connections[alias].settings_dict["TEST"]["NAME"] = self.names[alias]
        for alias in serialized_aliases:
            connection = connections[alias]
            connection._test_serialized_contents = connection.creation.serialize_db_to_string()

    def _build(self) -> None:
        """Migrate each template from scratch under a temporary name, then give it its name, so a template that
        exists is whole. Without ``--reuse-db`` a run migrates its own templates, whatever an earlier run left."""
        kept = self.reuse and not self.rebuild
        if kept and all(self.template(alias) in _on_server(alias) for alias in ALIASES):
            return
        for alias in ALIASES:
            base = self.template(alias).removesuffix(self.digest)
            stale = [name for name in _on_server(alias) if name.startswith(base)]
            _on_server(alias, *(f"DROP DATABASE {_quoted(alias, name)}" for name in stale))
            connection = connections[alias]
            connection.settings_dict["TEST"]["NAME"] = f"{self.template(alias)}_new"
            try:
                connection.creation.create_test_db(verbosity=self.verbosity, autoclobber=True, serialize=False)
            finally:
                connection.settings_dict["TEST"]["NAME"] = self.names[alias]
        for alias in ALIASES:
            new, template = _quoted(alias, f"{self.template(alias)}_new"), _quoted(alias, self.template(alias))
            _on_server(alias, f"ALTER DATABASE {new} RENAME TO {template}")

    def tear_down(self) -> None:
        """Drop this process's copies (kept with ``--reuse-db``); the run's last process drops the templates."""
        for alias in ALIASES:
            connection = connections[alias]
            connection.close()
            settings.DATABASES[alias]["NAME"] = connection.settings_dict["NAME"] = self.original_names[alias]
            connection.settings_dict["TEST"]["NAME"] = self.test_names[alias]
            if not self.reuse:
                # A child process that a test started, or killed, may still hold a session: FORCE ends it, where a
                # plain DROP would fail the run's last test at teardown.
                _on_server(alias, f"DROP DATABASE IF EXISTS {_quoted(alias, self.names[alias])} WITH (FORCE)")
        built, users = self._marker("built"), self._marker("users")
        with _locked(self.run_dir / LOCK_FILE):
            left = int(users.read_text()) - 1
            users.write_text(str(left))
            if left == 0 and not self.reuse:
                for alias in ALIASES:
                    _on_server(alias, f"DROP DATABASE IF EXISTS {_quoted(alias, self.template(alias))}")
                built.unlink()
