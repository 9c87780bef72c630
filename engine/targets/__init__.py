"""Targets: where mapped records go, each record's outcome reported."""
