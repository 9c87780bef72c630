"""Lookups: answers for keys taken from each record, read in mappings as ``$lookup.NAME``."""
