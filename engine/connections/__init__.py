"""Shared clients (S3, SFTP ...) that sources, targets and destinations borrow for a run."""
