"""Parsers: binary streams in, chunks of records with positions out."""
