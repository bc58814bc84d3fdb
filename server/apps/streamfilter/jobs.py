"""The worker actions that carry out a filter state's actions for an alert: the e-mail, the webhook, the value
written to a derived stream. Each runs once per (alert, action), however often its message is delivered
(``services.alert_action_deliver``), and is retried with backoff while it fails."""

from __future__ import annotations

import json
from typing import Any

import requests
from django.core.mail import send_mail
from django.db import router, transaction

from server.apps.core.outbound import OutboundRefusedError, outbound_post
from server.apps.stream.models import StreamId
from server.apps.streamdata.models import StreamData
from server.apps.streamdata.services import stream_data_bulk_insert, stream_data_row
from server.apps.streamfilter.models import StreamFilterAction, StreamFilterAlert
from server.apps.streamfilter.services import alert_action_deliver, recipients_list
from server.apps.worker.actions import Action, PermanentError, RetriableError, RetryPolicy, register_action

WEBHOOK_TIMEOUT_SECONDS = 10


def _action(arguments: dict[str, Any]) -> StreamFilterAction:
    action = StreamFilterAction.objects.filter(pk=arguments["action_id"]).first()
    if action is None:
        raise PermanentError(f"filter action {arguments['action_id']} no longer exists")
    return action


def alert_summary(alert: StreamFilterAlert) -> dict[str, Any]:
    """What an alert's e-mail and webhook say."""
    return {
        "alert": alert.pk,
        "filter": alert.filter_id,
        "filter_name": alert.filter_name,
        "stream": alert.stream_slug,
        "src": alert.src,
        "dst": alert.dst,
        "value": alert.value,
        "timestamp": alert.timestamp.isoformat(),
        "streamer_local_id": alert.streamer_local_id,
    }


@register_action
class StreamFilterEmail(Action):
    """E-mail an alert to the action's recipients."""

    required_arguments = ("alert_id", "action_id")
    timeout = 60
    retry = RetryPolicy(max_attempts=5, backoff=30)

    def execute(self, arguments: dict[str, Any]) -> None:
        action = _action(arguments)

        def send(alert: StreamFilterAlert) -> None:
            send_mail(
                subject=f"{alert.filter_name}: {alert.stream_slug} is now {alert.dst}",
                message=(
                    f"Filter {alert.filter_name} moved stream {alert.stream_slug} from {alert.src} to {alert.dst}: "
                    f"value {alert.value:g} at {alert.timestamp:%Y-%m-%d %H:%M:%S} UTC."
                ),
                from_email=None,
                recipient_list=recipients_list(action.recipients),
            )

        alert_action_deliver(alert_id=arguments["alert_id"], action_id=action.pk, deliver=send)


@register_action
class StreamFilterWebhook(Action):
    """POST an alert as JSON to the action's URL (through the outbound guard, core/outbound.py). A 2xx answer
    delivers it; a 5xx, a 429 or no answer is retried with backoff; another 4xx, a redirect (not followed) or an
    address the guard refuses is final (a dead letter)."""

    required_arguments = ("alert_id", "action_id")
    timeout = 60
    retry = RetryPolicy(max_attempts=6, backoff=30, factor=2, max_backoff=3600)

    def execute(self, arguments: dict[str, Any]) -> None:
        action = _action(arguments)

        def post(alert: StreamFilterAlert) -> None:
            try:
                response = outbound_post(
                    action.url,
                    data=json.dumps(alert_summary(alert)).encode(),
                    headers={"Content-Type": "application/json", "User-Agent": "iotile-streamfilter"},
                    timeout=WEBHOOK_TIMEOUT_SECONDS,
                )
            except OutboundRefusedError as exc:
                raise PermanentError(f"webhook {action.url} {exc.message}") from exc
            except requests.RequestException as exc:
                raise RetriableError(f"webhook {action.url} unreachable: {exc}") from exc
            code = response.status_code
            if code >= 500 or code == 429:
                raise RetriableError(f"webhook {action.url} answered {code}")
            if 300 <= code < 400:
                raise PermanentError(f"webhook {action.url} answered {code}: redirects are not followed")
            if code >= 400:
                raise PermanentError(f"webhook {action.url} answered {code}")

        alert_action_deliver(alert_id=arguments["alert_id"], action_id=action.pk, deliver=post)


@register_action
class StreamFilterDerivedWrite(Action):
    """Write the action's value (or the alert's reading's) to its output stream at the reading's time. The row
    carries the alert's id as its streamer id, so the stream data's unique index keeps a repeated write out."""

    required_arguments = ("alert_id", "action_id")
    timeout = 60
    retry = RetryPolicy(max_attempts=5, backoff=30)

    def execute(self, arguments: dict[str, Any]) -> None:
        action = _action(arguments)
        stream = StreamId.objects.filter(pk=action.output_stream_id).first() if action.output_stream_id else None
        if stream is None:
            raise PermanentError(f"the output stream of filter action {action.pk} no longer exists")

        def write(alert: StreamFilterAlert) -> None:
            value = action.output_value if action.output_value is not None else alert.value
            row = stream_data_row(
                series=stream.series, timestamp=alert.timestamp, value=value, streamer_local_id=alert.pk
            )
            with transaction.atomic(using=router.db_for_write(StreamData)):
                stream_data_bulk_insert(rows=[row])

        alert_action_deliver(alert_id=arguments["alert_id"], action_id=action.pk, deliver=write)
