"""The scoping rules config attributes declare: write permission by target kind, and users' own rows."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from server.apps.configattribute.models import ConfigAttribute
from server.apps.configattribute.tests.factories import config_name, set_config
from server.apps.core.scoping import permission_for, user_can_create
from server.apps.core.testing import make_member, make_user
from server.apps.device.tests.factories import make_device, make_project
from server.apps.org.roles import MEMBER


@pytest.fixture
def rows(db):
    device = make_device(make_project())
    member = make_member(device.org, MEMBER)
    return {
        "device": set_config(device, ":a", 1),
        "project": set_config(device.project, ":a", 2),
        "org": set_config(device.org, ":a", 3),
        "mine": set_config(member, ":a", 4),
        "theirs": set_config(device.org.created_by, ":a", 5),
        "member": member,
    }


def test_restrict_by_target_kind_and_owner(rows):
    member = rows["member"]
    visible = set(ConfigAttribute.objects.restrict(member, "view"))
    assert visible == {rows["device"], rows["project"], rows["org"], rows["mine"]}
    writable = set(ConfigAttribute.objects.restrict(member, "change"))
    assert writable == {rows["device"], rows["mine"]}
    staff = make_user(is_staff=True)
    assert ConfigAttribute.objects.restrict(staff, "delete").count() == 5


def test_permission_for_reads_the_row(rows):
    assert permission_for(ConfigAttribute, "change", rows["org"]) == "can_manage_org_and_projects"
    assert permission_for(ConfigAttribute, "change", rows["device"]) == "can_modify_device"
    with pytest.raises(ValueError):
        permission_for(ConfigAttribute, "change")


def test_user_can_create_follows_the_same_rules(rows):
    member = rows["member"]
    for key, allowed in (("device", True), ("project", False), ("org", False), ("mine", True), ("theirs", False)):
        row = rows[key]
        unsaved = ConfigAttribute(
            target=row.target, target_kind=row.target_kind, org=row.org, target_user=row.target_user, name=row.name
        )
        assert user_can_create(member, unsaved) is allowed, key


def test_user_rows_have_no_org(rows):
    with pytest.raises(IntegrityError):
        ConfigAttribute.objects.create(
            target="@x", target_kind="user", org=rows["org"].org, target_user=rows["member"], name=config_name(":a")
        )
