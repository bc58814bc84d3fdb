"""The device page's locations tab: the device's recorded locations as a track on a map drawn in the browser
without any map server (``webapp/src/js/track-map.js``; tiles only when ``MAP_TILE_URL`` names a tile server), the
latest locations as a table, and recording a location for roles with ``can_modify_device``."""

from __future__ import annotations

from django.conf import settings

from server.apps.core.targets import target_for_object
from server.apps.core.views import ScopedFormAction, paginate
from server.apps.device.views import DeviceSectionView, device_url
from server.apps.devicelocation.forms import DeviceLocationForm
from server.apps.devicelocation.models import DeviceLocation
from server.apps.devicelocation.selectors import locations_for
from server.apps.devicelocation.services import device_location_create

# The map draws the latest this many locations; the table pages through all of them.
MAP_POINTS = 1000
LOCATIONS_PER_PAGE = 20


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class DeviceLocationsView(DeviceSectionView):
    """``/org/<org>/device/<d-->/locations/``: one query for the map's points and two for a page of the table."""

    template_name = "devicelocation/device.html"
    section = "locations"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        locations = locations_for(user=self.request.user, target=self.object)
        latest = list(locations.order_by("-timestamp", "-id").values_list("timestamp", "lat", "lon")[:MAP_POINTS])
        context.update(
            track=[{"t": _iso(t), "lat": float(lat), "lon": float(lon)} for t, lat, lon in reversed(latest)],
            locations=paginate(
                self.request, locations.order_by("-timestamp", "-id"), param="locations", per_page=LOCATIONS_PER_PAGE
            ),
            map_points=MAP_POINTS,
            tile_url=getattr(settings, "MAP_TILE_URL", ""),
        )
        if self.can.add_devicelocation:
            context.setdefault("location_form", DeviceLocationForm())
        return context


class DeviceLocationCreateView(ScopedFormAction, DeviceLocationsView):
    form_class = DeviceLocationForm
    form_name = "location_form"
    scope_model = DeviceLocation
    scope_action = "add"

    def form_valid(self, form):
        data = form.cleaned_data
        device_location_create(
            user=self.request.user,
            target=target_for_object(self.object),
            lat=data["lat"],
            lon=data["lon"],
            timestamp=data["timestamp"],
        )
        return self.done("Location recorded.", device_url(self.object, "devicelocation:device"))
