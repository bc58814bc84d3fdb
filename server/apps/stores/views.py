"""Downloads from folder stores through signed, expiring links (``store_file_url``): S3 stores hand out presigned
URLs instead. The link is the credential, so the view asks for no login."""

from __future__ import annotations

import mimetypes

from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_GET

from server.apps.stores.backends import StoreFileNotFoundError
from server.apps.stores.selectors import store_download_target, store_file_open


@require_GET
def store_file_download(request: HttpRequest, token: str, name: str) -> FileResponse:
    try:
        store, key = store_download_target(token=token)
        file = store_file_open(store=store, key=key)
    except StoreFileNotFoundError as exc:
        raise Http404(str(exc)) from exc
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return FileResponse(file, as_attachment=True, filename=name, content_type=content_type)
