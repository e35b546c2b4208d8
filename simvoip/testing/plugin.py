"""pytest plugin of simvoip (fixtures and options arrive with issue 9)."""
