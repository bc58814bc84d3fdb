"""The forwarding pages in a real browser: a webhook destination made from the form, a receiver that is down (the
page shows pending messages, the lag and the last error), dead letters replayed with the button once it is back,
and another organisation's destination being a 404."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from server.apps.authentication.services import account_create
from server.apps.core.testing import make_org
from server.apps.core.testing_http import webhook_receiver  # noqa: F401  (a fixture)
from server.apps.forwarding.models import Delivery, Destination
from server.apps.forwarding.services import deliveries_create, destinations_sweep
from server.apps.forwarding.tests.factories import make_destination, routed_message
from server.apps.worker.runner import run_worker
from tests.browser.pages import expect_404

pytestmark = pytest.mark.browser

PASSWORD = "a-long-Pass-phrase-42"


@pytest.fixture
def org(transactional_db):
    owner = account_create(email="olivia@example.com", password=PASSWORD, name="Olivia Marsh")
    return make_org(owner=owner, name="Greenhouses")


def test_a_destination_down_then_replayed(page, live_server, sign_in, org, webhook_receiver):  # noqa: F811
    sign_in(org.created_by)
    page.goto(f"/org/{org.slug}/")
    page.get_by_test_id("org-forwarding").click()
    form = page.get_by_test_id("destination-form")
    form.get_by_label("Name").fill("Lake")
    form.get_by_label("Kind").select_option("webhook")
    form.get_by_label("Webhook URL").fill(webhook_receiver.url)
    form.get_by_role("button", name="Create").click()
    expect(page.get_by_role("status").first).to_contain_text("Destination Lake created.")
    destination = Destination.objects.get(name="Lake")
    assert (destination.url, destination.kind, destination.org_id) == (webhook_receiver.url, "webhook", org.id)

    # The receiver is down: the first message fails and holds the others.
    sent = [routed_message(org, number) for number in range(3)]
    deliveries_create(messages=sent)
    run_worker(burst=True)
    page.reload()
    expect(page.get_by_test_id("count-pending")).to_have_text("3")
    expect(page.get_by_test_id("count-delivered")).to_have_text("0")
    expect(page.get_by_test_id("lag")).not_to_have_text("none")
    expect(page.get_by_test_id("last-error")).to_contain_text("ConnectionError")

    # Out of attempts: dead letters, and the button to replay them.
    Destination.objects.filter(pk=destination.pk).update(max_attempts=1)
    Delivery.objects.update(attempts=1)
    Delivery.objects.filter(attempts=1).update(next_attempt_at=Delivery.objects.first().created_on)
    destinations_sweep()
    run_worker(burst=True)
    page.reload()
    expect(page.get_by_test_id("count-dead")).to_have_text("3")
    expect(page.get_by_test_id("delivery")).to_have_count(3)

    webhook_receiver.up()
    page.get_by_test_id("replay-form").get_by_role("button", name="Replay dead letters").click()
    expect(page.get_by_role("status").first).to_contain_text("3 dead letters put back in the outbox.")
    run_worker(burst=True)
    page.reload()
    expect(page.get_by_test_id("count-delivered")).to_have_text("3")
    expect(page.get_by_test_id("count-dead")).to_have_text("0")
    expect(page.get_by_test_id("lag")).to_have_text("none")
    page.get_by_role("link", name="Delivered").click()
    expect(page.get_by_test_id("delivery")).to_have_count(3)
    assert webhook_receiver.correlation_ids() == [message["broker_correlation_id"] for message in sent]

    other = make_destination(make_org())
    expect_404(page, f"/org/{other.org.slug}/destination/{other.id}/")
    page.log.assert_clean()
