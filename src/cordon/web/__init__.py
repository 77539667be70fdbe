"""Web UI (Jinja2 + htmx) entry point."""
