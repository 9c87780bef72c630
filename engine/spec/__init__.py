"""Loading, validating and compiling specs. Never imports a concrete plugin."""
