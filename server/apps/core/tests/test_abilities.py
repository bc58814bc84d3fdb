"""The dashboard's abilities: every ``can.<name>`` a template reads is declared once, by its model's app."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from server.apps.core.scoping import Ability, abilities_declared, ability_named, permission_for
from server.apps.core.views import Abilities
from server.apps.stream.models import READ_STREAM_DATA, StreamId

# ``can.<name>`` where the name is not one of Abilities' own attributes.
TEMPLATE_ABILITY = re.compile(r"\bcan\.([a-z]+_[a-z_]+)")


def template_ability_names() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for folder in [Path(path) for path in settings.TEMPLATES[0]["DIRS"]]:
        for template in folder.rglob("*.html"):
            for name in TEMPLATE_ABILITY.findall(template.read_text()):
                found.setdefault(name, []).append(str(template.relative_to(folder)))
    return found


def test_the_templates_name_abilities():
    assert "read_data_streamid" in template_ability_names()


def test_every_ability_a_template_reads_is_declared():
    undeclared = {name: where for name, where in template_ability_names().items() if name not in abilities_declared()}
    assert not undeclared, f"declare these as core.scoping.Ability constants in their model's app: {undeclared}"


def test_every_declared_ability_is_an_action_its_model_declares():
    for ability in abilities_declared().values():
        permission_for(ability.model, ability.action)  # raises for an action the model does not know


def test_a_name_is_declared_once():
    assert ability_named("read_data_streamid") is READ_STREAM_DATA
    with pytest.raises(ValueError, match="declared twice"):
        Ability("read_data_streamid", StreamId, "view")


class _Staff:
    is_staff = True


def test_templates_read_an_ability_by_name_and_python_by_model():
    can = Abilities(_Staff(), "m1", frozenset({"can_read_stream_data"}))
    assert can["read_data_streamid"] is can(StreamId, "read_data") is True
    with pytest.raises(KeyError):
        can["read_data_device"]  # not declared: a template reading it finds nothing
