"""Downloads from and uploads to folder stores through signed, expiring links (``store_file_url``,
``store_upload_url``): S3 stores hand out presigned URLs instead. The link is the credential, so the views ask for
no login."""

from __future__ import annotations

import mimetypes

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from server.apps.stores.backends import StoreFileNotFoundError
from server.apps.stores.selectors import (
    store_download_target,
    store_file_open,
    store_upload_refused,
    store_upload_target,
)
from server.apps.stores.services import store_file_save


@require_GET
def store_file_download(request: HttpRequest, token: str, name: str) -> FileResponse:
    try:
        store, key = store_download_target(token=token)
        file = store_file_open(store=store, key=key)
    except StoreFileNotFoundError as exc:
        raise Http404(str(exc)) from exc
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return FileResponse(file, as_attachment=True, filename=name, content_type=content_type)


@csrf_exempt
@require_http_methods(["PUT"])
def store_file_upload(request: HttpRequest, token: str, name: str) -> HttpResponse:
    """A device's PUT of the file its signed link names (the body is the file, as with an S3 presigned PUT). A link
    its store's guard refuses (its upload was canceled or is over) is a 410 and nothing is stored."""
    try:
        store, key = store_upload_target(token=token)
    except StoreFileNotFoundError as exc:
        raise Http404(str(exc)) from exc
    refused = store_upload_refused(store=store, key=key)
    if refused:
        return HttpResponse(refused, status=410, content_type="text/plain")
    store_file_save(store=store, key=key, content=request.body)
    return HttpResponse(status=201)
