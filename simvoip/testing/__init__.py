"""simvoip.testing."""
