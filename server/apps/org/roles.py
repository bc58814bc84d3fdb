"""Organisation roles and the permission keys each grants.

A membership copies its role's permission set when the role is given, so a member's permissions can later be
edited one by one.
"""

from __future__ import annotations

from server.apps.core.scoping import STAFF_ONLY

PERMISSION_KEYS = (
    "can_delete_org",
    "can_manage_users",
    "can_manage_ota",
    "can_manage_org_and_projects",
    "can_claim_devices",
    "can_modify_device",
    "can_operate_devices",
    "can_read_stream_ids",
    "can_modify_stream_ids",
    "can_read_device_properties",
    "can_modify_device_properties",
    "can_read_notes",
    "can_read_device_locations",
    "can_read_stream_data",
    "can_create_stream_data",
    "can_create_datablock",
    "can_access_datablock",
    "can_delete_datablock",
    "can_reset_device",
    "can_access_reports",
    "can_create_reports",
    "can_manage_stream_aliases",
    "can_create_stream_ids",
    "can_access_classic",
    "can_access_webapp",
    "can_access_companion",
)

STAFF = "s0"
OWNER = "a0"
ADMIN = "a1"
MEMBER = "m1"
OPERATOR = "r1"
DEVELOPER = "d1"

ROLE_CHOICES = [
    (STAFF, "Staff"),
    (OWNER, "Owner"),
    (ADMIN, "Administrator"),
    (MEMBER, "Member"),
    (OPERATOR, "Operator"),
    (DEVELOPER, "Developer"),
]


def _grant(*keys: str) -> dict[str, bool]:
    unknown = set(keys) - set(PERMISSION_KEYS)
    assert not unknown, f"unknown permission keys {unknown}"
    return {key: key in keys for key in PERMISSION_KEYS}


_ALL = PERMISSION_KEYS
_OWNER = tuple(k for k in _ALL if k not in ("can_manage_ota", "can_create_stream_ids"))
_ADMIN = tuple(k for k in _OWNER if k not in ("can_delete_org", "can_delete_datablock"))
_MEMBER = (
    "can_read_stream_ids",
    "can_modify_device",
    "can_operate_devices",
    "can_modify_stream_ids",
    "can_read_device_properties",
    "can_modify_device_properties",
    "can_read_notes",
    "can_read_device_locations",
    "can_read_stream_data",
    "can_create_stream_data",
    "can_access_datablock",
    "can_access_reports",
    "can_access_classic",
    "can_access_webapp",
    "can_access_companion",
)
# An operator runs the fleet: sends devices commands and other operations (``can_operate_devices``), without editing
# the devices' records (docs/permissions.md).
_OPERATOR = ("can_read_stream_ids", "can_create_stream_data", "can_operate_devices", "can_access_companion")
_DEVELOPER = (*_ADMIN, "can_manage_ota", "can_create_stream_ids")

ROLE_PERMISSIONS: dict[str, dict[str, bool]] = {
    STAFF: _grant(*_ALL),
    OWNER: _grant(*_OWNER),
    ADMIN: _grant(*_ADMIN),
    MEMBER: _grant(*_MEMBER),
    OPERATOR: _grant(*_OPERATOR),
    DEVELOPER: _grant(*_DEVELOPER),
}


def permissions_for_role(role: str) -> dict[str, bool]:
    return dict(ROLE_PERMISSIONS[role])


# Who may hand out (or take away) a role: by default whoever may manage users, but only owners make or unmake owners
# and only platform staff give the staff role, so an administrator cannot promote themselves past their own rights.
ROLE_GRANT_PERMISSIONS: dict[str, str] = {STAFF: STAFF_ONLY, OWNER: "can_delete_org"}
DEFAULT_GRANT_PERMISSION = "can_manage_users"


def permission_to_grant(role: str) -> str:
    return ROLE_GRANT_PERMISSIONS.get(role, DEFAULT_GRANT_PERMISSION)
