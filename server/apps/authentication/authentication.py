"""API authentication the IOTile clients speak.

* ``Authorization: jwt|JWT|Bearer <token>``: a signed JSON Web Token from ``auth/login/``, refreshed by posting it to
  ``auth/api-jwt-refresh/`` until the refresh limit after the original login.
* ``Authorization: Token|token <key>``: a DRF token.

A malformed or expired token is a 401, never a 500 (the clients send ``jwt None`` before they log in). A JWT carries
the account's ``token_generation``; logout and a password change bump it, which revokes every JWT issued before.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Q
from rest_framework import authentication, exceptions

from server.apps.core.compiled import CompiledQuery

JWT_PREFIXES = ("jwt", "bearer")
TOKEN_PREFIXES = ("token",)


def _jwt_settings() -> dict[str, Any]:
    return settings.JWT_AUTH


def jwt_encode(user, *, original_issued_at: datetime | None = None) -> str:
    now = datetime.now(UTC)
    issued = original_issued_at or now
    payload = {
        "user_id": user.pk,
        "username": user.username,
        "email": user.email,
        "exp": now + _jwt_settings()["EXPIRATION"],
        "orig_iat": int(issued.timestamp()),
        "gen": user.token_generation,
        "jti": secrets.token_hex(8),  # two tokens issued in the same second still differ
    }
    return jwt.encode(payload, settings.SECRET_KEY, algorithm=_jwt_settings()["ALGORITHM"])


INTEGER_CLAIMS = ("user_id", "orig_iat", "gen")
# A token's claims never change, and checking its base64 and signature was the largest part of a JWT request's
# authentication: each process keeps the claims of the last JWT_CLAIMS_KEPT tokens that decoded (never of one that
# failed). The expiry is compared on every use, and jwt_user reads the account on every request, so a revoked
# token, an inactive or a deleted account fail at once, as when every token was decoded.
JWT_CLAIMS_KEPT = 1024


def jwt_decode(token: str) -> dict[str, Any]:
    """The claims of a valid, unexpired token (a copy: the kept ones stay as decoded)."""
    claims, expires = _verified_claims(token, settings.SECRET_KEY, _jwt_settings()["ALGORITHM"])
    if expires <= time.time():  # PyJWT's own test, without leeway
        raise exceptions.AuthenticationFailed("Signature has expired.")
    return dict(claims)


@lru_cache(maxsize=JWT_CLAIMS_KEPT)
def _verified_claims(token: str, secret: str, algorithm: str) -> tuple[dict[str, Any], int]:
    try:
        payload = jwt.decode(token, secret, algorithms=[algorithm], options={"require": ["exp", *INTEGER_CLAIMS]})
    except jwt.ExpiredSignatureError as exc:
        raise exceptions.AuthenticationFailed("Signature has expired.") from exc
    except jwt.PyJWTError as exc:
        raise exceptions.AuthenticationFailed("Invalid token.") from exc
    if not all(type(payload[claim]) is int for claim in INTEGER_CLAIMS):
        raise exceptions.AuthenticationFailed("Invalid token.")
    return payload, int(payload["exp"])  # PyJWT has checked that it reads as an integer


def _account_with_org_ids(account_id: int):
    # The account's organisations come in the same query, for the per-organisation throttle (core/api/throttles.py).
    model = get_user_model()
    org_ids = ArrayAgg("org_memberships__org_id", distinct=True, default=[], filter=Q(org_memberships__is_active=True))
    columns = [field.attname for field in model._meta.concrete_fields]
    return (
        model.objects.filter(pk=account_id).annotate(throttle_org_ids=org_ids).values_list(*columns, "throttle_org_ids")
    )


# Every API request with a JWT reads its account: compiled once (core/compiled.py).
_ACCOUNT = CompiledQuery(_account_with_org_ids, account_id=int)


def account_for_token(account_id: int):
    """The account ``account_id`` with ``throttle_org_ids``, the organisations it is an active member of; None when
    there is no such account. One query."""
    if not -(1 << 63) <= account_id < 1 << 63:  # no id is out of the column's range
        return None
    rows = _ACCOUNT.rows(account_id=account_id)
    if not rows:
        return None
    model = get_user_model()
    *values, org_ids = rows[0]
    # Any: the account also carries the organisations its throttles count in, a column of the query.
    account: Any = model.from_db(model.objects.db, [field.attname for field in model._meta.concrete_fields], values)
    account.throttle_org_ids = org_ids
    return account


def jwt_user(payload: dict[str, Any]):
    """The active account a decoded token names, provided the token has not been revoked."""
    user = account_for_token(payload["user_id"])
    if user is None or not user.is_active:
        raise exceptions.AuthenticationFailed("User inactive or deleted.")
    if payload["gen"] != user.token_generation:
        raise exceptions.AuthenticationFailed("Token has been revoked; log in again.")
    return user


def jwt_refresh(token: str) -> str:
    """A new token for a valid one, while still within the refresh limit of the original login."""
    payload = jwt_decode(token)
    user = jwt_user(payload)
    try:
        original = datetime.fromtimestamp(payload["orig_iat"], UTC)
    except (ValueError, OverflowError, OSError) as exc:  # a timestamp outside what datetime can hold
        raise exceptions.AuthenticationFailed("Invalid token.") from exc
    if datetime.now(UTC) - original > _jwt_settings()["REFRESH_LIMIT"]:
        raise exceptions.AuthenticationFailed("Refresh has expired.")
    return jwt_encode(user, original_issued_at=original)


def _split_header(request, prefixes: tuple[str, ...]) -> str | None:
    header = authentication.get_authorization_header(request).split()
    if not header or header[0].decode("latin-1").lower() not in prefixes:
        return None
    if len(header) != 2:
        raise exceptions.AuthenticationFailed("Invalid Authorization header: expected '<type> <token>'.")
    try:
        return header[1].decode("ascii")
    except UnicodeDecodeError as exc:
        raise exceptions.AuthenticationFailed("Invalid token.") from exc


class JSONWebTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        token = _split_header(request, JWT_PREFIXES)
        if token is None:
            return None
        return jwt_user(jwt_decode(token)), token

    def authenticate_header(self, request) -> str:
        return 'JWT realm="api"'


class PrefixedTokenAuthentication(authentication.TokenAuthentication):
    """DRF tokens, with the prefix compared case-insensitively."""

    def authenticate(self, request):
        key = _split_header(request, TOKEN_PREFIXES)
        if key is None:
            return None
        return self.authenticate_credentials(key)
