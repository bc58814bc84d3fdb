"""``manage.py seed_catalog``: give a fresh platform a starting catalog to pick from.

Variable types with their units, hardware components, a device template and two sensor graphs with their variable
templates. Entries that exist already (by slug) are left as they are, so the command can run on every start
(``inv run-local`` does). Tests make their own catalog entries instead.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from server.apps.devicetemplate.models import Component, DeviceTemplate
from server.apps.devicetemplate.services import component_create, device_template_create, versioned_slug
from server.apps.sensorgraph.models import SensorGraph
from server.apps.sensorgraph.services import sensorgraph_create, sensorgraph_slug, variable_template_create
from server.apps.vartype.models import VarType, VarTypeInputUnit, VarTypeOutputUnit
from server.apps.vartype.services import unit_slug, vartype_create

VAR_TYPES: list[dict[str, Any]] = [
    {
        "name": "Water Volume",
        "storage_units_full": "Liters",
        "storage_units_short": "L",
        "input_units": [
            {"unit_full": "Liters", "unit_short": "L"},
            {"unit_full": "Gallons", "unit_short": "gal", "m": 3785, "d": 1000},
            {"unit_full": "Cubic Meters", "unit_short": "m3", "m": 1000},
        ],
        "output_units": [
            {"unit_full": "Liters", "unit_short": "L", "decimal_places": 1},
            {"unit_full": "Gallons", "unit_short": "gal", "m": 1000, "d": 3785, "decimal_places": 2},
            {"unit_full": "Cubic Meters", "unit_short": "m3", "d": 1000, "decimal_places": 3},
        ],
    },
    {
        "name": "Temperature",
        "storage_units_full": "Celsius",
        "storage_units_short": "C",
        "input_units": [
            {"unit_full": "Celsius", "unit_short": "C"},
            {"unit_full": "Fahrenheit", "unit_short": "F", "m": 5, "d": 9, "o": -160 / 9},
            {"unit_full": "Kelvin", "unit_short": "K", "o": -273.15},
        ],
        "output_units": [
            {"unit_full": "Celsius", "unit_short": "C", "decimal_places": 1},
            {"unit_full": "Fahrenheit", "unit_short": "F", "m": 9, "d": 5, "o": 32.0, "decimal_places": 1},
            {"unit_full": "Kelvin", "unit_short": "K", "o": 273.15, "decimal_places": 1},
        ],
    },
    {
        "name": "Pulse Count",
        "storage_units_full": "Pulses",
        "storage_units_short": "p",
        "input_units": [{"unit_full": "Pulses", "unit_short": "p"}],
        "output_units": [{"unit_full": "Pulses", "unit_short": "p", "decimal_places": 0}],
    },
    {
        "name": "Voltage",
        "storage_units_full": "Volts",
        "storage_units_short": "V",
        "input_units": [
            {"unit_full": "Volts", "unit_short": "V"},
            {"unit_full": "Millivolts", "unit_short": "mV", "d": 1000},
        ],
        "output_units": [
            {"unit_full": "Volts", "unit_short": "V", "decimal_places": 2},
            {"unit_full": "Millivolts", "unit_short": "mV", "m": 1000, "decimal_places": 0},
        ],
    },
]

COMPONENTS: list[dict[str, Any]] = [
    {"external_sku": "BTC-1", "type": "BTC", "hw_tag": "btc1_v3", "hw_name": "Controller", "major_version": 3},
    {"external_sku": "WMT-1", "type": "SEN", "hw_tag": "wmt1", "hw_name": "Water meter tile", "major_version": 1},
    {"external_sku": "TMP-1", "type": "SEN", "hw_tag": "tmp1", "hw_name": "Temperature tile", "major_version": 1},
    {"external_sku": "BLE-1", "type": "COM", "hw_tag": "ble1", "hw_name": "Bluetooth LE tile", "major_version": 1},
]

DEVICE_TEMPLATES: list[dict[str, Any]] = [
    {
        "external_sku": "POD-1W",
        "family": "POD",
        "description": "Water meter with a Bluetooth LE link",
        "major_version": 1,
        "os_tag": 1024,
        "os_major_version": 2,
        "os_minor_version": 11,
        "hw_tag": "btc1_v3",
        "hw_major_version": 3,
        "slots": [
            {"number": 0, "component": "btc-1--v3-0-0"},
            {"number": 1, "component": "wmt-1--v1-0-0"},
            {"number": 2, "component": "ble-1--v1-0-0"},
        ],
    },
    {
        "external_sku": "POD-1T",
        "family": "POD",
        "description": "Temperature logger with a Bluetooth LE link",
        "major_version": 1,
        "os_tag": 1024,
        "os_major_version": 2,
        "os_minor_version": 11,
        "hw_tag": "btc1_v3",
        "hw_major_version": 3,
        "slots": [
            {"number": 0, "component": "btc-1--v3-0-0"},
            {"number": 1, "component": "tmp-1--v1-0-0"},
            {"number": 2, "component": "ble-1--v1-0-0"},
        ],
    },
]

SENSOR_GRAPHS: list[dict[str, Any]] = [
    {
        "name": "Water Meter",
        "major_version": 1,
        "app_tag": 1027,
        "app_major_version": 1,
        "description": "Counts meter pulses and reports the volume in gallons",
        "variable_templates": [
            {"lid": 0x5001, "label": "Pulses", "var_type": "pulse-count", "out": "Pulses", "in": "Pulses"},
            # The meter sends hundredths of a gallon.
            {"lid": 0x5002, "label": "Volume", "var_type": "water-volume", "d": 100, "in": "Gallons", "out": "Gallons"},
        ],
    },
    {
        "name": "Temperature Logger",
        "major_version": 1,
        "app_tag": 1030,
        "app_major_version": 1,
        "description": "Logs the temperature every ten minutes, and the battery voltage",
        "variable_templates": [
            # Hundredths of a degree Celsius, as a signed value.
            {
                "lid": 0x5001,
                "label": "Temperature",
                "var_type": "temperature",
                "d": 100,
                "ctype": "int",
                "in": "Celsius",
                "out": "Celsius",
            },
            {
                "lid": 0x5002,
                "label": "Battery",
                "var_type": "voltage",
                "in": "Millivolts",
                "out": "Volts",
                "app_only": True,
            },
        ],
    },
]


class Command(BaseCommand):
    help = "Create the starting catalog (variable types, components, device templates, sensor graphs) if missing."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        created: list[str] = []
        for entry in VAR_TYPES:
            entry = dict(entry)
            if not VarType.objects.filter(name=entry["name"]).exists():
                created.append(vartype_create(created_by=None, **entry).slug)
        for entry in COMPONENTS:
            if not Component.objects.filter(
                slug=versioned_slug(entry["external_sku"], entry["major_version"], 0, 0)
            ).exists():
                created.append(component_create(created_by=None, **entry).slug)
        for entry in DEVICE_TEMPLATES:
            if not DeviceTemplate.objects.filter(
                slug=versioned_slug(entry["external_sku"], entry["major_version"], 0, 0)
            ).exists():
                created.append(device_template_create(created_by=None, **entry).slug)
        for entry in SENSOR_GRAPHS:
            entry = dict(entry)
            templates = entry.pop("variable_templates")
            if SensorGraph.objects.filter(slug=sensorgraph_slug(entry["name"], entry["major_version"], 0, 0)).exists():
                continue
            sg = sensorgraph_create(created_by=None, **entry)
            for template in templates:
                _variable_template(sg, dict(template))
            created.append(sg.slug)
        self.stdout.write(f"Catalog: {len(created)} entries created" + (f" ({', '.join(created)})" if created else ""))


def _variable_template(sg: SensorGraph, template: dict[str, Any]) -> None:
    var_type = VarType.objects.get(slug=template.pop("var_type"))
    input_unit = template.pop("in")
    output_unit = template.pop("out")
    variable_template_create(
        created_by=None,
        sg=sg,
        var_type=var_type,
        default_input_unit=VarTypeInputUnit.objects.get(slug=unit_slug("in", var_type.slug, input_unit)),
        default_output_unit=VarTypeOutputUnit.objects.get(slug=unit_slug("out", var_type.slug, output_unit)),
        **template,
    )
