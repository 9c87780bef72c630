"""Running a spec's own ``tests:`` offline (``engine test``)."""
