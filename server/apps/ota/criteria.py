"""Selection criteria of a deployment: ``"<attribute>:<operator>:<value>"`` strings, all of which a device must meet.

Attributes: ``os_tag`` and ``app_tag`` (integers), ``os_version`` and ``app_version`` (``major.minor[.patch]``),
``controller_hw_tag`` (text). Operators: ``eq``, ``lt``, ``lte``, ``gt``, ``gte``; the spellings the device's updater
also knows (``==``, ``<``, ``<=``, ``lteq``, ``>``, ``>=``, ``gteq``) are accepted and stored as these.

The updater (``iotile-ext-cloud``'s ``ota_updater``) checks the criteria itself against the device it is connected
to, but it knows no ``gte``/``lte`` and reads versions as ``X.Y.Z``: :meth:`Criterion.for_updater` writes each
criterion the way it reads them. The platform checks them against the versions the device reported
(:func:`criteria_match`), to tell which members of a fleet a deployment is for.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from server.apps.core.errors import ApplicationError

TAG_ATTRIBUTES = ("os_tag", "app_tag")
VERSION_ATTRIBUTES = ("os_version", "app_version")
TEXT_ATTRIBUTES = ("controller_hw_tag",)
ATTRIBUTES = TAG_ATTRIBUTES + VERSION_ATTRIBUTES + TEXT_ATTRIBUTES

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}
_OPERATOR_SPELLINGS = {
    "==": "eq",
    "<": "lt",
    "<=": "lte",
    "lteq": "lte",
    ">": "gt",
    ">=": "gte",
    "gteq": "gte",
    **{name: name for name in OPERATORS},
}
# What the updater's table knows for each operator.
_UPDATER_OPERATORS = {"eq": "eq", "lt": "lt", "lte": "lteq", "gt": "gt", "gte": "gteq"}
_VERSION = re.compile(r"^(\d{1,4})\.(\d{1,4})(?:\.(\d{1,4}))?$")

Version = tuple[int, int, int]


@dataclass(frozen=True)
class Criterion:
    attribute: str
    operator: str
    value: int | Version | str

    def __str__(self) -> str:
        return f"{self.attribute}:{self.operator}:{self._value_text(patch=False)}"

    def for_updater(self) -> str:
        return f"{self.attribute}:{_UPDATER_OPERATORS[self.operator]}:{self._value_text(patch=True)}"

    def _value_text(self, *, patch: bool) -> str:
        if isinstance(self.value, tuple):
            major, minor, patch_number = self.value
            return f"{major}.{minor}.{patch_number}" if patch or patch_number else f"{major}.{minor}"
        return str(self.value)

    def matches(self, actual: int | Version | str | None) -> bool | None:
        """Whether a device with ``actual`` meets the criterion; None when ``actual`` is not known."""
        if actual is None:
            return None
        return OPERATORS[self.operator](actual, self.value)


def _invalid(text: object, reason: str) -> ApplicationError:
    message = f"Invalid selection criterion {text!r}: {reason}."
    return ApplicationError(message, {"selection_criteria": [message]})


def parse_criterion(text: object) -> Criterion:
    if not isinstance(text, str):
        raise _invalid(text, "expected a text 'attribute:operator:value'")
    parts = text.strip().split(":")
    if len(parts) != 3:
        raise _invalid(text, "expected 'attribute:operator:value'")
    attribute, spelling, raw = (part.strip() for part in parts)
    if attribute not in ATTRIBUTES:
        raise _invalid(text, f"the attribute must be one of {', '.join(ATTRIBUTES)}")
    name = _OPERATOR_SPELLINGS.get(spelling.lower())
    if name is None:
        raise _invalid(text, f"the operator must be one of {', '.join(OPERATORS)}")
    value: int | Version | str
    if attribute in TAG_ATTRIBUTES:
        if not (raw.isascii() and raw.isdecimal()) or int(raw) >= 1 << 20:
            raise _invalid(text, "a tag is a whole number below 2^20")
        value = int(raw)
    elif attribute in VERSION_ATTRIBUTES:
        match = _VERSION.match(raw)
        if match is None:
            raise _invalid(text, "a version is 'major.minor' or 'major.minor.patch'")
        value = (int(match[1]), int(match[2]), int(match[3] or 0))
    else:
        if not raw or len(raw) > 64:
            raise _invalid(text, "the value is empty or too long")
        value = raw
    if attribute in TAG_ATTRIBUTES + TEXT_ATTRIBUTES and name != "eq":
        # The updater compares tags and hardware for equality whatever the operator says.
        raise _invalid(text, f"{attribute} takes only 'eq'")
    return Criterion(attribute, name, value)


def parse_criteria(values: object) -> list[Criterion]:
    if not isinstance(values, list):
        raise _invalid(values, "expected a list")
    if len(values) > 20:
        raise _invalid(values, "at most 20 criteria")
    return [parse_criterion(value) for value in values]


def criteria_match(criteria: Iterable[Criterion], known: dict[str, int | Version | str]) -> bool:
    """Whether a device whose attributes are ``known`` (``{"os_tag": 1024, "os_version": (2, 1, 0)}``) may meet
    every criterion: an attribute that is not known does not rule the device out (its updater decides)."""
    return all(criterion.matches(known.get(criterion.attribute)) is not False for criterion in criteria)
