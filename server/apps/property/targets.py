"""Properties name what they describe by a target slug: they follow a device into its data block, go when the block
is deleted, and a replacing device takes over the replaced one's."""

from __future__ import annotations

from server.apps.core.targets import MetadataType, register_metadata
from server.apps.property.models import GenericProperty
from server.apps.property.services import properties_carry_over, properties_delete, properties_retarget

register_metadata(
    MetadataType(
        GenericProperty, retarget=properties_retarget, delete=properties_delete, carry_over=properties_carry_over
    )
)
