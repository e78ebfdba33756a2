"""The explorer's widgets, one job per module."""
