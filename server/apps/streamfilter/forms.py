"""The filter form of the dashboard. The machine is written as text, one state or transition a line:

    states:       high | email: ops@example.com | webhook: https://… | note: Too hot | derived: s--… = 1
    transitions:  normal -> high: gt 30 ± 1 and lt 100

(``±`` or ``+-`` before the dead band; ``and`` between triggers). The form turns it into the definition the services
take, and the filter's machine back into the same text.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms

from server.apps.core.forms import DashboardForm
from server.apps.stream.models import StreamId, StreamVariable
from server.apps.streamfilter.models import ActionType, StreamFilter, TriggerOperator

_TRANSITION = re.compile(r"^\s*([^\s:>-][^:>]*?)\s*->\s*([^:]+?)\s*:\s*(.+)$")
_TRIGGER = re.compile(r"^\s*(gte|gt|lte|lt|eq|ne)\s+(-?[0-9.eE+-]+)\s*(?:(?:±|\+-)\s*([0-9.eE+-]+))?\s*$")
_DERIVED = re.compile(r"^\s*(\S+)\s*(?:=\s*(-?[0-9.eE+-]+))?\s*$")
_ACTION_NAMES = {"email": ActionType.EMAIL, "webhook": ActionType.WEBHOOK, "note": ActionType.NOTE}


def machine_text(stream_filter: StreamFilter) -> dict[str, str]:
    """The filter's states and transitions as the form's text (reads the prefetched definition)."""
    states = []
    for state in stream_filter.states.all():
        parts = [state.label]
        for action in state.actions.all():
            if action.type == ActionType.EMAIL:
                parts.append(f"email: {', '.join(action.recipients.splitlines())}")
            elif action.type == ActionType.WEBHOOK:
                parts.append(f"webhook: {action.url}")
            elif action.type == ActionType.NOTE:
                parts.append(f"note: {action.note}")
            elif action.output_stream is not None:
                value = "" if action.output_value is None else f" = {action.output_value:g}"
                parts.append(f"derived: {action.output_stream.slug}{value}")
        states.append(" | ".join(parts))
    transitions = [
        f"{t.src.label} -> {t.dst.label}: "
        + " and ".join(
            f"{g.operator} {g.threshold:g}" + (f" ± {g.deadband:g}" if g.deadband else "") for g in t.triggers.all()
        )
        for t in stream_filter.transitions.all()
    ]
    return {"states": "\n".join(states), "transitions": "\n".join(transitions)}


class StreamFilterForm(DashboardForm):
    id_prefix = "filter"

    name = forms.CharField(max_length=100)
    variable = forms.ModelChoiceField(
        queryset=StreamVariable.objects.none(), to_field_name="slug", help_text="Its streams are watched."
    )
    device = forms.CharField(
        required=False, max_length=40, help_text="A d-- slug to watch that device's stream only; empty for all."
    )
    initial_state = forms.CharField(max_length=50, help_text="The state every stream starts in.")
    states = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "class": "font-monospace"}),
        help_text="One a line: label | email: a@b.c, d@e.f | webhook: https://… | note: text | derived: s--… = 1",
    )
    transitions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "font-monospace"}),
        help_text="One a line: normal -> high: gt 30 ± 1 (gt gte lt lte eq ne; ± a dead band; 'and' between).",
    )
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, project, streams, editing: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.streams = streams  # the project's streams the user may see, for derived actions
        variable = self.fields["variable"]
        assert isinstance(variable, forms.ModelChoiceField), "declared above"
        variable.queryset = StreamVariable.objects.filter(project=project).order_by("lid")
        if editing:  # what a filter watches stays as created
            del self.fields["variable"]
            del self.fields["device"]

    def clean_states(self) -> list[dict[str, Any]]:
        states = []
        for line in self.cleaned_data["states"].splitlines():
            if not line.strip():
                continue
            label, *parts = (part.strip() for part in line.split("|"))
            states.append({"label": label, "actions": [self._action(part) for part in parts if part]})
        return states

    def _action(self, text: str) -> dict[str, Any]:
        kind, _, value = text.partition(":")
        kind, value = kind.strip().lower(), value.strip()
        if kind == "derived":
            match = _DERIVED.match(value)
            stream = self.streams.filter(slug=match.group(1)).first() if match else None
            if stream is None:
                raise forms.ValidationError(f"Unknown stream in '{text}'.")
            output = float(match.group(2)) if match and match.group(2) else None
            return {"type": ActionType.DERIVED, "output_stream": stream, "output_value": output}
        if kind not in _ACTION_NAMES:
            raise forms.ValidationError(f"'{text}': an action is email:, webhook:, note: or derived:.")
        field = {"email": "recipients", "webhook": "url", "note": "note"}[kind]
        return {"type": _ACTION_NAMES[kind], field: value}

    def clean_transitions(self) -> list[dict[str, Any]]:
        transitions = []
        for line in self.cleaned_data["transitions"].splitlines():
            if not line.strip():
                continue
            match = _TRANSITION.match(line)
            if match is None:
                raise forms.ValidationError(f"'{line}': write a transition as 'src -> dst: gt 30 ± 1'.")
            triggers = []
            for part in re.split(r"\s+and\s+", match.group(3)):
                trigger = _TRIGGER.match(part)
                if trigger is None:
                    operators = ", ".join(TriggerOperator.values)
                    raise forms.ValidationError(f"'{part}': a trigger is one of {operators}, a number, '± band'.")
                try:
                    threshold, deadband = float(trigger.group(2)), float(trigger.group(3) or 0)
                except ValueError:
                    raise forms.ValidationError(f"'{part}': not a number.") from None
                triggers.append({"operator": trigger.group(1), "threshold": threshold, "deadband": deadband})
            transitions.append({"src": match.group(1).strip(), "dst": match.group(2).strip(), "triggers": triggers})
        return transitions


def visible_streams(*, project, user):
    return StreamId.objects.restrict(user, "view").filter(project=project)
