"""Command-line tools that talk to a running platform over its REST API (they import no Django)."""
