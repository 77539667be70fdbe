"""cordon.detectors."""
