import pytest

from server.apps.core.testing_http import webhook_receiver  # noqa: F401  (a fixture)


@pytest.fixture(autouse=True)
def _stores(request):
    request.getfixturevalue("folder_stores")
