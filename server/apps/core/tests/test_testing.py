"""The generic endpoint cases' own checks: ``assert_saved`` compares what was sent with what was saved, and fails on
any difference, so a write the endpoint dropped or changed cannot pass."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest

from server.apps.core.testing import assert_saved
from server.apps.devicelocation.models import DeviceLocation
from server.apps.org.models import Org
from server.apps.property.models import GenericProperty


def location(**fields) -> DeviceLocation:
    return DeviceLocation(
        target="d--0000-0000-0000-0001",
        lat=Decimal("45.500000000"),
        lon=Decimal("-73.250000000"),
        timestamp=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        **fields,
    )


def test_equal_values_in_their_wire_forms_pass():
    assert_saved(
        location(),
        {"target": "d--0000-0000-0000-0001", "lat": 45.5, "lon": "-73.25", "timestamp": "2026-01-02T05:04:05+02:00"},
    )


@pytest.mark.parametrize(
    ("field", "sent"),
    [("lat", 45.51), ("lon", "-73.2"), ("timestamp", "2026-01-02T03:04:05+02:00"), ("target", "d--2")],
)
def test_any_difference_fails_and_names_the_field(field, sent):
    with pytest.raises(AssertionError, match=re.escape(f"{field}: sent {sent!r}")):
        assert_saved(location(), {field: sent})


def test_booleans_are_not_numbers():
    prop = GenericProperty(name="indoor", is_system=False)
    assert_saved(prop, {"is_system": False})
    with pytest.raises(AssertionError, match="is_system: sent 0"):
        assert_saved(prop, {"is_system": 0})


def test_stored_as_paths_and_functions():
    org = Org(name="North", slug="north")
    row = location(org=org)
    assert_saved(
        row,
        {"org": "north", "where": "d--0000-0000-0000-0001"},
        stored_as={
            "org": "org.slug",
            "where": lambda saved: saved.target,
        },
    )
    with pytest.raises(AssertionError, match=r"org \(stored as org.slug\): sent 'south'"):
        assert_saved(row, {"org": "south"}, stored_as={"org": "org.slug"})


def test_a_related_object_must_be_mapped():
    row = location(org=Org(name="North", slug="north"))
    with pytest.raises(TypeError, match="stored_as"):
        assert_saved(row, {"org": "north"})
