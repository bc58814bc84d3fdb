"""An API answer is freed when its request ends (``ReleaseAnswerMiddleware``): DRF's cycles between the view, its
request and the answer no longer wait for a full garbage collection, with a page of stream data in them. And what the
WSGI module loads is frozen out of the collector's generations, so that a full collection does not walk it."""

from __future__ import annotations

import gc
import io
import sys
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from server.apps.authentication.authentication import jwt_encode
from server.apps.core.testing import connections_kept_between_requests, make_member, make_user
from server.apps.device.tests.factories import make_device, make_project, make_stream
from server.apps.org.roles import MEMBER
from server.apps.streamdata.services import stream_data_bulk_insert, stream_data_row
from server.config.wsgi import application


@pytest.fixture
def no_collector() -> Iterator[None]:
    """The cycle collector off, so only reference counting frees what a request leaves; the test's database
    connection kept open when the request ends."""
    gc.collect()
    gc.disable()
    with connections_kept_between_requests():
        yield
    gc.enable()


def answer_after_close(path: str, query: str, token: str) -> tuple[str, weakref.ref]:
    """Runs one request through the WSGI application as a server does (iterates the answer, closes it) and gives a
    weak reference to the answer once the server has let go of it."""
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "HTTP_AUTHORIZATION": f"jwt {token}",
        "HTTP_ACCEPT": "application/json",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
    }
    statuses: list[str] = []
    response = application(environ, lambda status, headers, exc_info=None: statuses.append(status))
    body = b"".join(response)
    response.close()
    assert body
    answer = weakref.ref(response)
    del response
    return statuses[0], answer


@pytest.mark.django_db(databases=["default", "streamdata"])
def test_a_page_of_stream_data_is_freed_as_its_request_ends(no_collector):
    project = make_project()
    stream = make_stream(make_device(project))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    stream_data_bulk_insert(
        rows=[
            stream_data_row(series=stream.series, timestamp=start + timedelta(minutes=i), value=i, streamer_local_id=i)
            for i in range(1, 101)
        ]
    )
    token = jwt_encode(make_member(project.org, MEMBER))
    status, answer = answer_after_close("/api/v1/data/", f"filter={stream.slug}&lastn=100", token)
    assert status.startswith("200")
    assert answer() is None


@pytest.mark.django_db(databases=["default", "streamdata"])
def test_an_error_answer_is_freed_too(no_collector):
    token = jwt_encode(make_user())
    status, answer = answer_after_close("/api/v1/data/", "filter=s--0000-0fff--0000-0000-0000-0fff--5001", token)
    assert status.startswith("404")
    assert answer() is None


def test_what_the_wsgi_module_loaded_is_out_of_the_collectors_reach():
    # Imported above: Django, every app's models and, through the URL configuration, every view. A full collection
    # walked all of them (about 60 ms, every few hundred requests) before they were frozen.
    assert gc.get_freeze_count() > 50_000
    assert not gc.is_tracked(application) or all(application is not item for item in gc.get_objects(generation=2))
