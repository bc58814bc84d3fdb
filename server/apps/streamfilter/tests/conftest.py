import pytest


@pytest.fixture(autouse=True)
def _stores_and_queue(request, settings):
    """Folder stores under the test's tmp_path and the PostgreSQL queue: reports go through the real worker."""
    request.getfixturevalue("folder_stores")
    settings.WORKER_QUEUE = "postgres"
