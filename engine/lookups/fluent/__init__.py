"""Lookups against Fluent Commerce."""
