"""cordon.cli."""
