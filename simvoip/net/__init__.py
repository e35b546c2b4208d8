"""simvoip.net."""
