"""cordon.respond."""
