"""Why a report cannot be ingested. Every error is an ApplicationError, so the API answers it with a 400."""

from __future__ import annotations

from server.apps.core.errors import ApplicationError


class ReportError(ApplicationError):
    """A report that cannot be ingested. The message is meant for the operator who looks at the upload."""


class ReportFormatError(ReportError):
    """The file is not a well-formed report: wrong format byte, length, extension, encoding or missing keys."""


class ReportSignatureError(ReportError):
    """A signed report whose signature does not verify, or whose key is unknown."""


class ReportRejectedError(ReportError):
    """A well-formed report that the ingest rules refuse (for example a streamer selector that cannot be timed)."""
