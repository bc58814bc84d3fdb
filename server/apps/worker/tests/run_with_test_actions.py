"""``python -m server.apps.worker.tests.run_with_test_actions worker …``: ``manage.py`` with the test actions
registered, so a worker subprocess can run them."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.config.settings.test")
    import django

    django.setup()
    from django.core.management import execute_from_command_line

    from server.apps.worker.tests.actions import register_test_actions

    register_test_actions()
    execute_from_command_line(["manage.py", *sys.argv[1:]])


if __name__ == "__main__":
    main()
