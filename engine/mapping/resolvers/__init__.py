"""The built-in resolver library, one module per family.

Each module lists its resolvers in ``RESOLVERS``; :mod:`engine.plugins` names
the modules, so nothing registers itself on import. The rules every resolver
keeps, so users can predict them without reading each one:

* ``make(**args)`` does all the work that does not depend on the value
  (regexes, formats, lookup tables, CSV files) once, at compile time, and
  returns a small function. Arguments the schema cannot judge (a bad regular
  expression, an unknown CSV column) raise :class:`engine.errors.ConfigError`;
  a bad path raises :class:`engine.mapping.paths.PathSyntaxError`.
* Bad input raises :class:`engine.errors.DataError` with a short message that
  quotes what was found and says what was expected; the compiler adds the
  field, the resolver and the record's lineage. Nothing is silently zeroed.
* Empty or blank input to a conversion (``int``, ``float``, ``decimal``,
  ``bool``, ``date``, ``datetime``, ``json``, ``split``) means missing and
  gives ``None``, so ``default`` and ``required`` decide what happens.
* The ``sdk.*`` names reproduce the Fluent SDK's results for valid input;
  where the SDK would fall back (``"abc"`` to 0), they reject the record
  unless the mapping is lenient. See :mod:`.sdk`.
"""
