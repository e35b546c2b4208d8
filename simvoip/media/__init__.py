"""simvoip.media."""
