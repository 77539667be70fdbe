"""HTTP API (FastAPI) entry point."""
