"""The data migrations of memberships: what ``0002_can_operate_devices`` gives the memberships made before it."""

from __future__ import annotations

import importlib

from django.db import connection

from server.apps.core.testing import make_member, make_org
from server.apps.org.models import OrgMembership
from server.apps.org.roles import ADMIN, MEMBER, OPERATOR
from server.apps.org.services import org_member_remove

can_operate_devices = importlib.import_module("server.apps.org.migrations.0002_can_operate_devices")


def test_can_operate_devices_goes_to_who_could_and_to_active_operators(db):
    org = make_org()
    users = {role: make_member(org, role) for role in (ADMIN, MEMBER, OPERATOR)}
    edited = make_member(org, MEMBER)  # a member whose can_modify_device was taken away one by one
    removed = make_member(org, OPERATOR)
    org_member_remove(membership=OrgMembership.objects.get(org=org, user=removed), removed_by=org.created_by)
    memberships = OrgMembership.objects.filter(org=org)
    for membership in memberships:
        membership.permissions.pop("can_operate_devices", None)
        if membership.user == edited:
            membership.permissions["can_modify_device"] = False
        membership.save(update_fields=["permissions"])
    with connection.cursor() as cursor:
        cursor.execute(can_operate_devices.FORWARD)
    granted = {m.user_id: m.permissions.get("can_operate_devices") for m in OrgMembership.objects.filter(org=org)}
    assert granted == {
        org.created_by.id: True,
        users[ADMIN].id: True,
        users[MEMBER].id: True,
        users[OPERATOR].id: True,
        edited.id: False,
        removed.id: False,
    }
    with connection.cursor() as cursor:
        cursor.execute(can_operate_devices.BACKWARD)
    assert not OrgMembership.objects.filter(permissions__has_key="can_operate_devices").exists()
