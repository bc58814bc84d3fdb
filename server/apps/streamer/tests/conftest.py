import pytest


@pytest.fixture(autouse=True)
def _stores_and_queue(request, settings):
    """Folder stores under the test's tmp_path and the PostgreSQL queue, for every ingest test."""
    request.getfixturevalue("folder_stores")
    settings.WORKER_QUEUE = "postgres"
