"""``api_url()``: the API's canonical paths by URL name, with the slash ``reverse()`` leaves out of its optional-slash
routes."""

import pytest
from django.urls import NoReverseMatch, resolve

from server.apps.core.api.routers import api_url


@pytest.mark.parametrize(
    ("name", "kwargs", "path"),
    [
        ("streamerreport-list", {}, "/api/v1/streamer/report/"),
        ("datablock-detail", {"slug": "b--0000-0001-0000-0002"}, "/api/v1/datablock/b--0000-0001-0000-0002/"),
        ("device-key", {"slug": "d--0000-0000-0000-0012"}, "/api/v1/device/d--0000-0000-0000-0012/key/"),
        ("note-attachment", {"id": 7}, "/api/v1/note/7/attachment/"),
    ],
)
def test_the_canonical_path_ends_in_a_slash_and_reaches_the_same_view(name, kwargs, path):
    assert api_url(name, **kwargs) == path
    assert resolve(path).func == resolve(path.rstrip("/")).func
    assert resolve(path).url_name == name


def test_a_name_the_api_lacks_is_an_error_not_a_guess():
    with pytest.raises(NoReverseMatch):
        api_url("nothing-list")
    with pytest.raises(NoReverseMatch):
        api_url("device-key")
