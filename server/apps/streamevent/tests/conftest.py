import pytest


@pytest.fixture(autouse=True)
def _stores(request):
    """Folder stores under the test's tmp_path: event payloads never land in the real store."""
    request.getfixturevalue("folder_stores")
