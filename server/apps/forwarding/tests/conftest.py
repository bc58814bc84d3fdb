import pytest

from server.apps.forwarding.testing import webhook_receiver  # noqa: F401  (a fixture)


@pytest.fixture(autouse=True)
def _stores(request):
    request.getfixturevalue("folder_stores")
