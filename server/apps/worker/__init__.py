"""The queue worker (docs/worker.md).

Declare an action in ``<app>/jobs.py`` (imported when the worker app is ready)::

    from server.apps.worker.actions import Action, PermanentError, RetriableError, RetryPolicy, register_action

    @register_action
    class ProcessReport(Action):
        required_arguments = ("report_id",)
        timeout = 600                                    # seconds, SIGALRM in the worker
        retry = RetryPolicy(max_attempts=5, backoff=30)  # retriable failures wait 30, 60, 120, 240 s

        def execute(self, arguments):
            ...  # PermanentError: dead letter now; RetriableError (or a lost connection, a timeout): retry

Enqueue it by name from a service: ``enqueue_on_commit("ProcessReport", {"report_id": str(report.pk)})`` inside a
transaction, or ``enqueue("ProcessReport", {...}, delay=0)`` outside one (``server.apps.worker.queue``). Run
``manage.py worker``, or ``run_worker(burst=True)`` from ``server.apps.worker.runner`` in tests. Periodic jobs:
``register_periodic(Action, every=timedelta(...))`` from ``server.apps.worker.scheduler``.
"""
