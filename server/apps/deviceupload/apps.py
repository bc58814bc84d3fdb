from django.apps import AppConfig


class DeviceUploadConfig(AppConfig):
    name = "server.apps.deviceupload"
    label = "deviceupload"

    def ready(self) -> None:
        # The devices' upload requests and status reports come in through the one MQTT bridge (operation/topics.py).
        from server.apps.deviceupload.models import UPLOAD_STORE
        from server.apps.deviceupload.services import (
            upload_link_refused,
            upload_requests_process,
            upload_statuses_process,
        )
        from server.apps.operation.kinds import UPLOAD_REQUEST_SUFFIX, UPLOAD_STATUS_SUFFIX
        from server.apps.operation.topics import InboundTopic, register_inbound_topic

        register_inbound_topic(InboundTopic(suffix=UPLOAD_REQUEST_SUFFIX, handle=upload_requests_process))
        register_inbound_topic(InboundTopic(suffix=UPLOAD_STATUS_SUFFIX, handle=upload_statuses_process))
        # A signed upload link of a canceled (or finished) upload takes no file (stores/views.py).
        from server.apps.stores.selectors import register_upload_guard

        register_upload_guard(UPLOAD_STORE, upload_link_refused)
