"""Every kind of IOTile slug in one place.

Slugs are the public ids: a letter for the kind, then groups of four lower-case hex digits joined by ``-``, with
parts joined by ``--``. Parsing is lenient in the forms the clients write (short or upper-case groups, ``0x``
prefixes, the oversized streamer group some clients send) and strict otherwise (no sign, space, stray dash or
non-ASCII digit: ``-1`` is not device 1); formatting is always canonical. The forms agree with
``iotile_cloud.utils.gid``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEVICE_BITS = 48
BLOCK_BITS = 16
PROJECT_BITS = 32
VARIABLE_BITS = 16
STREAMER_INDEX_BITS = 16
FLEET_BITS = 48
SCRIPT_BITS = 32

# Groups of ASCII hex digits joined by single dashes, optionally after ``0x``: ``-1``, ``1-``, ``1--2``, `` 1`` and
# other scripts' digits are not ids.
_HEX_GROUPS = re.compile(r"(?:0[xX])?[0-9a-fA-F]+(?:-[0-9a-fA-F]+)*")
# One group of them: a variable's local id written alone.
_HEX = re.compile(r"(?:0[xX])?[0-9a-fA-F]+")


class SlugError(ValueError):
    """A string that is not a slug of the expected kind."""


def hex_groups(value: int, groups: int) -> str:
    """``hex_groups(1, 2) == '0000-0001'``."""
    return "-".join(f"{(value >> (16 * i)) & 0xFFFF:04x}" for i in reversed(range(groups)))


def _parse_hex(text: str, kind: str) -> int:
    if not _HEX_GROUPS.fullmatch(text):
        raise SlugError(f"'{text[:40]}' is not a valid {kind} id")
    digits = text[2:] if text[:2] in ("0x", "0X") else text
    return int(digits.replace("-", ""), 16)


def _split_kind(text: str, letter: str) -> str:
    """Strip an optional ``<letter>--`` prefix and return the rest."""
    if not isinstance(text, str):
        raise SlugError(f"expected a string, got {type(text).__name__}")
    parts = text.split("--", 1)
    if len(parts) == 2:
        if parts[0] != letter:
            raise SlugError(f"'{text}' does not start with '{letter}--'")
        return parts[1]
    return text


def _int_from(value: int | str, letter: str, bits: int, kind: str) -> int:
    if isinstance(value, bool):
        raise SlugError(f"'{value}' is not a valid {kind} id")
    number = value if isinstance(value, int) else _parse_hex(_split_kind(value, letter), kind)
    if number < 0 or number >= 1 << bits:
        raise SlugError(f"{kind} id {number:#x} is out of range")
    return number


# Projects ---------------------------------------------------------------------------------------------------------


def project_slug(gid: int) -> str:
    return f"p--{hex_groups(_int_from(gid, 'p', PROJECT_BITS, 'project'), 2)}"


def parse_project_slug(value: int | str) -> int:
    return _int_from(value, "p", PROJECT_BITS, "project")


# Devices and data blocks ------------------------------------------------------------------------------------------


def device_slug(device_id: int) -> str:
    return f"d--{hex_groups(_int_from(device_id, 'd', DEVICE_BITS, 'device'), 4)}"


def parse_device_slug(value: int | str) -> int:
    return _int_from(value, "d", DEVICE_BITS, "device")


def block_slug(device_id: int, block: int) -> str:
    if block <= 0 or block >= 1 << BLOCK_BITS:
        raise SlugError(f"block number {block} is out of range")
    return f"b--{hex_groups((block << DEVICE_BITS) | _int_from(device_id, 'd', DEVICE_BITS, 'device'), 4)}"


def parse_block_slug(value: str) -> tuple[int, int]:
    """Return ``(device_id, block)`` for ``b--0001-0000-0000-0002``.

    The clients also accept a ``d--`` slug with four groups, the first being the block.
    """
    if isinstance(value, str) and value.startswith("d--"):
        value = f"b--{value[3:]}"
    number = _int_from(value, "b", DEVICE_BITS + BLOCK_BITS, "data block")
    block = number >> DEVICE_BITS
    if block == 0:
        raise SlugError(f"'{value}' has no block number")
    return number & ((1 << DEVICE_BITS) - 1), block


# Fleets -----------------------------------------------------------------------------------------------------------


def fleet_slug(fleet_id: int) -> str:
    return f"g--{hex_groups(_int_from(fleet_id, 'g', FLEET_BITS, 'fleet'), 3)}"


def parse_fleet_slug(value: int | str) -> int:
    return _int_from(value, "g", FLEET_BITS, "fleet")


# Device scripts (OTA update packages) -----------------------------------------------------------------------------


def script_slug(script_id: int) -> str:
    return f"z--{hex_groups(_int_from(script_id, 'z', SCRIPT_BITS, 'device script'), 2)}"


def parse_script_slug(value: int | str) -> int:
    return _int_from(value, "z", SCRIPT_BITS, "device script")


# Variables and streams --------------------------------------------------------------------------------------------


def variable_lid_hex(lid: int) -> str:
    if lid < 0 or lid >= 1 << VARIABLE_BITS:
        raise SlugError(f"variable id {lid:#x} is out of range")
    return f"{lid:04x}"


def parse_variable_lid(value: int | str) -> int:
    """A variable's local id written alone (``variable/``'s ``lid``, a variable template's ``lid_hex``): an integer, or
    ASCII hex digits in either case, optionally after ``0x`` (``'5001'``, ``'0x5A07'``). A sign, a space, ``_``, a
    dash and other scripts' digits (Arabic-Indic, full-width), which ``int(text, 16)`` reads, are refused."""
    if isinstance(value, bool):
        raise SlugError(f"'{value}' is not a valid variable id")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _HEX.fullmatch(value):
        number = int(value[2:] if value[:2] in ("0x", "0X") else value, 16)
    else:
        raise SlugError(f"'{str(value)[:40]}' is not a valid variable id")
    variable_lid_hex(number)  # in range
    return number


def variable_slug(project_gid: int, lid: int) -> str:
    return f"v--{hex_groups(project_gid, 2)}--{variable_lid_hex(lid)}"


def parse_variable_slug(value: str) -> tuple[int, int]:
    """Return ``(project_gid, lid)``."""
    parts = _split_kind(value, "v").split("--")
    if len(parts) != 2:
        raise SlugError(f"'{value}' is not a variable slug")
    return (
        _int_from(parts[0], "p", PROJECT_BITS, "project"),
        _int_from(parts[1], "v", VARIABLE_BITS, "variable"),
    )


@dataclass(frozen=True)
class StreamParts:
    """The three parts of a stream slug; ``device`` holds the 64-bit value (block in the top 16 bits)."""

    project: int
    device: int
    variable: int

    @property
    def device_id(self) -> int:
        return self.device & ((1 << DEVICE_BITS) - 1)

    @property
    def block(self) -> int:
        return self.device >> DEVICE_BITS

    @property
    def slug(self) -> str:
        return f"s--{hex_groups(self.project, 2)}--{hex_groups(self.device, 4)}--{variable_lid_hex(self.variable)}"

    @property
    def device_slug(self) -> str:
        return f"b--{hex_groups(self.device, 4)}" if self.block else device_slug(self.device)

    @property
    def project_slug(self) -> str:
        return project_slug(self.project)

    @property
    def variable_slug(self) -> str:
        return variable_slug(self.project, self.variable)


def stream_slug(project_gid: int, device_id: int, lid: int, block: int = 0) -> str:
    return StreamParts(project_gid, (block << DEVICE_BITS) | device_id, lid).slug


def parse_stream_slug(value: str) -> StreamParts:
    parts = _split_kind(value, "s").split("--")
    if len(parts) != 3:
        raise SlugError(f"'{value}' is not a stream slug")
    return StreamParts(
        project=_int_from(parts[0], "p", PROJECT_BITS, "project"),
        device=_int_from(parts[1], "d", DEVICE_BITS + BLOCK_BITS, "device"),
        variable=_int_from(parts[2], "v", VARIABLE_BITS, "variable"),
    )


# Streamers --------------------------------------------------------------------------------------------------------


def streamer_slug(device_id: int, index: int) -> str:
    if index < 0 or index >= 1 << STREAMER_INDEX_BITS:
        raise SlugError(f"streamer index {index} is out of range")
    return f"t--{hex_groups(_int_from(device_id, 'd', DEVICE_BITS, 'device'), 4)}--{index:04x}"


def parse_streamer_slug(value: str) -> tuple[int, int]:
    """Return ``(device_id, index)``.

    Some clients format the device's last group with more than four digits (``t--0000-0000-0000-123456789--0000``),
    so the device id is read from all its groups joined together.
    """
    parts = _split_kind(value, "t").split("--")
    if len(parts) != 2:
        raise SlugError(f"'{value}' is not a streamer slug")
    return (
        _int_from(parts[0], "d", DEVICE_BITS, "device"),
        _int_from(parts[1], "t", STREAMER_INDEX_BITS, "streamer index"),
    )


# Aliases ----------------------------------------------------------------------------------------------------------


def alias_slug(alias_id: int) -> str:
    return f"a--{hex_groups(_int_from(alias_id, 'a', 64, 'alias'), 4)}"


def parse_alias_slug(value: int | str) -> int:
    return _int_from(value, "a", 64, "alias")


def slug_kind(value: str) -> str:
    """The kind letter of a slug: ``'s'`` for ``s--…``; ``''`` when there is none."""
    head, sep, _ = value.partition("--")
    return head if sep and len(head) == 1 else ""
