"""Notes name what they are about by a target slug: they follow a device into its data block and go when
the block is deleted."""

from __future__ import annotations

from server.apps.core.targets import MetadataType, register_metadata
from server.apps.streamnote.models import StreamNote
from server.apps.streamnote.services import stream_notes_delete, stream_notes_retarget

register_metadata(MetadataType(StreamNote, retarget=stream_notes_retarget, delete=stream_notes_delete))
