"""The data block's queue action: archiving a device's data into a block."""

from __future__ import annotations

import logging
from typing import Any

from server.apps.datablock.models import DataBlock
from server.apps.datablock.services import datablock_archive
from server.apps.worker.actions import Action, RetryPolicy, register_action

logger = logging.getLogger(__name__)


@register_action
class ArchiveDevice(Action):
    """Move a device's data into its new block, then reset the device (``datablock_archive``). Safe to run again
    after any failure: it carries on from the rows still under the device's slugs."""

    required_arguments = ("block_id",)
    timeout = 3600
    retry = RetryPolicy(max_attempts=5, backoff=30, max_backoff=1800)

    def execute(self, arguments: dict[str, Any]) -> None:
        block = DataBlock.objects.filter(pk=arguments["block_id"]).first()
        if block is None:
            logger.info("archive: block %s no longer exists", arguments["block_id"])
            return
        datablock_archive(block=block)
        logger.info("archive: %s completed", block.slug)
