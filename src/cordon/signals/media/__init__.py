"""cordon.signals.media."""
