"""Writers: serialise records into files for the ``file`` target."""
