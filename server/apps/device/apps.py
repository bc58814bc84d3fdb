from django.apps import AppConfig


class DeviceConfig(AppConfig):
    name = "server.apps.device"
    label = "device"

    def ready(self) -> None:
        # The tabs other apps add to the device page (device/tabs.py), before the URLs are read.
        from server.apps.device.tabs import autodiscover

        autodiscover()
