"""cordon.sim."""
