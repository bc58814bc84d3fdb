from django.urls import re_path

from server.apps.deviceauth.api.views import DeviceKeyViewSet

# Under the device's URL, as the clients call it; the device router has no ``key`` route, so this one is reached.
urlpatterns = [
    re_path(r"^device/(?P<slug>[^/]+)/key/?$", DeviceKeyViewSet.as_view({"get": "retrieve"}), name="device-key"),
]
