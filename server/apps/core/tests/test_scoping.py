"""``ScopedQuerySet.with_permission``: the permission read with the row answers ``user_can`` as its own query does."""

from __future__ import annotations

import pytest

from server.apps.configattribute.models import ConfigAttribute
from server.apps.configattribute.tests.factories import set_config
from server.apps.core.scoping import user_can
from server.apps.core.testing import assert_query_count, make_member, make_user
from server.apps.device.tests.factories import make_device, make_project, make_stream
from server.apps.deviceauth.tokens import DeviceScope
from server.apps.org.roles import MEMBER, OPERATOR
from server.apps.stream.models import StreamId


def _same_answers(model, users, actions) -> None:
    """For every user, row and action: the annotation, read with no query, is what ``user_can`` asks the
    database for the unannotated row."""
    for user in users:
        for action in actions:
            rows = list(model.objects.order_by("pk"))
            annotated = list(model.objects.with_permission(user, action).order_by("pk"))
            with assert_query_count(0):
                held = [user_can(user, row, action) for row in annotated]
            assert held == [user_can(user, row, action) for row in rows], (user, action)


@pytest.mark.django_db
def test_stream_permissions_read_with_the_row():
    device = make_device(make_project())
    stream = make_stream(device)
    other = make_stream(make_device(make_project()))
    member, operator = make_member(device.org, MEMBER), make_member(device.org, OPERATOR)
    token_user = make_member(device.org, MEMBER)
    token_user.token_scope = DeviceScope(device_id=device.id, project_id=device.project_id, org_id=device.org_id)
    users = [member, operator, device.org.created_by, make_user(is_staff=True), make_user(), token_user]
    _same_answers(StreamId, users, ("view", "read_data", "change", "delete"))
    # The cases that matter on the data endpoints.
    for user, row, allowed in ((member, stream, True), (operator, stream, False), (member, other, False)):
        annotated = StreamId.objects.with_permission(user, "read_data").get(pk=row.pk)
        assert user_can(user, annotated, "read_data") is allowed


@pytest.mark.django_db
def test_permission_by_field_and_owner_read_with_the_row():
    device = make_device(make_project())
    member = make_member(device.org, MEMBER)
    set_config(device, ":a", 1)
    set_config(device.project, ":a", 2)
    set_config(member, ":a", 3)
    set_config(device.org.created_by, ":a", 4)
    _same_answers(ConfigAttribute, [member, device.org.created_by, make_user(is_staff=True)], ("view", "change"))
