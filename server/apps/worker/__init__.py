"""The queue worker (docs/worker.md).

Declare an action in ``<app>/worker.py`` (imported when the worker app is ready)::

    from server.apps.worker.actions import Action, PermanentError, RetriableError, RetryPolicy, register_action

    @register_action
    class ProcessReport(Action):
        required_arguments = ("report_id",)
        timeout = 600                                    # seconds, SIGALRM in the worker
        retry = RetryPolicy(max_attempts=5, backoff=30)  # retriable failures wait 30, 60, 120, 240 s

        def execute(self, arguments):
            ...  # PermanentError: dead letter now; RetriableError (or a lost connection, a timeout): retry

Enqueue it from a service: ``ProcessReport.schedule_on_commit({"report_id": report.pk})`` inside a transaction, or
``ProcessReport.schedule({...}, delay=0)`` outside one. Run ``manage.py worker``, or ``run_worker(burst=True)`` from
``server.apps.worker.runner`` in tests. Periodic jobs: ``register_periodic(Action, every=timedelta(...))`` from
``server.apps.worker.scheduler``.
"""
