"""Migration scripts, oldest first (``0001_initial`` is the schema of the first release)."""
