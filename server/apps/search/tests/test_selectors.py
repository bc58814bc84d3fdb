"""PostgreSQL full-text search: what each kind finds, in what order, and never outside the user's scope."""

from __future__ import annotations

import pytest

from server.apps.core.testing import assert_query_count, make_member, make_org, make_user
from server.apps.org.roles import MEMBER, OPERATOR
from server.apps.search.selectors import search_results
from server.apps.search.tests.factories import add_block, add_device, add_project, add_property

pytestmark = pytest.mark.django_db


def found(user, text):
    return [(result.kind, result.slug) for result in search_results(user=user, text=text)]


@pytest.fixture
def owner():
    return make_user()


@pytest.fixture
def org(owner):
    return make_org(owner=owner, name="Water Works")


def test_devices_by_label_prefix_and_external_id(owner, org):
    pump = add_device(org, label="Pump station 4", external_id="SN-88231")
    add_device(org, label="Rain gauge")

    assert found(owner, "pump") == [("device", pump.slug)]
    assert found(owner, "Pum sta") == [("device", pump.slug)]
    assert found(owner, "88231") == [("device", pump.slug)]
    result = search_results(user=owner, text="pump")[0]
    assert (result.title, result.detail, result.org) == ("Pump station 4", "SN-88231", org.slug)
    assert result.url == f"/org/{org.slug}/device/{pump.slug}/"


def test_devices_by_slug_in_full_in_a_lenient_form_and_in_part(owner, org):
    device = add_device(org, serial=0x12)
    other = add_device(org, serial=0x1234)

    assert found(owner, "d--0000-0000-0000-0012") == [("device", device.slug)]
    assert found(owner, "D--12") == [("device", device.slug)]
    # A fragment matches every slug that contains it; the whole slug comes first.
    assert found(owner, "0012") == [("device", device.slug)]
    assert set(found(owner, "0000-0000-0000-001")) == {("device", device.slug)}
    assert found(owner, "1234") == [("device", other.slug)]


def test_a_device_without_a_label_is_titled_by_its_slug(owner, org):
    device = add_device(org, serial=0x77)
    assert search_results(user=owner, text=device.slug)[0].title == device.slug


def test_projects_by_name_about_and_slug(owner, org):
    project = add_project(org, "North basin", about="Reservoir levels and inflow")
    add_project(org, "South basin")

    assert found(owner, "north") == [("project", project.slug)]
    assert found(owner, "inflow") == [("project", project.slug)]
    assert found(owner, project.slug) == [("project", project.slug)]
    assert found(owner, project.slug.upper()) == [("project", project.slug)]
    assert ("project", project.slug) in found(owner, project.slug[-4:])
    assert search_results(user=owner, text="north")[0].url == f"/org/{org.slug}/project/{project.slug}/"


def test_data_blocks_by_title_description_and_slug(owner, org):
    device = add_device(org)
    block = add_block(org, device, title="Trip to Denver", description="Shock and vibration archive")

    assert found(owner, "denver") == [("datablock", block.slug)]
    assert found(owner, "vibration") == [("datablock", block.slug)]
    assert found(owner, block.slug) == [("datablock", block.slug)]
    assert search_results(user=owner, text="denver")[0].url == f"/org/{org.slug}/datablock/{block.slug}/"


def test_properties_by_name_and_value_link_to_what_they_describe(owner, org):
    device = add_device(org, label="Tank")
    project = add_project(org, "Harbour")
    add_property(org, device, name="Colour", value="Cobalt blue")
    add_property(org, project, name="Customer", value="Harbourmaster")

    results = search_results(user=owner, text="cobalt")
    assert [(r.kind, r.slug, r.title) for r in results] == [("property", device.slug, "Colour = Cobalt blue")]
    assert results[0].url == f"/org/{org.slug}/device/{device.slug}/"
    assert ("property", project.slug) in found(owner, "customer")
    assert [r.url for r in search_results(user=owner, text="customer")] == [f"/org/{org.slug}/project/{project.slug}/"]


def test_every_kind_in_one_list_best_first(owner, org):
    device = add_device(org, label="Boiler", external_id="boiler-7")
    project = add_project(org, "Boiler room", about="All the boilers")
    block = add_block(org, device, title="Boiler archive")
    add_property(org, device, name="Model", value="Boiler 3000")

    kinds = [result.kind for result in search_results(user=owner, text="boiler")]
    assert sorted(kinds) == ["datablock", "device", "project", "property"]
    scores = [result.score for result in search_results(user=owner, text="boiler")]
    assert scores == sorted(scores, reverse=True)
    # A slug typed in full beats every word match.
    assert found(owner, device.slug)[0] == ("device", device.slug)
    assert found(owner, project.slug)[0] == ("project", project.slug)
    assert found(owner, block.slug)[0] == ("datablock", block.slug)


def test_a_heavier_field_ranks_higher(owner, org):
    by_label = add_device(org, label="Valve", external_id="x-1")
    by_external_id = add_device(org, label="Meter", external_id="valve")
    named = add_project(org, "Valve fleet")
    described = add_project(org, "Fleet B", about="Valve maintenance")

    assert found(owner, "valve").index(("device", by_label.slug)) < found(owner, "valve").index(
        ("device", by_external_id.slug)
    )
    assert found(owner, "valve").index(("project", named.slug)) < found(owner, "valve").index(
        ("project", described.slug)
    )


def test_another_orgs_objects_never_appear(owner, org):
    mine = add_device(org, label="Flow meter")
    other_org = make_org(name="Rival Utility")
    theirs = add_device(other_org, label="Flow meter")
    add_project(other_org, "Flow meter rollout")
    add_block(other_org, theirs, title="Flow meter archive")
    add_property(other_org, theirs, name="flow", value="meter")

    assert found(owner, "flow meter") == [("device", mine.slug)]
    assert found(owner, theirs.slug) == []
    assert found(owner, theirs.slug[-4:]) == []


def test_roles_limit_kinds_the_same_way_as_the_endpoints(org):
    device = add_device(org, label="Chiller")
    add_block(org, device, title="Chiller archive")
    add_property(org, device, name="chiller", value="yes")
    member = make_member(org, MEMBER)
    operator = make_member(org, OPERATOR)

    assert sorted(kind for kind, _slug in found(member, "chiller")) == ["datablock", "device", "property"]
    # An operator sees the device but neither data blocks nor properties.
    assert [kind for kind, _slug in found(operator, "chiller")] == ["device"]


def test_anonymous_outsiders_and_staff(org):
    device = add_device(org, label="Compressor")
    unclaimed = add_device(None, label="Compressor spare")
    from django.contrib.auth.models import AnonymousUser

    assert found(AnonymousUser(), "compressor") == []
    assert found(make_user(), "compressor") == []
    staff_results = {r.slug: r for r in search_results(user=make_user(is_staff=True), text="compressor")}
    assert set(staff_results) == {device.slug, unclaimed.slug}
    # A device with no organisation has no dashboard page: its link is the API's.
    assert staff_results[unclaimed.slug].url == f"/api/v1/device/{unclaimed.slug}/"
    assert staff_results[unclaimed.slug].org is None


@pytest.mark.parametrize("text", ["", "   ", "--", "*", "'", "a & b | !c", "x:*", "\\", "%_%"])
def test_any_text_is_safe(owner, org, text):
    add_device(org, label="Anything")
    assert isinstance(found(owner, text), list)


def test_counting_and_paging_take_one_query_each(owner, org):
    for i in range(5):
        add_device(org, label=f"Sensor {i}")
    results = search_results(user=owner, text="sensor")
    with assert_query_count(1):
        assert results.count() == 5
    with assert_query_count(1):
        assert len(results[1:3]) == 2
