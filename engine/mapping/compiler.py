"""Compile a mapping once into plain functions; map chunks with them.

A mapping compiles to one generated function per record shape: row form
(flat records with known columns, e.g. CSV) gets a version that reads by
column index, cached per distinct header; dict form (JSON, XML, Parquet)
reads by key. Both compile the same steps (:mod:`engine.mapping.steps`), and
a record that fails takes the slow path, :func:`engine.mapping.explain.explain`,
which runs the failing fields' steps one at a time to say why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from engine.contracts import ArrowRows, Chunk, LateRecords, ResolverOptions
from engine.mapping.codegen import EXPLAIN, Generator
from engine.mapping.explain import MappingIssue, explain
from engine.mapping.model import ModelContext, parse_fields
from engine.mapping.steps import Field
from engine.spec.diagnostics import Diagnostic, SpecPath
from engine.spec.loader import SpecDocument

if TYPE_CHECKING:  # pyarrow is imported only by mappings that may map columns
    from engine.mapping.columnar import ColumnarMapping

#: a generated function: ``(records, positions, context, file, out, idx, rejects)``, filling the last three
ChunkFunction = Callable[
    [list[Any], list[int], Mapping[str, Any], Mapping[str, Any], list[Any], list[int], list[Any]], None
]


class CompiledMapping:
    """A mapping ready to run: ``map_chunk`` is the hot path."""

    def __init__(
        self, fields: list[Field], options: ResolverOptions, source_text: str = "", columnar: bool = True
    ) -> None:
        self.fields = fields
        self.options = options
        self._by_columns: dict[tuple[tuple[str, ...] | None, bool], ChunkFunction] = {}
        self._columnar: dict[tuple[tuple[str, ...], bool], ColumnarMapping] = {}
        self.source_text = source_text
        #: ``mapping.columnar``: Arrow rows are mapped on columns (False: always row by row)
        self.columnar = columnar

    @property
    def takes_columns(self) -> bool:
        """Whether chunks of Arrow rows are worth asking a parser for: some field has a columnar form.

        Never without pyarrow installed (it comes with the ``parquet`` extra).
        """
        if not self.columnar:
            return False
        try:  # pyarrow (the parquet extra), imported only for mappings that may use it
            from engine.mapping.columnar import any_columnar
        except ImportError:
            return False
        return any_columnar(self.fields, self.options)

    def columnar_for(self, columns: tuple[str, ...], text: bool = True) -> ColumnarMapping:
        """The mapping's columnar form for rows with these ``columns`` (made once per header).

        ``text``: every value is text or None (CSV), as the row code for rows in doubt may assume.
        """
        from engine.mapping.columnar import ColumnarMapping

        found = self._columnar.get((columns, text))
        if found is None:
            found = self._columnar[columns, text] = ColumnarMapping(
                self.fields,
                columns,
                self.options,
                self._function(columns, text),
                lambda fields: CompiledMapping(list(fields), self.options)._function(columns, text),
            )
        return found

    @property
    def targets(self) -> list[str]:
        """Top-level target keys in spec order (column order for tabular writers)."""
        seen: dict[str, None] = {}
        for f in self.fields:
            seen.setdefault(f.target[0], None)
        return list(seen)

    def leaf_targets(self) -> list[tuple[str, ...]]:
        """Target paths (tuples of keys) of the fields that hold values, nested blocks left out."""
        return [f.target for f in self.fields if not f.is_block]

    def _function(self, columns: tuple[str, ...] | None, text_rows: bool = False) -> ChunkFunction:
        key = (columns, text_rows)
        fn = self._by_columns.get(key)
        if fn is None:
            gen = Generator(columns, text_rows)
            src = gen.top(self.fields)
            ns = gen.ns
            ns[EXPLAIN] = explain
            code = compile(src, f"<mapping {len(self.fields)} fields>", "exec")
            exec(code, ns)
            fn = self._by_columns[key] = cast(ChunkFunction, ns["_chunk"])
            self.source_text = src
        return fn

    def map_chunk(
        self, chunk: Chunk, context: Mapping[str, Any]
    ) -> tuple[list[dict[str, Any]], list[int], list[tuple[int, list[MappingIssue]]]]:
        """Mapped records, the chunk index of each, and rejects ``(index, issues)``."""
        records, index, rejects = self.map_chunk_late(chunk, context)
        return records.made() if isinstance(records, LateRecords) else list(records), index, rejects

    def map_chunk_late(
        self, chunk: Chunk, context: Mapping[str, Any]
    ) -> tuple[Sequence[dict[str, Any]], list[int], list[tuple[int, list[MappingIssue]]]]:
        """As :meth:`map_chunk`; records mapped on columns are built as dicts only when read."""
        records = chunk.records
        if isinstance(records, ArrowRows) and chunk.columns is not None and self.columnar:
            return self.columnar_for(chunk.columns, chunk.text).map(
                records, chunk.positions, context, chunk.item.file_vars()
            )
        fn = self._function(chunk.columns, chunk.text)
        out: list[dict[str, Any]] = []
        idx: list[int] = []
        rejects: list[tuple[int, list[MappingIssue]]] = []
        fn(chunk.records, chunk.positions, context, chunk.item.file_vars(), out, idx, rejects)
        return out, idx, rejects

    def map_record(
        self,
        record: Any,
        context: Mapping[str, Any] | None = None,
        *,
        row: int = 1,
        file: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any] | None, list[MappingIssue]]:
        """Map one record (tests, ``engine test``); returns (result, issues)."""
        out: list[dict[str, Any]] = []
        idx: list[int] = []
        rejects: list[tuple[int, list[MappingIssue]]] = []
        self._function(None)([record], [row], dict(context or {}), dict(file or {}), out, idx, rejects)
        if rejects:
            return None, rejects[0][1]
        return out[0], []


def compile_fields(
    doc: SpecDocument,
    fields: Any,
    path: SpecPath,
    resolvers: Any,
    options: ResolverOptions,
    columnar: bool = True,
) -> tuple[CompiledMapping | None, list[Diagnostic]]:
    """Compile a mapping's ``fields`` block; the mapping is None when any diagnostic is an error.

    The dict-form function is generated at once, so a generator bug surfaces
    at validate time rather than on the first record.
    """
    diagnostics: list[Diagnostic] = []
    ctx = ModelContext(doc, resolvers, options, diagnostics)
    specs = parse_fields(ctx, fields, path)
    if any(d.severity == "error" for d in diagnostics):
        return None, diagnostics
    compiled = CompiledMapping(specs, options, columnar=columnar)
    compiled._function(None)  # generate once now: a generator bug surfaces at validate time
    return compiled, diagnostics
