from django.urls import re_path

from server.apps.deviceauth.api.views import DeviceKeyManageViewSet, DeviceKeyViewSet

# Under the device's URL, as the clients call it; the device router has no ``key`` route, so this one is reached.
urlpatterns = [
    re_path(r"^device/(?P<slug>[^/]+)/key/?$", DeviceKeyViewSet.as_view({"get": "retrieve"}), name="device-key"),
    re_path(
        r"^device/(?P<slug>[^/]+)/keys/?$",
        DeviceKeyManageViewSet.as_view({"get": "list", "post": "create"}),
        name="device-keys",
    ),
    re_path(
        r"^device/(?P<slug>[^/]+)/keys/(?P<key_type>[^/]+)/?$",
        DeviceKeyManageViewSet.as_view({"get": "retrieve", "delete": "destroy"}),
        name="device-keys-detail",
    ),
    re_path(
        r"^device/(?P<slug>[^/]+)/keys/(?P<key_type>[^/]+)/rotate/?$",
        DeviceKeyManageViewSet.as_view({"post": "rotate"}),
        name="device-keys-rotate",
    ),
]
