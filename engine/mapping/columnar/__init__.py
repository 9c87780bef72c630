"""The columnar form of a mapping: fields computed on whole Arrow columns.

When a parser gives a chunk's rows as Arrow columns (:class:`ArrowRows`),
most fields can be computed with :mod:`pyarrow.compute` for thousands of rows
per call instead of a Python call per value. Each step of
:mod:`engine.mapping.steps` that has a columnar form becomes one or two
compute calls; a field with a step that has none (``when``, expressions,
nested blocks, most resolvers) is computed by the generated row code, for
that field only.

Exactness comes first. A columnar form handles only the values whose result
it is sure of (plain ASCII text for the text resolvers, ``-?digits`` for
``int``, ``YYYY-MM-DDTHH:MM:SSZ`` that reads back the same for
``datetime``...) and marks every other value of the row *uncertain*:
anything unusual, a value that does not convert, a required value missing,
a failed check. Uncertain rows are mapped by the row path as a whole (the
generated code, and the explainer for its rejects), so each keeps exactly
the output or the located reject it always had; the other rows are mapped
once, here. ``tests/mapping/test_columnar.py`` holds both paths to the same
outputs and rejects.
"""

from engine.mapping.columnar.chunks import ColumnarMapping
from engine.mapping.columnar.fields import any_columnar

__all__ = ["ColumnarMapping", "any_columnar"]
