from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from server.apps.core.services import editable_fields, model_update
from server.apps.core.testing import assert_query_count
from server.apps.vartype.models import VarType


@pytest.fixture
def var_type(db) -> VarType:
    return VarType.objects.create(name="Water", slug="water", storage_units_full="Liters")


def test_sets_only_the_fields_it_is_given_and_saves_them(var_type):
    with assert_query_count(3):  # the name's and slug's uniqueness checks, the UPDATE
        model_update(
            var_type,
            fields=("name", "storage_units_full"),
            data={"storage_units_full": "Gallons", "slug": "other", "is_encoded": True},
        )
    saved = VarType.objects.get(pk=var_type.pk)
    assert (saved.name, saved.slug, saved.storage_units_full, saved.is_encoded) == ("Water", "water", "Gallons", False)


def test_an_invalid_value_is_a_validation_error_and_nothing_is_saved(var_type):
    with pytest.raises(ValidationError) as caught, assert_query_count(1):  # full_clean's uniqueness check
        model_update(var_type, fields=("name",), data={"name": ""})
    assert "name" in caught.value.message_dict
    assert VarType.objects.get(pk=var_type.pk).name == "Water"


def test_save_fields_writes_only_those_columns(var_type):
    VarType.objects.filter(pk=var_type.pk).update(storage_units_full="Written meanwhile")
    model_update(var_type, fields=("name",), data={"name": "Sea water"}, save_fields=("name",))
    saved = VarType.objects.get(pk=var_type.pk)
    assert (saved.name, saved.storage_units_full) == ("Sea water", "Written meanwhile")


def test_clean_exclude_skips_those_fields_checks(var_type):
    var_type.slug = ""  # invalid, but excluded
    model_update(var_type, fields=("name",), data={"name": "Brine"}, clean_exclude=("slug",), save_fields=("name",))
    assert VarType.objects.get(pk=var_type.pk).name == "Brine"


def test_editable_fields_leave_out_the_key_the_creation_fields_and_what_is_excluded():
    assert editable_fields(VarType, exclude=("slug",)) == (
        "name",
        "storage_units_full",
        "storage_units_short",
        "stream_data_type",
        "is_encoded",
    )
