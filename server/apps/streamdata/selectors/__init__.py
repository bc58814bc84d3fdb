"""Reads on stream data, scoped through the streams a user may see (docs/databases.md, docs/dashboard.md).

Rows name their stream by series id. The ids come from a scoped ``StreamId`` query on the default database (which
also gives the slugs the API shows); the data query then uses only ``(series, timestamp)`` on the streamdata
database. Nothing joins across the two. One
module per kind of read:

- ``rows``: a stream's rows over a time window (the index range every other read is made of), several such windows
  at once, a stream's count and bounds;
- ``data_filter``: the one place a ``?filter=`` slug becomes rows (``data/``, ``df/``, events);
- ``series``: a chart's points, downsampled by PostgreSQL;
- ``table``: a data table's pages, by keyset.
"""
