from __future__ import annotations

import pytest

from server.apps.core import slugs, targets
from server.apps.core.errors import ApplicationError, NotFoundError
from server.apps.core.models import TargetedModel
from server.apps.core.targets import target_for_object, target_kind, target_resolve
from server.apps.core.testing import assert_query_count, make_member, make_org, make_user
from server.apps.datablock.models import DataBlock
from server.apps.device.tests.factories import make_device, make_project, make_stream
from server.apps.org.roles import MEMBER, OPERATOR


@pytest.fixture
def world(db):
    """An organisation with a project, a claimed device, a stream, a data block; and an outsider."""
    org = make_org()
    project = make_project(org)
    device = make_device(project, id=0x1A)
    stream = make_stream(device)
    block = DataBlock.objects.create(slug=slugs.block_slug(device.id, 2), title="Trip", org=org, device=device, block=2)
    return {
        "org": org,
        "owner": org.created_by,
        "project": project,
        "device": device,
        "stream": stream,
        "variable": stream.variable,
        "block": block,
        "outsider": make_org().created_by,
    }


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("^acme", targets.ORG),
        ("@jane", targets.USER),
        ("p--0000-0001", targets.PROJECT),
        ("d--1", targets.DEVICE),
        ("b--0001-0000-0000-0001", targets.BLOCK),
        ("s--0000-0001--0000-0000-0000-0001--5001", targets.STREAM),
        ("v--0000-0001--5001", targets.VARIABLE),
    ],
)
def test_kind_of_each_form(value, kind):
    assert target_kind(value) == kind


@pytest.mark.parametrize("value", ["", "   ", "^", "@", "x--1", "acme", "t--0000-0000-0000-0001--0001"])
def test_forms_that_name_nothing(value):
    with pytest.raises(slugs.SlugError):
        target_kind(value)


def test_each_kind_resolves_to_its_object_and_org(world):
    owner, org = world["owner"], world["org"]
    cases = [
        (f"^{org.slug}", org, f"^{org.slug}"),
        (f"@{owner.slug}", owner, f"@{owner.slug}"),
        (world["project"].slug, world["project"], world["project"].slug),
        (world["device"].slug, world["device"], world["device"].slug),
        (world["block"].slug, world["block"], world["block"].slug),
        (world["stream"].slug, world["stream"], world["stream"].slug),
        (world["variable"].slug, world["variable"], world["variable"].slug),
    ]
    for value, obj, canonical in cases:
        target = target_resolve(user=owner, value=value)
        assert target.obj == obj, value
        assert target.slug == canonical
        assert target.org == (None if obj == owner else org)
        assert target == target_for_object(obj)


@pytest.mark.parametrize("form", ["d--1a", "d--1A", "d--001a", "d--0000-0000-0000-001A", "d--0x1a", " d--1a "])
def test_lenient_device_slugs(world, form):
    target = target_resolve(user=world["owner"], value=form)
    assert target.obj == world["device"]
    assert target.slug == "d--0000-0000-0000-001a"


def test_a_device_slug_with_a_block_part_is_that_data_block(world):
    target = target_resolve(user=world["owner"], value="d--0002-0000-0000-001a")
    assert target.kind == targets.BLOCK
    assert target.obj == world["block"]
    assert target.slug == "b--0002-0000-0000-001a"


def test_lenient_other_slugs(world):
    owner = world["owner"]
    project, stream = world["project"], world["stream"]
    assert target_resolve(user=owner, value=project.slug.upper().replace("P--", "p--")).obj == project
    short_stream = f"s--{project.gid:x}--1a--5001"
    assert target_resolve(user=owner, value=short_stream).obj == stream
    assert target_resolve(user=owner, value=f"v--{project.gid:x}--5001").obj == world["variable"]
    assert target_resolve(user=owner, value="b--0002-0000-0000-001A").obj == world["block"]


def test_out_of_scope_targets_are_404(world):
    outsider = world["outsider"]
    for key in ("project", "device", "block", "stream", "variable"):
        with pytest.raises(NotFoundError):
            target_resolve(user=outsider, value=world[key].slug)
    with pytest.raises(NotFoundError):
        target_resolve(user=outsider, value=f"^{world['org'].slug}")
    with pytest.raises(NotFoundError):
        target_resolve(user=outsider, value=f"@{world['owner'].slug}")
    with pytest.raises(NotFoundError):
        target_resolve(user=world["owner"], value="d--ffff")


def test_a_member_sees_other_members_only_as_404_but_staff_see_everyone(world):
    member = make_member(world["org"], MEMBER)
    with pytest.raises(NotFoundError):
        target_resolve(user=member, value=f"@{world['owner'].slug}")
    assert target_resolve(user=member, value=f"@{member.slug}").obj == member
    staff = make_user(is_staff=True)
    assert target_resolve(user=staff, value=f"@{world['owner'].slug}").obj == world["owner"]
    assert target_resolve(user=staff, value=world["device"].slug).obj == world["device"]


def test_resolution_follows_the_model_view_permission(world):
    # Operators do not read data blocks (can_access_datablock) or stream ids (can_read_stream_ids: yes they do).
    operator = make_member(world["org"], OPERATOR)
    with pytest.raises(NotFoundError):
        target_resolve(user=operator, value=world["block"].slug)
    assert target_resolve(user=operator, value=world["stream"].slug).obj == world["stream"]


def test_malformed_missing_or_unwanted_targets_are_400_on_target(world):
    owner = world["owner"]
    for value in (None, "", "d--zz", "p--xyz", "nothing", "s--1"):
        with pytest.raises(ApplicationError) as raised:
            target_resolve(user=owner, value=value)
        assert raised.value.status_code == 400
        assert "target" in raised.value.extra
    with pytest.raises(ApplicationError) as raised:
        target_resolve(user=owner, value=f"^{world['org'].slug}", kinds=(targets.DEVICE, targets.PROJECT))
    assert raised.value.status_code == 400


def test_one_query_per_resolution_and_none_for_oneself(world):
    owner = world["owner"]
    for key in ("project", "device", "block", "stream", "variable"):
        with assert_query_count(1):
            target = target_resolve(user=owner, value=world[key].slug)
            assert target.org.slug == world["org"].slug
    with assert_query_count(0):
        target_resolve(user=owner, value=f"@{owner.slug}")


def test_unclaimed_devices_have_no_org_and_only_staff_reach_them(db):
    device = make_device()
    staff = make_user(is_staff=True)
    assert target_resolve(user=staff, value=device.slug).org is None
    with pytest.raises(NotFoundError):
        target_resolve(user=make_org().created_by, value=device.slug)


# The registries ---------------------------------------------------------------------------------------------------


def test_every_kind_is_registered_by_the_app_that_owns_its_model():
    owners = {target_type.kind: target_type.model._meta.label for target_type in targets.target_types()}
    assert owners == {
        targets.ORG: "org.Org",
        targets.USER: "authentication.Account",
        targets.PROJECT: "project.Project",
        targets.DEVICE: "device.Device",
        targets.BLOCK: "datablock.DataBlock",
        targets.STREAM: "stream.StreamId",
        targets.VARIABLE: "stream.StreamVariable",
    }


def test_a_kind_is_registered_once_and_only_a_known_kind():
    org_type = next(t for t in targets.target_types() if t.kind == targets.ORG)
    with pytest.raises(ValueError, match="registered twice"):
        targets.register_target(org_type)
    with pytest.raises(ValueError, match="not a target kind"):
        targets.register_target(targets.TargetType("fleet", org_type.model, lookup=dict))


def test_metadata_types_are_targeted_models_with_their_apps_services():
    registered = {metadata.model._meta.label: metadata for metadata in targets.metadata_types()}
    # Config attributes configure what they name: they stay with the device when its data is archived.
    assert set(registered) == {"property.GenericProperty", "streamnote.StreamNote", "devicelocation.DeviceLocation"}
    for label, metadata in registered.items():
        assert issubclass(metadata.model, TargetedModel)
        assert metadata.retarget is not None
        assert metadata.delete is not None
        assert metadata.retarget.__module__ == f"{metadata.model._meta.app_config.name}.services", label
    assert registered["property.GenericProperty"].carry_over is not None
    with pytest.raises(ValueError, match="registered twice"):
        targets.register_metadata(registered["streamnote.StreamNote"])
