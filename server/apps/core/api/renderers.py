"""A JSON renderer for large answers: orjson encodes in C what DRF's renderer encodes value by value in Python.

The bytes parse to the same JSON as DRF's ``JSONRenderer`` gives, with two differences of notation: a float is
written in orjson's shortest form (``1e-7`` where Python writes ``1e-07``, ``0.00001`` for ``1e-05``), and NaN or
infinity become ``null`` (Python writes ``NaN``, which is not JSON). Datetimes in UTC end in ``Z``, as with DRF.
Views that answer thousands of rows use it (``renderer_classes``); the rest keep DRF's.
"""

from __future__ import annotations

from typing import Any

import orjson
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer
from rest_framework.utils.encoders import JSONEncoder

_fallback = JSONEncoder().default


class FastJSONRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None  # JSON is UTF-8 by definition; DRF's JSONRenderer declares none either

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        # Anything orjson does not know (Decimal, lazy translations, …) goes through DRF's own encoder.
        return orjson.dumps(data, default=_fallback, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)


# For views that list many rows: the fast renderer first, the browsable API for a browser.
FAST_RENDERERS = [FastJSONRenderer, BrowsableAPIRenderer]
