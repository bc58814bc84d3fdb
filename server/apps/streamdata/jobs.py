"""The stream data's periodic work on the worker's scheduler: monthly partitions made ahead of time, and retention
(docs/retention.md)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.utils import timezone

from server.apps.streamdata.services import stream_data_partitions_ensure, stream_data_retention_apply
from server.apps.streamevent.services import stream_events_partitions_ensure, stream_events_retention_apply
from server.apps.worker.actions import Action, register_action
from server.apps.worker.scheduler import register_periodic

logger = logging.getLogger(__name__)


@register_action
class StreamDataPartitions(Action):
    """Creates the partitions of this month and the next ones of the stream data and of the events, and gives the
    months found in their DEFAULT partitions partitions of their own (``streamdata.partitions.partitions_ensure``)."""

    timeout = 600

    def execute(self, arguments: dict[str, Any]) -> None:
        now = timezone.now()
        created = stream_data_partitions_ensure(now=now) + stream_events_partitions_ensure(now=now)
        logger.info("stream data and event partitions: %d created %s", len(created), created)


@register_action
class DataRetention(Action):
    """Removes each project's stream data and events older than its retention: whole monthly partitions dropped
    where every row (or event) in them is expired, expired rows deleted elsewhere."""

    timeout = 3600

    def execute(self, arguments: dict[str, Any]) -> None:
        now = timezone.now()
        data = stream_data_retention_apply(now=now)
        events = stream_events_retention_apply(now=now)
        logger.info(
            "retention: %d partitions dropped %s, %d rows and %d events deleted",
            len(data.partitions_dropped) + len(events.partitions_dropped),
            data.partitions_dropped + events.partitions_dropped,
            data.rows_deleted,
            events.rows_deleted,
        )


register_periodic(StreamDataPartitions, every=timedelta(hours=6))
register_periodic(DataRetention, every=timedelta(days=1))
