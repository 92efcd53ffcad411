"""playbooks (being built)."""
