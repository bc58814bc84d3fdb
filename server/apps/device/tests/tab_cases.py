"""What every device tab's own tests inherit: the tab's pinned query count (``DeviceTab.queries``) with one row and
with many, so a list that reads a row at a time fails here. ``device/tests/test_tabs.py`` fails for a registered
tab that has no such class, and tests the rest of every tab (scope, slugs, tab bar) itself."""

from __future__ import annotations

import pytest
from django.test import Client

from server.apps.core.testing import assert_query_count
from server.apps.device.tabs import DeviceTab
from server.apps.device.tests.factories import make_device, make_project


class DeviceTabCases:
    """Subclass as ``Test<Name>Tab`` in the tab's app's ``tests/test_views.py``: set ``tab``, and give
    ``add_rows(device, count)`` (what the tab lists) and ``rows_in(response)`` (how many it says it has)."""

    tab: DeviceTab

    def add_rows(self, device, count: int) -> None:
        raise NotImplementedError

    def rows_in(self, response) -> int:
        raise NotImplementedError

    @pytest.mark.parametrize("rows", [1, 5])
    def test_query_count_is_pinned_whatever_the_rows(self, db, rows):
        device = make_device(make_project(name="North basin"), label="Pump 7")
        self.add_rows(device, rows)
        client = Client()
        client.force_login(device.org.created_by)
        with assert_query_count(self.tab.queries):
            response = client.get(self.tab.url(device))
        assert response.status_code == 200
        assert self.rows_in(response) == rows
