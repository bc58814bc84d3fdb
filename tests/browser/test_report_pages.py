"""Reports in a real browser: an owner makes a report template, generates it, watches the progress bar follow the
real worker without a reload, and downloads the file through its signed link; the project's bulk export downloads
too. A member reads but cannot generate; another organisation's report page is a 404."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from server.apps.authentication.services import account_create
from server.apps.core.testing import make_member, make_org
from server.apps.org.roles import MEMBER
from server.apps.report.models import GeneratedUserReport, ReportStatus
from server.apps.report.tests.factories import load_readings, make_generated, make_report_project
from server.apps.worker.runner import run_worker
from tests.browser.pages import expect_404

pytestmark = pytest.mark.browser

PASSWORD = "a-long-Pass-phrase-42"


@pytest.fixture
def site(transactional_db, folder_stores):
    owner = account_create(email="olivia@example.com", password=PASSWORD, name="Olivia Marsh")
    org = make_org(owner=owner, name="Irrigation Co")
    project, (level, flow) = make_report_project(org)
    load_readings(level, 2000)
    load_readings(flow, 500)
    return org, owner, project, level


def test_generate_follow_and_download(page, sign_in, site):
    org, owner, project, level = site
    sign_in(owner)
    page.goto(f"/org/{org.slug}/")
    page.get_by_test_id("org-reports").click()
    form = page.get_by_test_id("report-form")
    form.get_by_label("Name").fill("Level readings")
    form.get_by_label("Project").select_option(project.slug)
    form.get_by_label("Streams").fill(level.slug)
    form.get_by_label("Format").select_option("csv")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("report-list")).to_contain_text("Level readings")

    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_test_id("report-status")).to_have_text("Scheduled")
    progress = page.get_by_test_id("report-progress")
    expect(progress).to_have_attribute("aria-valuenow", "0")

    # The real worker writes the report; the page follows it and then offers the download.
    run_worker(burst=True)
    generated = GeneratedUserReport.objects.get()
    assert (generated.status, generated.row_count) == (ReportStatus.GENERATED, 2000)
    download_link = page.get_by_test_id("report-download")
    expect(download_link).to_be_visible(timeout=15_000)
    expect(page.get_by_test_id("report-status")).to_have_text("Generated")
    with page.expect_download() as download:
        download_link.click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert rows[0] == ["stream", "timestamp", "value"]
    assert len(rows) == 2001
    assert {row[0] for row in rows[1:]} == {level.slug}

    # Every reading of the project, streamed.
    page.get_by_role("link", name="Reports").first.click()
    with page.expect_download() as export:
        page.get_by_test_id("export-list").get_by_role("link").first.click()
    exported = list(csv.reader(io.StringIO(Path(export.value.path()).read_text())))
    assert len(exported) == 1 + 2500


def test_roles_and_other_organisations(page, sign_in, site):
    org, _, project, _ = site
    member = make_member(org, MEMBER, email="max@example.com", password=PASSWORD)
    generated = make_generated(project)
    sign_in(member)
    page.goto(f"/org/{org.slug}/reports/")
    expect(page.get_by_test_id("generated-list")).to_contain_text(generated.label)
    expect(page.get_by_role("button", name="Generate")).to_have_count(0)
    expect(page.get_by_test_id("report-form")).to_have_count(0)
    page.get_by_test_id("generated-list").get_by_role("link").first.click()
    expect(page.get_by_test_id("report-download")).to_be_visible()

    outsider = make_org(name="Other Co").created_by
    sign_in(outsider)
    expect_404(page, f"/org/{org.slug}/reports/generated/{generated.id}/")
