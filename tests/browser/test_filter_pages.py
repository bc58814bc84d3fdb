"""The filters and alerts pages in a real browser: an owner writes a filter's machine in the form, readings cross
its threshold, the alerts show on the project's filters page and are acknowledged then cleared there; the machine
is edited on the filter's page; an operator reads the alerts and acknowledges them but sees no filter form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from server.apps.authentication.services import account_create
from server.apps.core.testing import make_member, make_org
from server.apps.device.services import device_claim, device_create
from server.apps.org.roles import OPERATOR
from server.apps.project.services import project_create
from server.apps.stream.models import StreamId
from server.apps.stream.services import variable_create
from server.apps.streamfilter.models import AlertStatus, StreamFilter, StreamFilterAlert
from server.apps.streamfilter.services import FilterRows, filters_evaluate

pytestmark = pytest.mark.browser

PASSWORD = "a-long-Pass-phrase-42"
LEVEL = 0x5001


class Site:
    def __init__(self) -> None:
        staff = account_create(email="staff@example.com", password=PASSWORD, is_staff=True)
        self.owner = account_create(email="olivia@example.com", password=PASSWORD, name="Olivia Marsh")
        self.org = make_org(owner=self.owner, name="Reservoir Monitoring")
        self.project = project_create(org=self.org, name="North basin", created_by=self.owner)
        self.variable = variable_create(user=self.owner, project=self.project, lid=LEVEL, name="Water level")
        device = device_create(created_by=staff, label="Inlet meter")
        self.device = device_claim(user=self.owner, device=device.slug, project=self.project)
        self.stream = StreamId.objects.get(device=self.device, variable=self.variable)

    def path(self) -> str:
        return f"/org/{self.org.slug}/project/{self.project.id}/filters/"

    def readings(self, values: list[float], first_id: int) -> None:
        """Readings arriving as ingest hands them to the filters."""
        start = timezone.now() - timedelta(hours=1)
        ids = list(range(first_id, first_id + len(values)))
        filters_evaluate(
            rows=FilterRows(
                streams={LEVEL: self.stream},
                stream_keys=[LEVEL] * len(values),
                streamer_local_ids=ids,
                timestamps=[start + timedelta(minutes=i) for i in ids],
                values=values,
            )
        )


@pytest.fixture
def site(transactional_db):
    return Site()


def test_write_a_filter_then_acknowledge_and_clear_its_alerts(page, live_server, sign_in, site):
    sign_in(site.owner)
    page.goto(f"/org/{site.org.slug}/project/{site.project.id}/")
    page.get_by_test_id("project-filters-link").click()
    expect(page.get_by_text("No filters")).to_be_visible()
    form = page.get_by_test_id("filter-form")
    form.get_by_label("Name").fill("Too high")
    form.get_by_label("Variable").select_option(site.variable.slug)
    form.get_by_label("Initial state").fill("normal")
    form.get_by_label("States").fill("normal\nhigh | note: Level high")
    form.get_by_label("Transitions").fill("normal -> high: gt 30 ± 1\nhigh -> normal: lt 30 ± 1")
    form.get_by_role("button", name="Create").click()
    expect(page.get_by_test_id("filter-transitions")).to_contain_text("gt 30 ± 1")
    stream_filter = StreamFilter.objects.get()
    assert (stream_filter.name, stream_filter.variable_id, stream_filter.initial_state) == (
        "Too high",
        site.variable.id,
        "normal",
    )
    assert [(t.src.label, t.dst.label) for t in stream_filter.transitions.all()] == [
        ("normal", "high"),
        ("high", "normal"),
    ]

    site.readings([20, 31, 35, 25], first_id=1)
    page.goto(site.path())
    alerts = page.get_by_test_id("alert-list")
    expect(alerts.locator("tbody tr")).to_have_count(2)
    first = StreamFilterAlert.objects.get(streamer_local_id=3)
    row = alerts.locator(f'tr[data-alert="{first.id}"]')
    expect(row).to_contain_text("normal → high")
    row.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(f'tr[data-alert="{first.id}"]')).to_contain_text("Acknowledged")
    first.refresh_from_db()
    assert (first.status, first.acknowledged_by_id) == (AlertStatus.ACKNOWLEDGED, site.owner.id)
    page.locator(f'tr[data-alert="{first.id}"]').get_by_role("button", name="Clear").click()
    expect(page.locator(f'tr[data-alert="{first.id}"]')).to_contain_text("Cleared")
    first.refresh_from_db()
    assert (first.status, first.cleared_by_id) == (AlertStatus.CLEARED, site.owner.id)

    # The machine edited on the filter's page: the threshold moves, the note stays.
    page.get_by_test_id("filter-list").get_by_role("link", name="Too high").click()
    edit = page.get_by_test_id("filter-edit-form")
    expect(edit.get_by_label("States")).to_have_value("normal\nhigh | note: Level high")
    edit.get_by_label("Transitions").fill("normal -> high: gt 50 ± 2\nhigh -> normal: lt 50 ± 2")
    edit.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("filter-transitions")).to_contain_text("gt 50 ± 2")
    trigger = stream_filter.transitions.get(src__label="normal").triggers.get()
    assert (trigger.operator, trigger.threshold, trigger.deadband) == ("gt", 50.0, 2.0)


def test_an_operator_acknowledges_alerts_but_writes_no_filter(page, live_server, sign_in, site):
    from server.apps.streamfilter.tests.factories import make_filter

    make_filter(site.project, site.variable, user=site.owner)
    site.readings([10, 40], first_id=1)
    operator = make_member(site.org, OPERATOR)
    sign_in(operator)
    page.goto(site.path())
    expect(page.get_by_test_id("filter-list")).to_contain_text("Too hot")
    expect(page.get_by_test_id("filter-form")).to_have_count(0)
    page.get_by_test_id("alert-list").get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_test_id("alert-list")).to_contain_text("Acknowledged")
    assert StreamFilterAlert.objects.get().acknowledged_by_id == operator.id
