"""Writes on sensor graphs and their variable templates (staff: the catalog views allow nobody else), and the
streams a device gets from its sensor graph."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.text import slugify

from server.apps.core.errors import ApplicationError
from server.apps.core.services import editable_fields, model_update
from server.apps.core.slugs import variable_slug
from server.apps.sensorgraph.models import SensorGraph, VariableTemplate
from server.apps.stream.models import MdoType, StreamId, StreamVariable
from server.apps.stream.services import device_streams_create

# What the update services let a caller change.
SENSORGRAPH_FIELDS = editable_fields(SensorGraph)
# Not ``sg``: a template stays with its sensor graph.
VARIABLE_TEMPLATE_FIELDS = editable_fields(VariableTemplate, exclude=("sg",))


def sensorgraph_slug(name: str, major: int, minor: int, patch: int) -> str:
    return f"{slugify(name)}--v{major}-{minor}-{patch}"


@transaction.atomic
def sensorgraph_create(*, created_by, name: str, slug: str | None = None, **fields: Any) -> SensorGraph:
    sg = SensorGraph(name=name, created_by=created_by, **fields)
    sg.slug = slug or sensorgraph_slug(name, sg.major_version, sg.minor_version, sg.patch_version)
    sg.full_clean()
    sg.save()
    return sg


@transaction.atomic(durable=True)
def sensorgraph_update(*, sg: SensorGraph, **fields: Any) -> SensorGraph:
    return model_update(sg, fields=SENSORGRAPH_FIELDS, data=fields)


# Variable templates -------------------------------------------------------------------------------------------------


@transaction.atomic
def variable_template_create(*, created_by, sg: SensorGraph, lid: int, label: str, **fields: Any) -> VariableTemplate:
    """A variable the sensor graph produces. ``var_type`` and the default units are objects (the API resolves
    slugs); the units must belong to the type."""
    if VariableTemplate.objects.filter(sg=sg, lid=lid).exists():
        raise ApplicationError(
            f"{sg.slug} already has a variable {lid:04x}.", {"lid_hex": [f"Variable {lid:04x} exists in {sg.slug}."]}
        )
    template = VariableTemplate(sg=sg, lid=lid, label=label, created_by=created_by, **fields)
    template.full_clean()
    template.save()
    return template


@transaction.atomic(durable=True)
def variable_template_update(*, template: VariableTemplate, **fields: Any) -> VariableTemplate:
    """Change a variable template; it stays with its sensor graph (an ``sg`` given is ignored)."""
    lid = fields.get("lid", template.lid)
    if lid != template.lid and VariableTemplate.objects.filter(sg=template.sg, lid=lid).exists():
        raise ApplicationError(f"{template.sg.slug} already has a variable {lid:04x}.", {"lid_hex": ["Exists."]})
    return model_update(template, fields=VARIABLE_TEMPLATE_FIELDS, data=fields)


# Streams from a sensor graph ----------------------------------------------------------------------------------------


# The stream fields a variable template sets (by attribute name) and the columns they write.
TEMPLATE_STREAM_COLUMNS = [
    "var_type",
    "is_encoded",
    "mdo_type",
    "multiplication_factor",
    "division_factor",
    "offset",
    "input_unit",
    "output_unit",
    "raw_value_format",
]


def _template_stream_fields(template: VariableTemplate) -> dict[str, Any]:
    """What a device's stream takes from its variable template: type, scaling (the stream's own), units, format."""
    return {
        "var_type_id": template.var_type_id,
        "is_encoded": bool(template.var_type is not None and template.var_type.is_encoded),
        "mdo_type": MdoType.STREAM,
        "multiplication_factor": template.m,
        "division_factor": template.d,
        "offset": template.o,
        "input_unit_id": template.default_input_unit_id,
        "output_unit_id": template.default_output_unit_id,
        "raw_value_format": template.raw_value_format,
    }


@transaction.atomic
def sensorgraph_device_streams_create(*, device, user) -> list[StreamId]:
    """The streams a claimed ``device`` gets from its sensor graph's variable templates: the project's variables
    for them (made when the project lacks them; existing ones are kept as they are) and the device's streams (made
    when missing, with the template's scaling and default units). Returns the streams created. Seven statements
    (and two savepoints) whatever the number of templates."""
    if device.project_id is None or device.sg_id is None:
        return []
    project = device.project
    templates = list(
        VariableTemplate.objects.filter(sg_id=device.sg_id)
        .select_related("default_output_unit", "var_type")
        .order_by("lid")
    )
    if not templates:
        return []
    lids = [template.lid for template in templates]
    existing_lids = set(
        StreamVariable.objects.filter(project=project, lid__in=lids).order_by().values_list("lid", flat=True)
    )
    StreamVariable.objects.bulk_create(
        [
            StreamVariable(
                slug=variable_slug(project.gid, template.lid),
                org_id=project.org_id,
                project=project,
                lid=template.lid,
                name=template.label,
                var_type_id=template.var_type_id,
                units=_units_label(template),
                multiplication_factor=template.m,
                division_factor=template.d,
                offset=template.o,
                decimal_places=(
                    template.default_output_unit.decimal_places if template.default_output_unit is not None else 2
                ),
                raw_value_format=template.raw_value_format,
                app_only=template.app_only,
                web_only=template.web_only,
                created_by=user,
            )
            for template in templates
            if template.lid not in existing_lids
        ],
        # Another claim or ingest may have made the variable meanwhile: keep theirs.
        ignore_conflicts=True,
    )
    variables = StreamVariable.objects.filter(project=project, lid__in=lids).order_by("lid")
    created = device_streams_create(device=device, variables=variables, created_by=user)
    by_lid = {template.lid: template for template in templates}
    for stream in created:
        for key, value in _template_stream_fields(by_lid[stream.var_lid]).items():
            setattr(stream, key, value)
    if created:
        StreamId.objects.bulk_update(created, TEMPLATE_STREAM_COLUMNS)
    return created


def _units_label(template: VariableTemplate) -> str:
    unit = template.default_output_unit
    if unit is not None:
        return unit.unit_short or unit.unit_full
    return template.var_type.storage_units_short if template.var_type is not None else ""
