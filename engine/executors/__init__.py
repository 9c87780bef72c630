"""Executors: where a run's files are processed (in process, a process pool, a Dask cluster)."""
