"""simvoip.sip.transaction."""
