"""voice (being built)."""
