"""simvoip.analysis."""
