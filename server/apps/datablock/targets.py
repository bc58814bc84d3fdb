"""A data block as a target: ``b--…``, or the clients' ``d--`` form with the block number in its top group."""

from __future__ import annotations

from typing import Any

from server.apps.core import slugs
from server.apps.core.targets import BLOCK, TargetType, register_target
from server.apps.datablock.models import DataBlock


def _lookup(value: str) -> dict[str, Any]:
    return {"slug": slugs.block_slug(*slugs.parse_block_slug(value))}


register_target(TargetType(BLOCK, DataBlock, lookup=_lookup, related=("org", "device")))
