"""Our slugs agree with the ones the IOTile clients build (``iotile_cloud.utils.gid``).

The client emits the canonical form from integers, but keeps most strings as given (``'d--1'`` stays
``d--0000-0000-0000-1``). So for strings the rule is: we parse the same id the client reads back with ``get_id()``,
and we emit the slug the client builds from that id. Samples are deterministic: edge values plus seeded random ones.
"""

from __future__ import annotations

import random

import pytest
from iotile.cloud.cloud import IOTileCloud
from iotile.cloud.utilities import device_id_to_slug, fleet_id_to_slug
from iotile_cloud.utils import gid

from server.apps.core import slugs

EDGES = [0, 1, 2, 0xF, 0x10, 0xFF, 0x100, 0xFFF, 0x1000, 0xFFFF, 0x10000, 0x123456789, 2**32 - 1, 2**32, 2**48 - 1]


def samples(bits: int, count: int = 200, *, minimum: int = 0, seed: int = 0) -> list[int]:
    """Edge values that fit in ``bits``, then random ones spread over every magnitude."""
    rng = random.Random(f"{bits}-{seed}")
    values = [v for v in EDGES if minimum <= v < 1 << bits] + [(1 << bits) - 1]
    for _ in range(count):
        width = rng.randint(1, bits)
        values.append(max(minimum, rng.randrange(1 << width)))
    return list(dict.fromkeys(values))


def string_forms(value: int, letter: str, groups: int) -> list[str]:
    """The ways a client or a person may write an id: canonical, short, upper-case, ``0x``, with or without kind."""
    canonical = slugs.hex_groups(value, groups)
    trimmed = canonical.lstrip("0-") or "0"
    forms = [
        canonical,
        f"{letter}--{canonical}",
        f"{letter}--{canonical.upper()}",
        f"{letter}--{trimmed}",
        trimmed,
        f"{value:x}",
        f"{value:X}",
        f"0x{value:x}",
        f"{letter}--0x{value:x}",
    ]
    # Client quirk: an id written as a lone 'b' or 'd' (0xb, 0xd) is taken for a kind letter and crashes the client.
    return [form for form in forms if form.lower().split("--")[-1] not in ("b", "d")]


# Projects ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", samples(32))
def test_project_from_int(value):
    assert slugs.project_slug(value) == str(gid.IOTileProjectSlug(value))


@pytest.mark.parametrize("value", samples(32, count=60, seed=1))
def test_project_from_string(value):
    for text in string_forms(value, "p", 2):
        client = gid.IOTileProjectSlug(text)
        assert slugs.parse_project_slug(text) == client.get_id() == value, text
        assert slugs.project_slug(text) == str(client), text


@pytest.mark.parametrize("value", [-1, 2**32, "p--1-0000-0000", "d--1", "x--1", "", "p--", "p--xyz"])
def test_project_rejected_by_both(value):
    with pytest.raises(ValueError):
        gid.IOTileProjectSlug(value)
    with pytest.raises(slugs.SlugError):
        slugs.parse_project_slug(value)


# Devices ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", samples(48))
def test_device_from_int(value):
    assert slugs.device_slug(value) == str(gid.IOTileDeviceSlug(value)) == str(gid.IOTileDeviceSlug(value, False))


@pytest.mark.parametrize("value", samples(48, count=80, seed=1))
def test_device_from_string(value):
    for text in string_forms(value, "d", 4):
        client = gid.IOTileDeviceSlug(text)
        assert slugs.parse_device_slug(text) == client.get_id() == value, text
        assert slugs.device_slug(slugs.parse_device_slug(text)) == str(gid.IOTileDeviceSlug(client.get_id())), text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("d--1", 1),
        ("1", 1),
        ("d--00AB", 0xAB),
        ("d--00ab", 0xAB),
        ("0x12ab", 0x12AB),
        ("d--0x12ab", 0x12AB),
        ("12ab", 0x12AB),
        ("d--0000-0000-0000-123456789", 0x123456789),
        ("d--ffff-ffff-ffff", 2**48 - 1),
    ],
)
def test_device_lenient_forms(text, value):
    client = gid.IOTileDeviceSlug(text)
    assert client.get_id() == value
    assert slugs.parse_device_slug(text) == value
    assert slugs.device_slug(value) == str(gid.IOTileDeviceSlug(value))


def test_device_keeps_client_non_canonical_string_readable():
    # The client keeps 'd--1' as d--0000-0000-0000-1; we read the same id and emit the canonical form.
    assert str(gid.IOTileDeviceSlug("d--1")) == "d--0000-0000-0000-1"
    assert slugs.parse_device_slug("d--0000-0000-0000-1") == 1
    assert slugs.device_slug(1) == "d--0000-0000-0000-0001"


@pytest.mark.parametrize("value", ["D--1", "p--1", "", "d--", "d--xyz", -1])
def test_device_rejected_by_both(value):
    with pytest.raises(ValueError):
        gid.IOTileDeviceSlug(value)
    with pytest.raises(slugs.SlugError):
        slugs.parse_device_slug(value)


@pytest.mark.parametrize("value", [2**48, "d--0001-0000-0000-0000", 2**64 - 1])
def test_device_above_48_bits_is_ours_to_reject(value):
    # The client masks integers to 48 bits and lets 64-bit strings through (they may be data blocks); a device id
    # here is 48 bits, so we refuse rather than guess.
    with pytest.raises(slugs.SlugError):
        slugs.parse_device_slug(value)
    with pytest.raises(slugs.SlugError):
        slugs.device_slug(value)


def test_iotile_cloud_helpers_agree():
    for value in samples(48, count=50, seed=2):
        assert slugs.device_slug(value) == device_id_to_slug(value)
        assert slugs.fleet_slug(value) == fleet_id_to_slug(value)


# Fleets -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", samples(48))
def test_fleet_from_int(value):
    assert slugs.fleet_slug(value) == str(gid.IOTileFleetSlug(value))


@pytest.mark.parametrize("value", samples(48, count=60, seed=1))
def test_fleet_from_string(value):
    for text in string_forms(value, "g", 3):
        client = gid.IOTileFleetSlug(text)
        assert slugs.parse_fleet_slug(text) == client.get_id() == value, text
        assert slugs.fleet_slug(text) == str(client), text


def test_fleet_short_form():
    assert slugs.fleet_slug("g--1") == str(gid.IOTileFleetSlug("g--1")) == "g--0000-0000-0001"


@pytest.mark.parametrize("value", [2**48, "G--1", "d--1", "", "g--zz"])
def test_fleet_rejected_by_both(value):
    with pytest.raises(ValueError):
        gid.IOTileFleetSlug(value)
    with pytest.raises(slugs.SlugError):
        slugs.parse_fleet_slug(value)


# Variables --------------------------------------------------------------------------------------------------------


def _variable_cases() -> list[tuple[int, int]]:
    projects = samples(32, count=12, seed=3)
    variables = samples(16, count=12, minimum=1, seed=3)
    return [(project, lid) for project in projects for lid in variables]


@pytest.mark.parametrize(("project", "lid"), _variable_cases())
def test_variable_matches_client(project, lid):
    client = gid.IOTileVariableSlug(lid, project=gid.IOTileProjectSlug(project))
    assert slugs.variable_slug(project, lid) == str(client)
    if project:  # the client takes a plain 0 for "no project" and then fails on it
        assert str(client) == str(gid.IOTileVariableSlug(lid, project=project))
    assert slugs.variable_lid_hex(lid) == client.formatted_local_id()
    assert slugs.parse_variable_slug(str(client)) == (project, lid)


def test_variable_known_forms():
    assert slugs.variable_slug(1, 0x5001) == str(gid.IOTileVariableSlug(0x5001, 1)) == "v--0000-0001--5001"
    assert slugs.variable_slug(0, 0x5001) == str(gid.IOTileVariableSlug(0x5001)) == "v--0000-0000--5001"
    assert slugs.parse_variable_slug("v--1--5001") == (1, 0x5001)
    assert slugs.parse_variable_slug("v--0000-0001--5A01") == (1, 0x5A01)


@pytest.mark.parametrize("value", ["x--0000-0001--5001", "v--0000-0001", "v--0000-0001--1-0000", "s--1--2--3"])
def test_variable_rejected(value):
    # The client stores any three-part string unchecked; we insist on a real variable slug.
    with pytest.raises(slugs.SlugError):
        slugs.parse_variable_slug(value)


@pytest.mark.parametrize(
    ("value", "lid"),
    [
        ("5001", 0x5001),
        ("5a07", 0x5A07),
        ("5A07", 0x5A07),
        ("0x5001", 0x5001),
        ("0X5001", 0x5001),
        ("0", 0),
        ("ffff", 0xFFFF),
        ("0000ffff", 0xFFFF),
        (0x5001, 0x5001),
        (0, 0),
    ],
)
def test_a_local_id_alone_in_the_forms_the_api_takes(value, lid):
    assert slugs.parse_variable_lid(value) == lid


@pytest.mark.parametrize(
    "value",
    [
        "\u0667\u0667\u0667\u0661",  # Arabic-Indic 7771: int(text, 16) reads it
        "\uff17\uff17\uff17\uff12",  # full-width 7772
        "7_773",
        "+5001",
        "-1",
        " 5001",
        "5001\n",
        "50-01",
        "0x",
        "0x0x5",
        "v--5001",
        "",
        "10000",
        -1,
        0x10000,
        True,
        5001.0,
        None,
    ],
)
def test_a_local_id_in_any_other_form_is_refused(value):
    with pytest.raises(slugs.SlugError):
        slugs.parse_variable_lid(value)


# Streams ----------------------------------------------------------------------------------------------------------


def _stream_cases() -> list[tuple[int, int, int]]:
    rng = random.Random("streams")
    projects = samples(32, count=20, seed=4)
    devices = samples(48, count=20, seed=4)
    variables = samples(16, count=20, minimum=1, seed=4)
    return [(rng.choice(projects), rng.choice(devices), rng.choice(variables)) for _ in range(300)]


def _client_stream(project, device, variable) -> gid.IOTileStreamSlug:
    stream = gid.IOTileStreamSlug()
    stream.from_parts(project, device, variable)
    return stream


@pytest.mark.parametrize(("project", "device", "variable"), _stream_cases())
def test_stream_from_ints(project, device, variable):
    client = _client_stream(project, device, variable)
    ours = slugs.stream_slug(project, device, variable)
    assert ours == str(client)
    parts = slugs.parse_stream_slug(ours)
    assert (parts.project, parts.device_id, parts.variable, parts.block) == (project, device, variable, 0)
    assert client.get_parts() == {
        "project": parts.project_slug,
        "device": parts.device_slug,
        "variable": parts.variable_slug,
    }


@pytest.mark.parametrize(("project", "device", "variable"), _stream_cases()[:60])
def test_stream_from_client_strings(project, device, variable):
    # Strings given to the client stay as written inside the stream slug; we read back the same ids.
    for device_text in string_forms(device, "d", 4):
        client = _client_stream(f"p--{project:x}", device_text, f"{variable:04x}")
        parts = slugs.parse_stream_slug(str(client))
        assert (parts.project, parts.device_id, parts.variable) == (project, device, variable), str(client)
        assert parts.slug == str(_client_stream(project, device, variable))


def test_stream_with_block_and_missing_parts():
    client = _client_stream(1, "0001-0000-0000-0002", 0x5001)
    assert str(client) == slugs.stream_slug(1, 2, 0x5001, block=1) == "s--0000-0001--0001-0000-0000-0002--5001"
    parts = slugs.parse_stream_slug(str(client))
    assert (parts.device_id, parts.block, parts.device_slug) == (2, 1, "b--0001-0000-0000-0002")
    assert str(_client_stream(None, None, 0x5001)) == slugs.stream_slug(0, 0, 0x5001)


@pytest.mark.parametrize("value", ["s--0000-0001--0000-0000-0000-0002", "x--1--2--5001", "s--1--2--3--4"])
def test_stream_rejected(value):
    with pytest.raises(slugs.SlugError):
        slugs.parse_stream_slug(value)


# Data blocks ------------------------------------------------------------------------------------------------------


def _block_cases() -> list[tuple[int, int]]:
    rng = random.Random("blocks")
    devices = samples(48, count=30, minimum=1, seed=5)
    blocks = samples(16, count=30, minimum=1, seed=5)
    return [(rng.choice(devices), rng.choice(blocks)) for _ in range(200)] + [(1, 1), (2**48 - 1, 0xFFFF)]


@pytest.mark.parametrize(("device", "block"), _block_cases())
def test_block_matches_client(device, block):
    client = gid.IOTileBlockSlug(device, block=block)
    assert slugs.block_slug(device, block) == str(client)
    assert slugs.parse_block_slug(str(client)) == (client.get_id(), client.get_block()) == (device, block)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("b--0001-0000-0000-0002", (2, 1)),
        ("b--0001-0000-0000-00AB", (0xAB, 1)),
        ("d--0001-0000-0000-0002", (2, 1)),
        ("d--0010-0000-1234-5678", (0x12345678, 0x10)),
    ],
)
def test_block_string_forms(text, expected):
    client = gid.IOTileBlockSlug(text)
    assert (client.get_id(), client.get_block()) == expected
    assert slugs.parse_block_slug(text) == expected
    assert slugs.block_slug(*expected) == str(gid.IOTileBlockSlug(expected[0], block=expected[1]))


@pytest.mark.parametrize("value", ["b--0000-0000-0000-0002", "d--0000-0002", "p--0001-0000-0000-0002", "b--zz"])
def test_block_rejected(value):
    # Block 0 would be the device itself, so it is not a data block here.
    with pytest.raises(slugs.SlugError):
        slugs.parse_block_slug(value)


# Streamers --------------------------------------------------------------------------------------------------------


def _streamer_cases() -> list[tuple[int, int]]:
    rng = random.Random("streamers")
    devices = samples(48, count=40, seed=6)
    return [(rng.choice(devices), rng.choice([0, 1, 2, 7, 0x100, 0xFFFF])) for _ in range(200)]


@pytest.mark.parametrize(("device", "index"), _streamer_cases())
def test_streamer_matches_client(device, index):
    client = gid.IOTileStreamerSlug(device, index)
    ours = slugs.streamer_slug(device, index)
    assert ours == str(client)
    assert slugs.parse_streamer_slug(ours) == (device, index)
    assert client.get_device() == slugs.device_slug(device)
    assert str(gid.IOTileStreamerSlug(gid.IOTileDeviceSlug(device), index)) == ours
    assert str(gid.IOTileStreamerSlug(f"d--{device:04x}", index)) == ours


@pytest.mark.parametrize(("device", "index"), _streamer_cases())
def test_streamer_oversized_group_from_iotile_cloud(device, index):
    # IOTileCloud writes the whole device id into the last group; the id is all the groups read together.
    text = IOTileCloud._build_streamer_slug(None, device, index)
    assert slugs.parse_streamer_slug(text) == (device, index)


def test_streamer_oversized_example():
    text = "t--0000-0000-0000-123456789--0000"
    assert IOTileCloud._build_streamer_slug(None, 0x123456789, 0) == text
    assert slugs.parse_streamer_slug(text) == (0x123456789, 0)
    assert slugs.streamer_slug(0x123456789, 0) == "t--0000-0001-2345-6789--0000"
    assert slugs.streamer_slug(2, 0) == str(gid.IOTileStreamerSlug(2, 0)) == "t--0000-0000-0000-0002--0000"


@pytest.mark.parametrize("value", ["t--0000-0000-0000-0002", "x--1--0", "t--1--10000", "t--1--0--0"])
def test_streamer_rejected(value):
    with pytest.raises(slugs.SlugError):
        slugs.parse_streamer_slug(value)


# Aliases and kinds ------------------------------------------------------------------------------------------------


def test_alias_and_kind():
    assert slugs.alias_slug(1) == "a--0000-0000-0000-0001"
    assert slugs.parse_alias_slug("a--1") == 1
    assert slugs.slug_kind("s--0000-0001--0000-0000-0000-0002--5001") == "s"
    assert slugs.slug_kind("0000-0001") == ""


# Strictness -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["-1", "d---1", "d--1-", "d--1--2", "+1", " 1", "1 ", "d-- 1", "\u0661", "1_0", "0x", "0x-1", "d--0x", "1\x00"],
)
def test_odd_forms_are_not_ids(value):
    # Signs, stray dashes, spaces, underscores and other scripts' digits name no device ("-1" is not device 1).
    with pytest.raises(slugs.SlugError):
        slugs.parse_device_slug(value)
    with pytest.raises(slugs.SlugError):
        slugs.parse_alias_slug(value)
