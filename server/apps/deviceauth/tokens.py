"""Device tokens: ``Authorization: a-jwt <token>``.

``IOTileCloud.impersonate_device`` asks ``device/<d>/key/?type=a-jwt`` for a token and then acts *as the device*:
a virtual device or a gateway uploads its reports and reads its own streams without holding its user's password or
login token. The token is a JWT signed (HS256) with the device's own ``A-JWT-KEY`` secret, made on first use; its
payload is ``{user, device, project, iat, exp}``.

A request with a valid token is authenticated as the user who asked for the token, narrowed to that device
(:class:`DeviceScope`, the ``token_scope`` of ``core.scoping``): every scoped queryset is cut down to the device,
its project's variables, its streams and their data, its streamers and reports, and only for reading and adding
data. Within that, the user's role still decides. A token stops working when the device is unclaimed or moved to
another project, deactivated, its ``A-JWT-KEY`` is rotated, or the user is deactivated.

Which endpoints take a device token at all (:func:`view_accepts_device_tokens`): reads on scoped viewsets (their
querysets are narrowed) and catalogs, writes on scoped viewsets of a model the token may write, and any view that
sets ``accepts_device_tokens = True``. Anything else (accounts, login tokens, logout, new organisations) is a 403,
so a device token never turns back into the user's own credentials.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import jwt
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Q
from rest_framework import authentication, exceptions
from rest_framework.permissions import SAFE_METHODS

from server.apps.core.slugs import SlugError, device_slug, parse_device_slug
from server.apps.deviceauth.models import DeviceKey, DeviceKeyType

DEVICE_TOKEN_PREFIX = "a-jwt"
DEVICE_TOKEN_ALGORITHM = "HS256"
# The clients treat device tokens as permanent (they never refresh them); they stop working sooner when the device
# leaves its project or its key is rotated.
DEVICE_TOKEN_LIFETIME = timedelta(days=3650)
REQUIRED_CLAIMS = ("user", "device", "project", "exp")

_QuerySet = TypeVar("_QuerySet", bound=models.QuerySet)


def new_device_token_secret() -> str:
    return secrets.token_urlsafe(48)


def device_token_encode(*, user, device, secret: str, now: datetime | None = None) -> str:
    issued = now or datetime.now(UTC)
    payload = {
        "user": user.pk,
        "device": device.slug,
        "project": str(device.project_id),
        "iat": int(issued.timestamp()),
        "exp": issued + DEVICE_TOKEN_LIFETIME,
    }
    return jwt.encode(payload, secret, algorithm=DEVICE_TOKEN_ALGORITHM)


# What a device token reaches ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceScope:
    """The reach of one device's token. Models it does not name are out of reach altogether."""

    device_id: int
    project_id: Any
    org_id: Any

    @property
    def device_slug(self) -> str:
        return device_slug(self.device_id)

    def narrow(self, queryset: _QuerySet, action: str) -> _QuerySet:
        reach = DEVICE_TOKEN_REACH.get(queryset.model._meta.label)
        if reach is None or action not in reach.actions:
            return queryset.none()
        return queryset.filter(reach.rows(self))

    def allows_org_permission(self, org: Any, permission: str | None) -> bool:
        return org is not None and org.pk == self.org_id and permission in DEVICE_TOKEN_PERMISSIONS

    def allows_create(self, obj: models.Model) -> bool:
        reach = DEVICE_TOKEN_REACH.get(obj._meta.label)
        return reach is not None and "add" in reach.actions


@dataclass(frozen=True)
class Reach:
    rows: Callable[[DeviceScope], Q]
    actions: frozenset[str]


READ = frozenset({"view"})


def _device_events(scope: DeviceScope) -> Q:
    """The events of the device's live streams (not those archived in its data blocks), by series id."""
    streams = apps.get_model("stream", "StreamId").objects.filter(device_id=scope.device_id, block__isnull=True)
    return Q(series__in=streams.values("series"), org_id=scope.org_id)


# Reading and adding data: what a device (or a phone or gateway acting for it) does.
DEVICE_TOKEN_REACH: dict[str, Reach] = {
    "device.Device": Reach(lambda scope: Q(pk=scope.device_id), READ),
    "project.Project": Reach(lambda scope: Q(pk=scope.project_id), READ),
    "stream.StreamVariable": Reach(lambda scope: Q(project_id=scope.project_id), READ),
    "stream.StreamId": Reach(
        lambda scope: Q(device_id=scope.device_id, project_id=scope.project_id),
        frozenset({"view", "read_data", "create_data"}),
    ),
    "streamer.Streamer": Reach(lambda scope: Q(device_id=scope.device_id), READ),
    "streamer.StreamerReport": Reach(lambda scope: Q(streamer__device_id=scope.device_id), frozenset({"view", "add"})),
    "streamevent.StreamEventData": Reach(lambda scope: _device_events(scope), frozenset({"view", "add"})),
    # A gateway acting for the device runs its updater (docs/updates.md): the device's fleets, the deployments for
    # it and their scripts, and reporting its own attempts.
    "fleet.Fleet": Reach(lambda scope: Q(org_id=scope.org_id, memberships__device_id=scope.device_id), READ),
    "ota.DeploymentRequest": Reach(
        lambda scope: (
            Q(org_id=scope.org_id) & (Q(fleet__isnull=True) | Q(fleet__memberships__device_id=scope.device_id))
        ),
        READ,
    ),
    "ota.DeviceScript": Reach(lambda scope: Q(org_id=scope.org_id), READ),
    "ota.DeploymentAction": Reach(lambda scope: Q(device_id=scope.device_id), frozenset({"view", "add"})),
}
# Organisation permissions a device token may use (None: plain membership).
DEVICE_TOKEN_PERMISSIONS = frozenset({None, "can_read_stream_ids", "can_read_stream_data", "can_create_stream_data"})


def view_accepts_device_tokens(view: Any, method: str) -> bool:
    """Reads on scoped views and catalogs; writes only on scoped views of a model the token may write (reports,
    events, stream data), or on views that opt in with ``accepts_device_tokens``. Writes elsewhere (a new
    organisation, say) are refused outright, not left to each service's checks."""
    # Imported here: DRF reads this module's class while defining its views, before view modules can import.
    from server.apps.core.api.catalog import CatalogViewSet
    from server.apps.core.api.viewsets import ScopedViewSetMixin

    if getattr(view, "accepts_device_tokens", False):
        return True
    if isinstance(view, CatalogViewSet):
        return method in SAFE_METHODS
    if not isinstance(view, ScopedViewSetMixin):
        return False
    if method in SAFE_METHODS:
        return True
    queryset = getattr(view, "queryset", None)
    reach = DEVICE_TOKEN_REACH.get(queryset.model._meta.label) if queryset is not None else None
    return reach is not None and bool(reach.actions - READ)


# Authentication -----------------------------------------------------------------------------------------------------


def _token_from_header(request) -> str | None:
    header = authentication.get_authorization_header(request).split()
    if not header or header[0].decode("latin-1").lower() != DEVICE_TOKEN_PREFIX:
        return None
    if len(header) != 2:
        raise exceptions.AuthenticationFailed("Invalid Authorization header: expected 'a-jwt <token>'.")
    try:
        return header[1].decode("ascii")
    except UnicodeDecodeError as exc:
        raise exceptions.AuthenticationFailed("Invalid token.") from exc


def device_token_decode(token: str, *, permission: str | None = None) -> tuple[Any, DeviceScope]:
    """The user and the device scope of a valid token; ``AuthenticationFailed`` for anything else. One query: the
    token's user with its device's signing key, the device's state and, with ``permission``, whether the user is an
    active member of the device's organisation and holds it. Nothing is cached, so a rotated or revoked key, a
    deactivated device or user and a removed membership take effect on the next request.

    With ``permission``: a user who is no longer a member of the device's organisation (staff excepted) is refused
    like a revoked token (401); a member without the permission is the caller's to refuse (``token_permitted``)."""
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
        device_id = parse_device_slug(unverified["device"])
        user_id = unverified["user"]
    except (jwt.PyJWTError, KeyError, TypeError, SlugError) as exc:
        raise exceptions.AuthenticationFailed("Invalid device token.") from exc
    if type(user_id) is not int:
        raise exceptions.AuthenticationFailed("Invalid device token.")
    user_model = get_user_model()
    membership = apps.get_model("org", "OrgMembership")
    permitted, params = "false", []
    if permission is not None:
        permitted, params = "membership.permissions -> %s = 'true'::jsonb", [permission]
    # Written out: the ORM's compilation of these subqueries cost more than their execution on the hot path.
    sql = (
        "SELECT account.*, signing.secret AS token_secret, device.active AS token_device_active, "
        "device.project_id AS token_project_id, device.org_id AS token_org_id, "
        "membership.id IS NOT NULL AS token_member, "
        f"coalesce({permitted}, false) AS token_permitted "
        f"FROM {user_model._meta.db_table} AS account "
        f"LEFT JOIN {DeviceKey._meta.db_table} AS signing ON signing.type = %s AND signing.device_id = %s "
        f"LEFT JOIN {apps.get_model('device', 'Device')._meta.db_table} AS device ON device.id = signing.device_id "
        f"LEFT JOIN {membership._meta.db_table} AS membership ON membership.user_id = account.id "
        "AND membership.org_id = device.org_id AND membership.is_active "
        "WHERE account.id = %s"
    )
    # Any: the account comes with the token_* columns of the query as attributes.
    user: Any = next(iter(user_model.objects.raw(sql, [*params, DeviceKeyType.A_JWT, device_id, user_id])), None)
    if user is None or user.token_secret is None:
        raise exceptions.AuthenticationFailed("Invalid device token.")
    try:
        payload = jwt.decode(
            token, user.token_secret, algorithms=[DEVICE_TOKEN_ALGORITHM], options={"require": list(REQUIRED_CLAIMS)}
        )
    except jwt.ExpiredSignatureError as exc:
        raise exceptions.AuthenticationFailed("Device token has expired.") from exc
    except jwt.PyJWTError as exc:
        raise exceptions.AuthenticationFailed("Invalid device token.") from exc
    del user.token_secret
    if (
        not user.token_device_active
        or user.token_project_id is None
        or str(user.token_project_id) != str(payload["project"])
    ):
        raise exceptions.AuthenticationFailed("The device is not active in the token's project.")
    if not user.is_active:
        raise exceptions.AuthenticationFailed("User inactive or deleted.")
    if permission is not None and not (user.token_member or user.is_staff):
        raise exceptions.AuthenticationFailed("The token's user is no longer a member of the device's organisation.")
    return user, DeviceScope(device_id=device_id, project_id=user.token_project_id, org_id=user.token_org_id)


class DeviceTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: a-jwt <token>``: the issuing user, narrowed to the token's device (module doc)."""

    def authenticate(self, request):
        token = _token_from_header(request)
        if token is None:
            return None
        user, scope = device_token_decode(token)
        view = (getattr(request, "parser_context", None) or {}).get("view")
        if not view_accepts_device_tokens(view, request.method):
            raise exceptions.PermissionDenied("Device (a-jwt) tokens are not accepted here.")
        user.token_scope = scope
        return user, scope

    def authenticate_header(self, request) -> str:
        return 'JWT realm="api"'
