"""``stream_for_data``, the compiled stream lookup of every data read, answers as ``stream_list_for_data`` does."""

from __future__ import annotations

import pytest

from server.apps.core.scoping import user_can
from server.apps.core.testing import assert_query_count, make_member, make_user
from server.apps.device.tests.factories import make_device, make_project, make_stream
from server.apps.deviceauth.tokens import DeviceScope
from server.apps.org.models import OrgMembership
from server.apps.org.roles import MEMBER, OPERATOR
from server.apps.stream.selectors import (
    stream_for_chart,
    stream_for_data,
    stream_list_for_chart,
    stream_list_for_data,
)
from server.apps.vartype.models import VarType, VarTypeOutputUnit


def _seen(user, stream):
    """What a data read needs of the stream, and whether the user may read its data."""
    if stream is None:
        return None
    unit = stream.output_unit
    unit = (unit.m, unit.d, unit.o, unit.decimal_places) if unit is not None else None
    return stream.pk, stream.slug, stream.series, unit, user_can(user, stream, "read_data")


def _streams_and_users():
    """Streams with and without an output unit, and another organisation's; every kind of user of the first
    organisation, staff, an outsider, a device token's user and an inactive account."""
    device = make_device(make_project())
    var_type = VarType.objects.create(name="Volume", slug="volume")
    unit = VarTypeOutputUnit.objects.create(var_type=var_type, unit_full="mL", slug="out--volume--ml", m=1000, d=3)
    streams = [make_stream(device), make_stream(device, var_type="volume", output_unit=unit.slug)]
    streams.append(make_stream(make_device(make_project())))  # another organisation's
    member, operator = make_member(device.org, MEMBER), make_member(device.org, OPERATOR)
    token_user = make_member(device.org, MEMBER)
    token_user.token_scope = DeviceScope(device_id=device.id, project_id=device.project_id, org_id=device.org_id)
    inactive = make_member(device.org, MEMBER)
    inactive.is_active = False
    users = [member, operator, device.org.created_by, make_user(is_staff=True), make_user(), token_user, inactive]
    return streams, users


@pytest.mark.django_db
def test_the_same_answer_as_the_scoped_queryset_for_every_kind_of_user():
    streams, users = _streams_and_users()
    for user in users:
        for stream in streams:
            expected = _seen(user, stream_list_for_data(user=user).filter(slug=stream.slug).first())
            with assert_query_count(1 if user.is_active else 0):  # an inactive account sees nothing, unasked
                found = stream_for_data(user=user, slug=stream.slug)
            with assert_query_count(0):
                assert _seen(user, found) == expected, (user, stream)
    assert stream_for_data(user=users[0], slug="s--0000-0fff--0000-0000-0000-0fff--5001") is None


@pytest.mark.django_db
def test_a_permission_change_counts_on_the_next_read():
    stream = make_stream(make_device(make_project()))
    member = make_member(stream.org, MEMBER)
    assert user_can(member, stream_for_data(user=member, slug=stream.slug), "read_data")
    membership = OrgMembership.objects.get(user=member, org=stream.org)
    membership.permissions["can_read_stream_data"] = False
    membership.save()
    assert not user_can(member, stream_for_data(user=member, slug=stream.slug), "read_data")
    OrgMembership.objects.filter(pk=membership.pk).update(is_active=False)
    assert stream_for_data(user=member, slug=stream.slug) is None


def _shown(stream):
    """What a chart shows of the stream."""
    if stream is None:
        return None
    units = stream.output_unit.unit_full if stream.output_unit is not None else None
    shown = (stream.display_label, stream.display_units, stream.display_decimal_places, stream.output_value(2.0))
    return stream.pk, stream.slug, stream.series, units, *shown


@pytest.mark.django_db
def test_the_chart_lookup_answers_as_the_scoped_queryset():
    streams, users = _streams_and_users()
    for user in users:
        for stream in streams:
            for org_slug in (stream.org.slug, "another-org"):
                queryset = stream_list_for_chart(user=user).filter(org__slug=org_slug, slug=stream.slug)
                expected = _shown(queryset.first())
                with assert_query_count(1 if user.is_active else 0):
                    found = stream_for_chart(user=user, org_slug=org_slug, slug=stream.slug)
                with assert_query_count(0):  # the related rows came with it
                    assert _shown(found) == expected, (user, stream, org_slug)
