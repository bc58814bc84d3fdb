from __future__ import annotations

import pytest

from server.apps.core.errors import ApplicationError
from server.apps.ota.criteria import criteria_match, parse_criteria, parse_criterion


@pytest.mark.parametrize(
    ("text", "stored", "for_updater"),
    [
        ("os_tag:eq:1024", "os_tag:eq:1024", "os_tag:eq:1024"),
        ("app_version:gte:1.2", "app_version:gte:1.2", "app_version:gteq:1.2.0"),
        ("app_version:>=:1.2.3", "app_version:gte:1.2.3", "app_version:gteq:1.2.3"),
        ("os_version:lteq:2.0", "os_version:lte:2.0", "os_version:lteq:2.0.0"),
        (" os_version : < : 3.1 ", "os_version:lt:3.1", "os_version:lt:3.1.0"),
        ("controller_hw_tag:==:btc1_v3", "controller_hw_tag:eq:btc1_v3", "controller_hw_tag:eq:btc1_v3"),
    ],
)
def test_criteria_are_stored_canonical_and_written_for_the_updater(text, stored, for_updater):
    criterion = parse_criterion(text)
    assert str(criterion) == stored
    assert criterion.for_updater() == for_updater
    assert parse_criterion(stored) == criterion


@pytest.mark.parametrize(
    "text",
    [
        "os_tag",
        "os_tag:eq",
        "a:b:c:d",
        "size:eq:1",
        "os_tag:approx:1",
        "os_tag:gt:1",
        "os_tag:eq:-1",
        "os_tag:eq:1048576",
        "app_version:eq:1",
        "app_version:eq:one.two",
        "controller_hw_tag:eq:",
        7,
        None,
    ],
)
def test_malformed_criteria_say_why(text):
    with pytest.raises(ApplicationError) as error:
        parse_criterion(text)
    assert "selection_criteria" in error.value.extra


def test_a_list_is_required_and_bounded():
    with pytest.raises(ApplicationError):
        parse_criteria("os_tag:eq:1")
    with pytest.raises(ApplicationError):
        parse_criteria(["os_tag:eq:1"] * 21)


def test_matching_leaves_unknown_attributes_to_the_updater():
    criteria = parse_criteria(["os_tag:eq:1024", "app_version:gte:1.2", "controller_hw_tag:eq:btc1"])
    assert criteria_match(criteria, {"os_tag": 1024, "app_version": (1, 2, 0)})
    assert criteria_match(criteria, {})
    assert not criteria_match(criteria, {"os_tag": 1025})
    assert not criteria_match(criteria, {"app_version": (1, 1, 0)})
