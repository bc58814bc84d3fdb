"""Writes on streamers and their reports, one module per stage (docs/ingest.md):

- ``upload``: the request's part: check a report, keep its file, record it, queue its processing;
- ``processing``: the worker's part: parse, time, map to streams, write (through ``streamer.writer``), acknowledge;
- ``housekeeping``: dropping the commit marks no retry can need any more.
"""
