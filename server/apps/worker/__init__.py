"""The queue worker (docs/worker.md)."""
