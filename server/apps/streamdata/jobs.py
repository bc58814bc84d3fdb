"""The stream data's periodic work on the worker's scheduler: monthly partitions made ahead of time, and retention
(docs/retention.md)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from server.apps.project.models import Project
from server.apps.project.services import retention_run_fail, retention_run_finish, retention_run_start
from server.apps.streamdata.partitions import RetentionResult
from server.apps.streamdata.services import (
    stream_data_disk_bytes,
    stream_data_partitions_ensure,
    stream_data_retention_apply,
)
from server.apps.streamevent.services import (
    stream_events_disk_bytes,
    stream_events_partitions_ensure,
    stream_events_retention_apply,
)
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
    where every row (or event) in them is expired, expired rows deleted elsewhere. Daily for every project; with
    ``run_id`` (a ``project.RetentionRun`` an owner asked for) for that run's project alone, writing on the run what
    went and the disk freed."""

    optional_arguments = ("run_id",)
    timeout = 3600

    def execute(self, arguments: dict[str, Any]) -> None:
        now = timezone.now()
        if "run_id" not in arguments:
            self._apply(now, project=None)
            return
        run = retention_run_start(run_id=arguments["run_id"])
        if run is None:
            return  # done already (a repeated delivery), or gone with its project
        try:
            before = stream_data_disk_bytes() + stream_events_disk_bytes()
            data, events = self._apply(now, project=run.project)
            freed = before - stream_data_disk_bytes() - stream_events_disk_bytes()
        except Exception as exc:
            retention_run_fail(run=run, error=f"{type(exc).__name__}: {exc}")
            raise
        retention_run_finish(
            run=run,
            partitions_dropped=data.partitions_dropped + events.partitions_dropped,
            rows_deleted=data.rows_deleted,
            events_deleted=events.rows_deleted,
            bytes_freed=freed,
        )

    @staticmethod
    def _apply(now: datetime, project: Project | None) -> tuple[RetentionResult, RetentionResult]:
        data = stream_data_retention_apply(now=now, project=project)
        events = stream_events_retention_apply(now=now, project=project)
        logger.info(
            "retention%s: %d partitions dropped %s, %d rows and %d events deleted",
            f" of project {project.pk}" if project is not None else "",
            len(data.partitions_dropped) + len(events.partitions_dropped),
            data.partitions_dropped + events.partitions_dropped,
            data.rows_deleted,
            events.rows_deleted,
        )
        return data, events


register_periodic(StreamDataPartitions, every=timedelta(hours=6))
register_periodic(DataRetention, every=timedelta(days=1))
