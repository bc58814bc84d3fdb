"""The filter and alert endpoints: the generic scoped checks, the whole machine saved as sent, bad definitions as
clear 400s, acknowledging and clearing, and the audit entries a change leaves."""

from __future__ import annotations

import pytest

from server.apps.audit.models import AuditEntry
from server.apps.core.testing import ScopedEndpointCases, api_client, assert_query_count, make_member
from server.apps.device.tests.factories import make_device, make_project, make_stream, make_variable
from server.apps.org.roles import MEMBER, OPERATOR
from server.apps.streamfilter.models import AlertStatus, StreamFilter, StreamFilterAlert
from server.apps.streamfilter.tests.factories import make_filter, threshold_definition

FILTERS = "/api/v1/filter/"
ALERTS = "/api/v1/alert/"


def machine_of(stream_filter: StreamFilter) -> dict:
    """The filter's machine read back from the database, in the request's shape."""
    return {
        "initial_state": stream_filter.initial_state,
        "states": [
            {
                "label": state.label,
                "actions": [
                    {
                        "type": a.type,
                        "recipients": a.recipients,
                        "url": a.url,
                        "note": a.note,
                        "output_stream": a.output_stream.slug if a.output_stream else None,
                        "output_value": a.output_value,
                    }
                    for a in state.actions.all()
                ],
            }
            for state in stream_filter.states.all()
        ],
        "transitions": [
            {
                "src": t.src.label,
                "dst": t.dst.label,
                "triggers": [
                    {"operator": g.operator, "threshold": g.threshold, "deadband": g.deadband} for g in t.triggers.all()
                ],
            }
            for t in stream_filter.transitions.all()
        ],
    }


def project_variable(org):
    project = make_project(org)
    return project, make_variable(project, lid=0x5001)


def full_definition(output_slug: str | None = None) -> dict:
    actions = [
        {
            "type": "eml",
            "recipients": "ops@example.com",
            "url": "",
            "note": "",
            "output_stream": None,
            "output_value": None,
        },
        {
            "type": "hook",
            "recipients": "",
            "url": "https://example.com/hook",
            "note": "",
            "output_stream": None,
            "output_value": None,
        },
        {"type": "note", "recipients": "", "url": "", "note": "Too hot", "output_stream": None, "output_value": None},
    ]
    if output_slug:
        actions.append(
            {"type": "drv", "recipients": "", "url": "", "note": "", "output_stream": output_slug, "output_value": 1.0}
        )
    return threshold_definition(high_actions=actions)


class TestFilterEndpoint(ScopedEndpointCases):
    list_url = FILTERS
    list_key = "id"
    # Authentication, the count, the page, then the states, their actions (with their streams), the transitions
    # and their triggers, each for the whole page.
    list_query_count = 7
    allowed_role = MEMBER
    denied_role = OPERATOR
    created_model = StreamFilter
    stored_as = {
        "variable": "variable.slug",
        "initial_state": lambda f: f.initial_state,
        "states": lambda f: machine_of(f)["states"],
        "transitions": lambda f: machine_of(f)["transitions"],
    }

    def make_object(self, org):
        project = StreamFilter.objects.filter(org=org).first()
        if project is None:
            return make_filter(*project_variable(org))
        return make_filter(project.project, project.variable)

    def detail_url(self, obj) -> str:
        return f"{FILTERS}{obj.id}/"

    def write_data(self, obj) -> dict:
        definition = threshold_definition(threshold=50.0, deadband=2.0)
        return {"name": "Renamed", "active": False, **definition}

    def create_data(self, org) -> dict:
        project, variable = project_variable(org)
        output = make_stream(make_device(project), lid=0x5100)
        return {"name": "Hot", "variable": variable.slug, **full_definition(output.slug)}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"initial_state": "nowhere"}, "initial_state"),
        ({"states": [{"label": "a"}, {"label": "a"}]}, "states"),
        (
            {"transitions": [{"src": "normal", "dst": "gone", "triggers": [{"operator": "gt", "threshold": 1}]}]},
            "transitions",
        ),
        (
            {"transitions": [{"src": "normal", "dst": "normal", "triggers": [{"operator": "gt", "threshold": 1}]}]},
            "transitions",
        ),
        ({"transitions": [{"src": "normal", "dst": "high", "triggers": []}]}, "transitions"),
        (
            {"transitions": [{"src": "normal", "dst": "high", "triggers": [{"operator": "about", "threshold": 1}]}]},
            "transitions",
        ),
        (
            {
                "transitions": [
                    {"src": "normal", "dst": "high", "triggers": [{"operator": "gt", "threshold": 1, "deadband": -1}]}
                ]
            },
            "transitions",
        ),
        (
            {"states": [{"label": "normal"}, {"label": "high", "actions": [{"type": "eml", "recipients": "nobody"}]}]},
            "states",
        ),
        (
            {"states": [{"label": "normal"}, {"label": "high", "actions": [{"type": "hook", "url": "ftp://x"}]}]},
            "states",
        ),
        ({"states": [{"label": "normal"}, {"label": "high", "actions": [{"type": "note"}]}]}, "states"),
        ({"states": [{"label": "normal"}, {"label": "high", "actions": [{"type": "drv"}]}]}, "states"),
        (
            {
                "states": [
                    {"label": "normal"},
                    {
                        "label": "high",
                        "actions": [{"type": "drv", "output_stream": "s--0000-0fff--0000-0000-0000-0001--5001"}],
                    },
                ]
            },
            "states",
        ),
        ({"variable": "v--0000-0fff--5001"}, "variable"),
        ({"variable": "not a slug"}, "variable"),
        ({"device": "d--0000-0000-0fff-0001"}, "device"),
    ],
)
def test_a_bad_definition_is_a_400_naming_the_field_and_saves_nothing(db, change, field):
    project, variable = project_variable(None)
    body = {"name": "Hot", "variable": variable.slug, **threshold_definition(), **change}
    response = api_client(project.org.created_by).post(FILTERS, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not StreamFilter.objects.exists()


def test_a_filter_on_another_projects_device_or_output_stream_is_refused(db):
    project, variable = project_variable(None)
    other = make_project(project.org)
    device = make_device(other)
    client = api_client(project.org.created_by)
    body = {"name": "Hot", "variable": variable.slug, "device": device.slug, **threshold_definition()}
    assert client.post(FILTERS, body, format="json").status_code == 400
    foreign = make_stream(device, lid=0x5100)
    body = {"name": "Hot", "variable": variable.slug, **full_definition(foreign.slug)}
    assert client.post(FILTERS, body, format="json").status_code == 400
    assert not StreamFilter.objects.exists()


def test_states_and_transitions_are_replaced_together(db):
    stream_filter = make_filter(*project_variable(None))
    client = api_client(stream_filter.org.created_by)
    response = client.patch(f"{FILTERS}{stream_filter.id}/", {"states": [{"label": "x"}]}, format="json")
    assert response.status_code == 400
    response = client.patch(f"{FILTERS}{stream_filter.id}/", {"initial_state": "high"}, format="json")
    assert response.status_code == 200
    assert response.json()["initial_state"] == "high"


def test_filter_changes_are_audited_with_their_actor(db):
    project, variable = project_variable(None)
    owner = project.org.created_by
    client = api_client(owner)
    body = {"name": "Hot", "variable": variable.slug, **threshold_definition()}
    filter_id = client.post(FILTERS, body, format="json").json()["id"]
    client.patch(f"{FILTERS}{filter_id}/", {"name": "Hotter"}, format="json")
    client.delete(f"{FILTERS}{filter_id}/")
    entries = AuditEntry.objects.filter(content_type__model="streamfilter", object_pk=str(filter_id)).order_by("id")
    assert [(e.action, e.actor_id, e.org_id) for e in entries] == [
        (AuditEntry.Action.CREATE, owner.id, project.org.id),
        (AuditEntry.Action.UPDATE, owner.id, project.org.id),
        (AuditEntry.Action.DELETE, owner.id, project.org.id),
    ]
    assert entries[1].changes["name"] == ["Hot", "Hotter"]
    assert AuditEntry.objects.filter(content_type__model="streamfiltertrigger", org_id=project.org.id).exists()


def make_alert(org=None, **fields) -> StreamFilterAlert:
    stream_filter = (StreamFilter.objects.filter(org=org).first() if org else None) or make_filter(
        *project_variable(org)
    )
    from django.utils import timezone

    defaults = {
        "filter": stream_filter,
        "filter_name": stream_filter.name,
        "org": stream_filter.org,
        "project": stream_filter.project,
        "series": 1,
        "stream_slug": "s--0000-0001--0000-0000-0000-0001--5001",
        "src": "normal",
        "dst": "high",
        "value": 40.0,
        "timestamp": timezone.now(),
        "streamer_local_id": StreamFilterAlert.objects.count() + 1,
    }
    return StreamFilterAlert.objects.create(**{**defaults, **fields})


class TestAlertEndpoint(ScopedEndpointCases):
    list_url = ALERTS
    list_key = "id"
    list_query_count = 3
    allowed_role = OPERATOR
    denied_role = None
    write_method = None

    def make_object(self, org):
        return make_alert(org)

    def detail_url(self, obj) -> str:
        return f"{ALERTS}{obj.id}/"


def test_acknowledge_then_clear_keeps_the_alert_in_the_history(db):
    alert = make_alert()
    operator = make_member(alert.org, OPERATOR)
    client = api_client(operator)
    response = client.post(f"{ALERTS}{alert.id}/acknowledge/")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["acknowledged_by"]) == ("ack", operator.username)
    saved = StreamFilterAlert.objects.get(pk=alert.pk)
    assert (saved.status, saved.acknowledged_by_id, saved.cleared_on) == (AlertStatus.ACKNOWLEDGED, operator.id, None)
    assert client.post(f"{ALERTS}{alert.id}/clear/").json()["status"] == "cleared"
    saved = StreamFilterAlert.objects.get(pk=alert.pk)
    assert (saved.status, saved.cleared_by_id) == (AlertStatus.CLEARED, operator.id)
    assert saved.cleared_on is not None
    # Cleared is final: acknowledging again is a 400, clearing again changes nothing; the list still has it.
    assert client.post(f"{ALERTS}{alert.id}/acknowledge/").status_code == 400
    assert client.post(f"{ALERTS}{alert.id}/clear/").status_code == 200
    assert [row["id"] for row in client.get(ALERTS, {"status": "cleared"}).json()["results"]] == [alert.id]
    assert client.get(ALERTS, {"status": "active"}).json()["results"] == []


def test_another_organisations_alert_is_a_404_and_stays_active(db):
    alert = make_alert()
    outsider = make_alert().org.created_by
    for verb in ("acknowledge", "clear"):
        assert api_client(outsider).post(f"{ALERTS}{alert.id}/{verb}/").status_code == 404
    assert StreamFilterAlert.objects.get(pk=alert.pk).status == AlertStatus.ACTIVE


def test_alert_filters_and_a_malformed_one(db):
    alert = make_alert()
    client = api_client(alert.org.created_by)
    assert client.get(ALERTS, {"stream": alert.stream_slug}).json()["count"] == 1
    assert client.get(ALERTS, {"streamfilter": alert.filter_id, "project": alert.project.slug}).json()["count"] == 1
    assert client.get(ALERTS, {"stream": "nonsense"}).status_code == 400


def test_the_filter_list_query_count_does_not_grow_with_the_machines(db):
    stream_filter = make_filter(*project_variable(None))
    for _ in range(3):
        make_filter(stream_filter.project, stream_filter.variable)
    client = api_client(stream_filter.org.created_by)
    with assert_query_count(7):
        assert client.get(FILTERS).json()["count"] == 4


def _ring(states: int, triggers: int = 1, actions: int = 0) -> dict:
    """A machine of ``states`` states in a ring, each transition with ``triggers`` triggers, each state with
    ``actions`` note actions."""
    labels = [f"s{number}" for number in range(states)]
    return {
        "initial_state": labels[0],
        "states": [{"label": label, "actions": [{"type": "note", "note": "n"}] * actions} for label in labels],
        "transitions": [
            {"src": src, "dst": dst, "triggers": [{"operator": "gt", "threshold": n} for n in range(triggers)]}
            for src, dst in zip(labels, labels[1:] + labels[:1], strict=True)
        ],
    }


@pytest.mark.parametrize(
    ("machine", "field", "message"),
    [
        (_ring(5000), "states", "At most 50 states (got 5000)."),
        (_ring(51), "states", "At most 50 states (got 51)."),
        ({**_ring(50), "transitions": _ring(50)["transitions"] * 5}, "transitions", "At most 200 transitions"),
        (_ring(2, triggers=11), "transitions", "The transition s0 → s1 has more than 10 triggers."),
        (_ring(2, actions=11), "states", "The state s0 has more than 10 actions."),
    ],
)
def test_a_filter_too_large_is_a_400_naming_the_field(db, machine, field, message):
    project, variable = project_variable(None)
    client = api_client(project.org.created_by)
    response = client.post(FILTERS, {"name": "Big", "variable": variable.slug, **machine}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()[field][0].startswith(message), response.json()
    assert not StreamFilter.objects.exists()
    # The largest allowed is saved whole, and a PATCH past the limits leaves it as it was.
    response = client.post(FILTERS, {"name": "Big", "variable": variable.slug, **_ring(50, 10, 10)}, format="json")
    assert response.status_code == 201, response.content
    saved = StreamFilter.objects.get()
    assert (saved.states.count(), saved.transitions.count()) == (50, 50)
    assert machine_of(saved)["transitions"][0]["triggers"][9]["threshold"] == 9
    response = client.patch(f"{FILTERS}{saved.id}/", machine, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert saved.states.count() == 50


@pytest.mark.parametrize("value", ["maybe", "yes", "2", "truee"])
def test_a_bad_boolean_in_the_filter_list_is_a_400(db, value):
    stream_filter = make_filter(*project_variable(None))
    client = api_client(stream_filter.org.created_by)
    response = client.get(FILTERS, {"active": value})
    assert response.status_code == 400, response.content
    assert "active" in response.json()
    StreamFilter.objects.filter(pk=stream_filter.pk).update(active=False)
    assert [row["id"] for row in client.get(FILTERS, {"active": "false"}).json()["results"]] == [stream_filter.id]
    assert [row["id"] for row in client.get(FILTERS, {"active": "0"}).json()["results"]] == [stream_filter.id]
    assert client.get(FILTERS, {"active": "True"}).json()["count"] == 0
    assert client.get(FILTERS, {"active": ""}).json()["count"] == 1
