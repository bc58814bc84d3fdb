"""The dashboard's home page: for visitors and members, and organisation creation."""

from __future__ import annotations

import itertools
import re

import pytest
from django.test import Client
from django.urls import reverse

from server.apps.core.slugs import device_slug
from server.apps.core.testing import assert_query_count, make_member, make_org, make_user
from server.apps.device.models import Device
from server.apps.org.models import Org
from server.apps.org.roles import MEMBER, OWNER
from server.apps.project.services import project_create

HOME = "/"
_serials = itertools.count(0x7A000)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def add_device(org, project=None) -> Device:
    # Straight to the model: these tests need a device in an org, not the claim workflow.
    serial = next(_serials)
    return Device.objects.create(id=serial, slug=device_slug(serial), org=org, project=project)


def test_home_for_visitors_is_the_landing_page(db):
    response = Client().get(HOME)
    assert response.status_code == 200
    assert response.templates[0].name == "main/landing.html"
    body = response.content.decode()
    assert reverse("account_signup") in body
    assert reverse("account_login") in body


def test_pages_load_nothing_from_another_host(db):
    body = Client().get(HOME).content.decode()
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', body)
    assert assets, "the layout should load its bundle"
    assert all(url.startswith("/static/") for url in assets), assets


def test_home_lists_the_users_orgs_with_counts(db):
    user = make_user()
    org = make_org(owner=user, name="Reservoir Monitoring")
    project = project_create(org=org, name="North basin", created_by=user)
    add_device(org, project)
    add_device(org)
    make_member(org, MEMBER)
    make_org(name="Somebody Else's")

    response = logged_in(user).get(HOME)

    assert response.status_code == 200
    orgs = response.context["orgs"]
    assert [o.name for o in orgs] == ["Reservoir Monitoring"]
    assert (orgs[0].project_count, orgs[0].device_count, orgs[0].member_count) == (1, 2, 2)
    assert orgs[0].user_role == OWNER
    body = response.content.decode()
    assert reverse("org:detail", kwargs={"org_slug": org.slug}) in body
    assert "Somebody Else" not in body


def test_home_query_count_does_not_grow_with_orgs(db):
    user = make_user()
    client = logged_in(user)
    for number in range(3):
        org = make_org(owner=user, name=f"Org number {number}")
        project_create(org=org, name="Project", created_by=user)
        add_device(org)
    # session, user, the annotated org list
    with assert_query_count(3):
        response = client.get(HOME)
    assert len(response.context["orgs"]) == 3


def test_create_org_makes_the_user_owner_and_redirects_to_it(db):
    user = make_user()
    response = logged_in(user).post(HOME, {"name": "  Acme   Water ", "about": "Tanks and pumps"})

    org = Org.objects.get(name="Acme Water")
    assert response.status_code == 302
    assert response["Location"] == reverse("org:detail", kwargs={"org_slug": org.slug})
    assert org.about == "Tanks and pumps"
    assert org.memberships.get(user=user).role == OWNER


def test_create_org_with_a_taken_name_shows_the_error_and_creates_nothing(db):
    make_org(name="Acme Water")
    user = make_user()

    response = logged_in(user).post(HOME, {"name": "acme water"})

    assert response.status_code == 200
    assert response.context["form"].errors["name"] == ["'acme water' is taken."]
    assert "is taken" in response.content.decode()
    assert Org.objects.filter(name__iexact="acme water").count() == 1
    assert not Org.objects.restrict(user, "view").exists()


def test_create_org_needs_a_name(db):
    response = logged_in(make_user()).post(HOME, {"name": "   "})
    assert response.status_code == 200
    assert "name" in response.context["form"].errors
    assert not Org.objects.exists()


@pytest.mark.parametrize(
    "url_name",
    ["account_login", "account_signup", "account_reset_password", "account_reset_password_done"],
)
def test_account_entrance_pages_use_the_site_layout(db, url_name):
    response = Client().get(reverse(url_name))
    assert response.status_code == 200
    body = response.content.decode()
    assert "auth-card" in body
    assert "form-control" in body or url_name == "account_reset_password_done"


@pytest.mark.parametrize("url_name", ["account_email", "account_change_password", "account_logout"])
def test_account_management_pages_use_the_site_layout(db, url_name):
    response = logged_in(make_user()).get(reverse(url_name))
    assert response.status_code == 200
    assert "Account settings" in response.content.decode()
