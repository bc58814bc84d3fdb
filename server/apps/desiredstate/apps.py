from django.apps import AppConfig


class DesiredStateConfig(AppConfig):
    name = "server.apps.desiredstate"
    label = "desiredstate"

    def ready(self) -> None:
        # Kanto's feedback and current state come in through the one MQTT bridge (operation/topics.py).
        from server.apps.desiredstate.services import current_state_messages_process, feedback_messages_process
        from server.apps.operation.kinds import CURRENT_STATE_SUFFIX, DESIRED_STATE_FEEDBACK_SUFFIX
        from server.apps.operation.topics import InboundTopic, register_inbound_topic

        register_inbound_topic(InboundTopic(suffix=DESIRED_STATE_FEEDBACK_SUFFIX, handle=feedback_messages_process))
        register_inbound_topic(InboundTopic(suffix=CURRENT_STATE_SUFFIX, handle=current_state_messages_process))
