"""cordon.cases."""
