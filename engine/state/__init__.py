"""State that survives runs: ledger, locks, checkpoints, key-values, run history.

A state store is a plugin (kind ``state_stores``); the SQLite store is the
default. Every write is one transaction, and the runner commits an item's
state only after the target acknowledged its records.
"""
