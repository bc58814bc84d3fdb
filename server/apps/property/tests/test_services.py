from __future__ import annotations

import pytest

from server.apps.core.errors import ApplicationError, NotFoundError, PermissionDeniedError
from server.apps.core.targets import target_for_object
from server.apps.core.testing import make_member, make_org
from server.apps.device.tests.factories import make_device, make_project
from server.apps.org.roles import MEMBER, OPERATOR
from server.apps.property.models import PropertyType
from server.apps.property.selectors import properties_for
from server.apps.property.services import (
    property_create,
    property_stored_value,
    property_template_create,
    property_template_update,
    property_type_of,
)


@pytest.mark.parametrize(
    ("type_", "value", "stored"),
    [
        ("int", 3, "3"),
        ("int", "-12", "-12"),
        ("int", 4.0, "4"),
        ("bool", True, "True"),
        ("bool", "no", "False"),
        ("bool", "TRUE", "True"),
        ("bool", 0, "False"),
        ("str", 12, "12"),
        ("str", "", ""),
    ],
)
def test_stored_values(type_, value, stored):
    assert property_stored_value(type_, value) == stored


@pytest.mark.parametrize(
    ("type_", "value"),
    [("int", 1.5), ("int", True), ("int", "x"), ("bool", "perhaps"), ("str", {"a": 1}), ("str", None)],
)
def test_values_that_do_not_fit(type_, value):
    with pytest.raises(ApplicationError):
        property_stored_value(type_, value)


def test_types_inferred_from_values():
    assert property_type_of(True) == PropertyType.BOOL
    assert property_type_of(5) == PropertyType.INT
    assert property_type_of(5.5) == PropertyType.STR
    assert property_type_of("5") == PropertyType.STR


def test_properties_for_takes_an_object_a_target_or_a_slug(db):
    device = make_device(make_project())
    owner = device.org.created_by
    prop = property_create(user=owner, target=target_for_object(device), name="colour", value="blue")
    for target in (device, target_for_object(device), device.slug, f"d--{device.id:x}"):
        assert list(properties_for(user=owner, target=target)) == [prop]
    operator = make_member(device.org, OPERATOR)
    assert list(properties_for(user=operator, target=device)) == []
    with pytest.raises(NotFoundError):
        properties_for(user=make_org().created_by, target=device.slug)


def test_create_checks_the_permission_in_the_target_org(db):
    project = make_project()
    target = target_for_object(project)
    with pytest.raises(PermissionDeniedError):
        property_create(user=make_member(project.org, OPERATOR), target=target, name="a", value=1)
    assert property_create(user=make_member(project.org, MEMBER), target=target, name="a", value=1).value == 1


def test_template_type_change_converts_enums_and_default(db):
    org = make_org()
    template = property_template_create(user=org.created_by, org=org, name="n", enums=["1", "2"], default="1")
    template = property_template_update(template=template, type="int")
    assert template.type == "int"
    assert sorted(template.enums.values_list("value", flat=True)) == ["1", "2"]
    with pytest.raises(ApplicationError):
        property_template_update(template=template, default="3")
    with pytest.raises(ApplicationError):
        property_template_create(user=org.created_by, org=org, name="m", enums=["a"], default="b")
