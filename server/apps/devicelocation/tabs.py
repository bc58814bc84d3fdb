"""The device page's locations tab: the device's recorded locations as a track on a map drawn in the browser
without any map server (``webapp/src/js/track-map.js``; tiles only when ``MAP_TILE_URL`` names a tile server), the
latest locations as a table, and the form that records one for roles with ``can_modify_device``. Its form is in
``views.py``."""

from __future__ import annotations

from django.conf import settings

from server.apps.core.views import paginate
from server.apps.device.tabs import DeviceTab, register_device_tab
from server.apps.devicelocation.forms import DeviceLocationForm
from server.apps.devicelocation.models import DeviceLocation
from server.apps.devicelocation.selectors import locations_for

# The map draws the latest this many locations; the table pages through all of them.
MAP_POINTS = 1000
LOCATIONS_PER_PAGE = 20


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def locations_tab_context(*, request, device, can) -> dict:
    """One query for the map's points and two for a page of the table."""
    locations = locations_for(user=request.user, target=device).order_by("-timestamp", "-id")
    latest = list(locations.values_list("timestamp", "lat", "lon")[:MAP_POINTS])
    context = {
        "track": [{"t": _iso(t), "lat": float(lat), "lon": float(lon)} for t, lat, lon in reversed(latest)],
        "locations": paginate(request, locations, param="locations", per_page=LOCATIONS_PER_PAGE),
        "map_points": MAP_POINTS,
        "tile_url": getattr(settings, "MAP_TILE_URL", ""),
    }
    if can(DeviceLocation, "add"):
        context["location_form"] = DeviceLocationForm()
    return context


LOCATIONS_TAB = register_device_tab(
    DeviceTab(
        name="locations",
        label="Locations",
        icon="geo-alt",
        order=40,
        template_name="devicelocation/device.html",
        permission=(DeviceLocation, "view"),
        context=locations_tab_context,
        # session, user, device, the user's role and permissions, the map's points, the table (count, page)
        queries=7,
    )
)
