"""``manage.py retention_run --project <id> --user <account>``: have the worker apply a project's retention now, as
``POST /api/v1/retention/`` does (docs/retention.md), and with ``--wait`` follow the run until it is done.

The run is asked for in the account's name, with its permissions (an owner of the project's organisation, or
staff); the work is the worker's, so a worker must be running (``inv run-local`` starts one). Prints the run as the
API shows it, as JSON; exits 1 when it failed or was still not done after ``--wait`` seconds.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from server.apps.core.errors import ApplicationError
from server.apps.device.selectors import visible_project
from server.apps.project.api.serializers import RetentionRunSerializer
from server.apps.project.models import RetentionRun, RetentionRunStatus
from server.apps.project.services import retention_run_create

POLL_SECONDS = 1.0


class Command(BaseCommand):
    help = "Have the worker apply a project's retention now; --wait follows the run until it is done."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="The project's UUID or p-- slug.")
        parser.add_argument("--user", required=True, help="The account asking: its e-mail address or username.")
        parser.add_argument("--wait", type=float, default=0, help="Seconds to wait for the run to finish.")

    def handle(self, *args: Any, **options: Any) -> None:
        value = options["user"]
        user = get_user_model().objects.filter(Q(email__iexact=value) | Q(username=value)).first()
        if user is None:
            raise CommandError(f"No account {value!r}.")
        try:
            project = visible_project(user=user, value=options["project"])
            run = retention_run_create(user=user, project=project)
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        deadline = time.monotonic() + options["wait"]
        while run.status not in (RetentionRunStatus.DONE, RetentionRunStatus.FAILED) and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            run = RetentionRun.objects.select_related("project", "created_by").get(pk=run.pk)
        self.stdout.write(json.dumps(RetentionRunSerializer(run).data, indent=2, default=str))
        if options["wait"] and run.status != RetentionRunStatus.DONE:
            raise CommandError(f"The run is {run.get_status_display().lower()}.")
