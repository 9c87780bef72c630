"""Destinations: publish finished files atomically (local, S3, SFTP)."""
