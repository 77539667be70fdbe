"""cordon.app."""
