"""An operator signs up, creates an organisation and invites a colleague, who signs up from the invitation and joins
with the role; the owner creates a project and claims a device into it. In a real browser, no CDN."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from server.apps.authentication.services import account_create
from server.apps.device.models import Device
from server.apps.device.services import device_create
from server.apps.org.models import OrgMembership
from server.apps.org.roles import ADMIN, OWNER
from tests.browser.pages import expect_404, link_in, sign_out

pytestmark = pytest.mark.browser

PASSWORD = "a-long-Pass-phrase-42"
OWNER_EMAIL = "olivia@example.com"
COLLEAGUE_EMAIL = "ravi@example.com"


def sign_up(page, email: str, username: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=False).first.fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()


def test_invite_a_colleague_who_signs_up_from_the_link_and_joins(page, live_server, mailoutbox):
    # The owner signs up, confirms the address and creates the organisation.
    page.goto("/accounts/signup/")
    sign_up(page, OWNER_EMAIL, "olivia")
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify Your Email Address")
    page.goto(link_in(mailoutbox[-1], "/confirm-email/"))
    page.get_by_role("button", name="Confirm").click()
    page.get_by_label("Email").fill(OWNER_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_label("Name").fill("Reservoir Monitoring")
    page.get_by_role("button", name="Create organisation").click()
    expect(page).to_have_url(re.compile(r"/org/reservoir-monitoring/$"))

    # The invitation: e-mail and role.
    invite = page.get_by_test_id("invite-form")
    invite.get_by_label("E-mail address").fill(COLLEAGUE_EMAIL)
    invite.get_by_label("Role").select_option(label="Administrator")
    invite.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status").first).to_contain_text(f"Invitation sent to {COLLEAGUE_EMAIL}")
    expect(page.get_by_test_id("invitation-list")).to_contain_text(COLLEAGUE_EMAIL)
    invitation_mail = mailoutbox[-1]
    assert invitation_mail.to == [COLLEAGUE_EMAIL]
    accept_path = link_in(invitation_mail, "/invitation/")
    assert accept_path.startswith("/org/reservoir-monitoring/invitation/")
    sign_out(page)

    # The colleague follows the link, signs up with the invited address (prefilled) and accepts.
    page.goto(accept_path)
    expect(page.get_by_role("heading", level=1)).to_have_text("You are invited to Reservoir Monitoring")
    page.get_by_role("link", name="Create an account to join").click()
    expect(page.get_by_label("Email")).to_have_value(COLLEAGUE_EMAIL)
    sign_up(page, COLLEAGUE_EMAIL, "ravi")
    # The link proved the address: no second confirmation, straight back to the invitation.
    expect(page).to_have_url(re.compile(re.escape(accept_path) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Join Reservoir Monitoring")
    page.get_by_role("button", name="Accept the invitation").click()

    expect(page).to_have_url(re.compile(r"/org/reservoir-monitoring/$"))
    expect(page.get_by_role("status").first).to_contain_text("You joined as administrator")
    members = page.get_by_test_id("member-list")
    expect(members).to_contain_text(COLLEAGUE_EMAIL)
    expect(members).to_contain_text("Owner")
    membership = OrgMembership.objects.get(org__slug="reservoir-monitoring", user__email=COLLEAGUE_EMAIL)
    assert membership.role == ADMIN
    assert len(mailoutbox) == 2, "the colleague needed no confirmation e-mail"


def test_a_signed_in_stranger_gets_a_404_from_someone_elses_invitation(page, live_server, sign_in, mailoutbox):
    from server.apps.core.testing import make_org
    from server.apps.org.services import invitation_create

    owner = account_create(email=OWNER_EMAIL, password=PASSWORD)
    org = make_org(owner=owner, name="Private Org")
    invitation = invitation_create(org=org, email=COLLEAGUE_EMAIL, role=ADMIN, sent_by=owner)
    sign_in(account_create(email="stranger@example.com", password=PASSWORD))

    expect_404(page, f"/org/{org.slug}/invitation/{invitation.pk}/accept/")
    expect(page.get_by_role("heading", level=1)).to_have_text("This invitation is not for this account")
    expect(page.locator("main")).not_to_contain_text("Private Org")


def test_owner_creates_a_project_and_claims_a_device(page, live_server, sign_in):
    from server.apps.core.testing import make_org

    staff = account_create(email="staff@example.com", password=PASSWORD, is_staff=True)
    device = device_create(created_by=staff, label="Inlet meter")
    owner = account_create(email=OWNER_EMAIL, password=PASSWORD, name="Olivia Marsh")
    org = make_org(owner=owner, name="Reservoir Monitoring")
    sign_in(owner)

    page.goto(f"/org/{org.slug}/")
    page.get_by_role("button", name="New project").click()
    # The form slides open; click inside it only once Bootstrap has finished the transition.
    expect(page.locator("#new-project.collapse.show")).to_be_visible()
    form = page.get_by_test_id("project-form")
    form.get_by_label("Name").fill("North basin")
    form.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("North basin")
    expect(page.get_by_text("No devices yet")).to_be_visible()

    # A short slug is enough; a wrong one is refused on the form.
    claim = page.get_by_test_id("claim-form")
    claim.get_by_label("Device").fill("d--ffff-ffff")
    claim.get_by_role("button", name=re.compile("Claim into")).click()
    expect(page.get_by_test_id("claim-form")).to_contain_text("Unknown device, or claimed already.")
    claim = page.get_by_test_id("claim-form")
    claim.get_by_label("Device").fill(f"d--{device.id:x}")
    claim.get_by_role("button", name=re.compile("Claim into")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Inlet meter")
    expect(page.get_by_test_id("device-status")).to_have_text("Active")
    device.refresh_from_db()
    assert device.project.name == "North basin"
    assert device.org == org
    page.get_by_role("link", name="North basin").first.click()
    expect(page.get_by_test_id("device-list")).to_contain_text(device.slug)
    assert Device.objects.filter(project__org=org).count() == 1
    assert OrgMembership.objects.get(org=org, user=owner).role == OWNER
