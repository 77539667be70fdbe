"""cordon.connectors."""
