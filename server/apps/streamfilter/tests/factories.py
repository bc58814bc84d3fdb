"""Filters for tests: the usual two-state threshold machine with a hysteresis band."""

from __future__ import annotations

from server.apps.streamfilter.services import filter_create


def threshold_definition(*, threshold: float = 30.0, deadband: float = 1.0, high_actions=()) -> dict:
    """``normal`` → ``high`` above ``threshold + deadband``, back below ``threshold - deadband``."""
    return {
        "initial_state": "normal",
        "states": [{"label": "normal", "actions": []}, {"label": "high", "actions": list(high_actions)}],
        "transitions": [
            {
                "src": "normal",
                "dst": "high",
                "triggers": [{"operator": "gt", "threshold": threshold, "deadband": deadband}],
            },
            {
                "src": "high",
                "dst": "normal",
                "triggers": [{"operator": "lt", "threshold": threshold, "deadband": deadband}],
            },
        ],
    }


def make_filter(project, variable, *, device=None, name: str = "Too hot", user=None, **definition):
    return filter_create(
        user=user or project.org.created_by,
        project=project,
        variable=variable,
        device=device,
        name=name,
        **threshold_definition(**definition),
    )
