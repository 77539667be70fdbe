"""cordon.signals."""
