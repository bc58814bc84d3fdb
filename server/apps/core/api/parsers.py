"""The API's request parsers (the DRF defaults in settings): JSON, forms and multipart, with the strict checks of
core/inputs.py. A body that nests too deeply, holds a NUL character or a lone surrogate, or is not valid UTF-8 is a
400 before any view sees it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from server.apps.core.inputs import InputError, bad_text_reason, json_loads

if TYPE_CHECKING:
    from django.http.request import _ImmutableQueryDict


class JSONParser(parsers.JSONParser):
    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        try:
            return json_loads(stream.read() if stream is not None else b"")
        except InputError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc


def check_form(data: QueryDict, files: Mapping[str, Any] | None = None) -> None:
    """Refuse form fields (names, values, file names) that hold text that cannot be stored."""
    texts: list[Any] = [*data.keys(), *(value for _, values in data.lists() for value in values)]
    if files is not None:
        texts += [*files.keys(), *(upload.name or "" for upload in files.values())]
    for text in texts:
        reason = bad_text_reason(text) if isinstance(text, str) else None
        if reason is not None:
            raise ParseError(f"Form parse error - {reason}")


class FormParser(parsers.FormParser):
    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> _ImmutableQueryDict:
        data = super().parse(stream, media_type, parser_context)
        check_form(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> parsers.DataAndFiles[Any, Any]:
        result = super().parse(stream, media_type, parser_context)
        check_form(result.data, result.files)
        return result
