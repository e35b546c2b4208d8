"""simvoip.sim."""
