"""Fluent Commerce targets: the Batch, Event and GraphQL APIs."""
