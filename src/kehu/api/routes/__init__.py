"""One router module per feature."""
