"""The stream page's time window: a preset (the last hour, day, week or month of data, or all of it) or a custom
start and end. Every view of the page (chart, table, CSV) reads the same query string through this form."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django import forms

from server.apps.core import forms as core_forms

# Presets count back from the stream's last reading rather than from now, so a stream that stopped reporting
# still shows its last day of data under "24 h".
RANGE_PRESETS = {
    "1h": ("1 h", timedelta(hours=1)),
    "24h": ("24 h", timedelta(days=1)),
    "7d": ("7 d", timedelta(days=7)),
    "30d": ("30 d", timedelta(days=30)),
    "all": ("All", None),
}
ONE_SECOND = timedelta(seconds=1)

Bounds = tuple[datetime | None, datetime | None]


@dataclass(frozen=True)
class TimeWindow:
    """``[start, end)``; both None when the stream has no readings and nothing was asked for."""

    start: datetime | None
    end: datetime | None
    preset: str | None

    @property
    def bounds_query(self) -> dict[str, str]:
        """The window as an ISO start and end (empty without a window)."""
        if self.start is None or self.end is None:
            return {}
        return {"start": _iso(self.start), "end": _iso(self.end)}

    @property
    def query(self) -> dict[str, str]:
        """The window as links name it: a preset by name (it follows new readings), a custom window by its ends."""
        if self.preset == "all":
            return {}
        return {"range": self.preset} if self.preset else self.bounds_query


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _whole_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def _just_after(moment: datetime) -> datetime:
    """The whole second after ``moment``, the end of a window that holds it. A reading in the last second of the
    year 9999 (the API takes it) has none: the window then ends at the last moment a datetime holds."""
    try:
        return _whole_second(moment) + ONE_SECOND
    except OverflowError:
        return datetime.max.replace(tzinfo=moment.tzinfo)


class StreamRangeForm(forms.Form):
    range = forms.ChoiceField(choices=[(key, label) for key, (label, _) in RANGE_PRESETS.items()], required=False)
    start = core_forms.DateTimeField(required=False)
    end = core_forms.DateTimeField(required=False)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start is not None and end is not None and start >= end:
            raise forms.ValidationError("The start must come before the end.", code="empty_window")
        return cleaned

    def window(self, bounds: Callable[[], Bounds]) -> TimeWindow:
        """The window asked for; ``bounds()`` gives the stream's first and last timestamps, and is only called when
        the window depends on them (a preset, an open side, or nothing asked)."""
        data = self.cleaned_data if self.is_valid() else {}
        start, end, preset = data.get("start"), data.get("end"), data.get("range") or None
        if start is not None and end is not None:
            return TimeWindow(start, end, None)
        first, last = bounds()
        # The window ends just after the last reading, on a whole second.
        after_last = _just_after(last) if last is not None else None
        if start is not None or end is not None:
            # One side given: the other is the stream's own (an empty window when they cross).
            start = start or (_whole_second(first) if first else end)
            end = end or after_last or start
            # One side was given and the other is filled in from it.
            assert start is not None
            assert end is not None
            return TimeWindow(start, max(start, end), None)
        if first is None or last is None:
            return TimeWindow(None, None, preset or "all")
        duration = RANGE_PRESETS.get(preset or "all", (None, None))[1]
        if duration is None or after_last is None:
            return TimeWindow(_whole_second(first), after_last, "all")
        return TimeWindow(after_last - duration, after_last, preset)

    def error_text(self) -> str:
        """The form's errors as one sentence, for a page's alert or a JSON 400."""
        parts = []
        for field, errors in self.errors.items():
            prefix = "" if field == "__all__" else f"{field}: "
            parts.append(prefix + " ".join(str(error) for error in errors))
        return " ".join(parts)
