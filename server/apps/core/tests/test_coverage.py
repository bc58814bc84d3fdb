"""Meta-tests: every API view under /api/v1/ has a test class mixing in ``ScopedEndpointCases``, unless its route is
listed in ``EXEMPT_ROUTES`` with the reason it is not organisation-scoped.

Which view a test class checks is read from its optional ``viewset`` attribute, or else found by resolving the URLs
the class builds (``list_url``, ``detail_url(obj)``, ``get_list_url(obj)``, ``create_url(org)``) for a real object.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
from django.db import transaction
from django.urls import Resolver404, URLPattern, URLResolver, resolve
from rest_framework.views import APIView

from server.apps.core.api.viewsets import ScopedViewSetMixin
from server.apps.core.testing import ScopedEndpointCases
from server.config import api_urls

API_PREFIX = "/api/v1/"
APPS_DIR = Path(__file__).resolve().parents[2]

# Routes (prefixes under /api/v1/) whose views are not organisation-scoped, so the generic cases do not apply.
# A scoped view (a ScopedViewSetMixin subclass) can never be exempt.
EXEMPT_ROUTES: dict[str, str] = {
    "auth/": "logging in, out and refreshing tokens happen before any organisation is involved",
    "account/": "accounts belong to no organisation: users see their own, staff all (authentication selectors)",
    "server/": "the public server clock the clients check; it holds no data",
    "schema/": "the OpenAPI schema describes the API, not anyone's data",
    "docs/": "interactive documentation page for the schema",
    "redoc/": "interactive documentation page for the schema",
    "vartype/": "shared catalog owned by no organisation: any user reads, only staff write (IsStaffOrReadOnly)",
    "sg/": "shared catalog owned by no organisation: any user reads, only staff write (IsStaffOrReadOnly)",
    "dt/": "shared catalog owned by no organisation: any user reads, only staff write (IsStaffOrReadOnly)",
    "component/": "shared catalog owned by no organisation: any user reads, only staff write (IsStaffOrReadOnly)",
    "vartemplate/": "shared catalog owned by no organisation: any user reads, only staff write (IsStaffOrReadOnly)",
    "config/name/": "shared list of config names owned by no organisation: any user reads, only staff write",
    "(?P<token>": "a device's own telemetry: the device token in the path is its credential (telemetry tests)",
    "ttn/": "The Things Stack's webhook: the integration's secret header is its credential (telemetry tests)",
}


def _api_views(patterns, prefix: str = "") -> dict[type, list[str]]:
    """Every DRF view class reachable under the API urlconf, with the routes that reach it."""
    found: dict[type, list[str]] = {}
    for pattern in patterns:
        route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
        if isinstance(pattern, URLResolver):
            for view, routes in _api_views(pattern.url_patterns, route).items():
                found.setdefault(view, []).extend(routes)
        elif isinstance(pattern, URLPattern):
            view = getattr(pattern.callback, "cls", None)
            if isinstance(view, type) and issubclass(view, APIView):
                found.setdefault(view, []).append(route)
    return found


def _is_exempt(route: str) -> bool:
    return any(route.startswith(prefix) for prefix in EXEMPT_ROUTES)


def _import_test_modules() -> list[str]:
    """Import every app's test modules so their ScopedEndpointCases subclasses exist. Returns the ones that failed."""
    failed = []
    for tests_dir in sorted(APPS_DIR.glob("*/tests")):
        package = f"server.apps.{tests_dir.parent.name}.tests"
        for module in pkgutil.iter_modules([str(tests_dir)]):
            if not module.name.startswith("test_"):
                continue
            try:
                importlib.import_module(f"{package}.{module.name}")
            except (Exception, pytest.skip.Exception) as exc:
                failed.append(f"{package}.{module.name}: {exc}")
    return failed


def _case_classes() -> list[type]:
    seen, stack = [], list(ScopedEndpointCases.__subclasses__())
    while stack:
        cls = stack.pop()
        if cls not in seen:
            seen.append(cls)
            stack.extend(cls.__subclasses__())
    return [cls for cls in seen if cls.__name__.startswith("Test")]


def _view_of(url: str | None) -> type | None:
    if not url or not url.startswith(API_PREFIX):
        return None
    try:
        return getattr(resolve(url.split("?", 1)[0]).func, "cls", None)
    except Resolver404:
        return None


def _views_checked_by(case_class: type) -> set[type]:
    declared = getattr(case_class, "viewset", None)
    if declared is not None:
        return set(declared) if isinstance(declared, list | tuple | set) else {declared}
    case = case_class()
    views = {_view_of(case_class.list_url)}
    try:
        with transaction.atomic():
            org, obj = case._setup()
            views |= {_view_of(case.detail_url(obj)), _view_of(case.get_list_url(obj)), _view_of(case.create_url(org))}
            transaction.set_rollback(True)
    except Exception:  # a class whose objects need its own fixtures: fall back to its static list_url
        pass
    return {view for view in views if view is not None}


def test_exempt_routes_are_not_scoped_views():
    scoped_exempt = [
        f"{route} ({view.__name__})"
        for view, routes in _api_views(api_urls.urlpatterns).items()
        for route in routes
        if _is_exempt(route) and issubclass(view, ScopedViewSetMixin)
    ]
    assert not scoped_exempt, f"scoped views cannot be exempt from the generic cases: {scoped_exempt}"


def test_every_api_view_has_scoped_endpoint_cases(db):
    failed_imports = _import_test_modules()
    checked: set[type] = set()
    for case_class in _case_classes():
        checked |= _views_checked_by(case_class)
    missing = sorted(
        f"{view.__module__}.{view.__qualname__} at {', '.join(API_PREFIX + r for r in routes)}"
        for view, routes in _api_views(api_urls.urlpatterns).items()
        if view not in checked and not all(_is_exempt(route) for route in routes)
    )
    assert not missing, (
        "These API views have no test class mixing in ScopedEndpointCases (server/apps/core/testing.py); add one, "
        "or, for a view that is not organisation-scoped, add its route to EXEMPT_ROUTES with the reason:\n  "
        + "\n  ".join(missing)
        + (f"\nTest modules that failed to import: {failed_imports}" if failed_imports else "")
    )
