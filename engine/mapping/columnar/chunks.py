"""A chunk mapped on columns: columnar fields, row-path fields, and the rows in doubt through the row path."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from engine.contracts import ArrowRows, LateRecords, ResolverOptions
from engine.mapping.columnar.fields import builder, field_forms, lookup_steps, run_forms
from engine.mapping.columnar.mapped import MappedColumn, MappedColumns
from engine.mapping.columnar.values import Form, NoColumnarForm, Uncertain, Value
from engine.mapping.paths import LOOKUP_KEY, walk
from engine.mapping.steps import Field, ReadSource

#: a generated row function (see :data:`engine.mapping.compiler.ChunkFunction`)
RowFunction = Callable[
    [list[Any], list[int], Mapping[str, Any], Mapping[str, Any], list[Any], list[int], list[Any]], None
]
#: the row function of some of the mapping's fields, for rows of the chunk's header
PartFunction = Callable[[Sequence[Field]], RowFunction]
_REFUSED = (NoColumnarForm, pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)


class ColumnarMapping:
    """A mapping's columnar form for one header: columnar fields, row-path fields, and the rows in doubt.

    ``whole`` is the row function of the whole mapping (for the rows in
    doubt); ``part`` makes the row function of the fields without a columnar
    form. A field whose form turns out not to apply to the data (a constant
    given to a resolver, a pattern Arrow's regex engine refuses) joins the
    row-path fields from then on.
    """

    def __init__(
        self,
        fields: Sequence[Field],
        columns: tuple[str, ...],
        options: ResolverOptions,
        whole: RowFunction,
        part: PartFunction,
    ) -> None:
        self.fields = list(fields)
        self.whole = whole
        self.part = part
        index = {c: i for i, c in enumerate(columns)}
        #: the lookups' answers the fields read (``$lookup.NAME.FIELD``): path text -> its steps
        self.lookup_reads = {
            step.path.text: step.path.steps[1:]
            for f in self.fields
            for step in f.steps
            if isinstance(step, ReadSource) and lookup_steps(step.path) is not None
        }
        self.forms: list[list[Form] | None] = []
        for f in self.fields:
            try:
                self.forms.append(field_forms(f, index, options))
            except NoColumnarForm:
                self.forms.append(None)
        self._plan()

    def _plan(self) -> None:
        self._cache: tuple[Any, list[Value | None], Any] | None = None
        self.row_fields = [f for f, forms in zip(self.fields, self.forms, strict=True) if forms is None]
        self.row_function = self.part(self.row_fields) if self.row_fields else None
        self.build = builder(self.fields)

    @property
    def columnar_fields(self) -> list[str]:
        """The fields computed on columns (the rest run row by row), for logs and tests."""
        return [f.label for f, forms in zip(self.fields, self.forms, strict=True) if forms is not None]

    def map(
        self, records: ArrowRows, positions: list[int], context: Mapping[str, Any], file: Mapping[str, Any]
    ) -> tuple[Sequence[dict[str, Any]], list[int], list[Any]]:
        """Mapped records, the row index of each, and rejects ``(index, issues)`` (as the row path gives them).

        When no row is in doubt the records are built as dicts only when read (:class:`LateRecords`).
        """
        table = records.table
        rows = table.num_rows
        uncertain = Uncertain(rows)
        values, uncertain.mask = self._columns(records)
        by_row = self._row_fields(records, positions, context, file, uncertain)
        doubt = [] if uncertain.mask is None else pc.indices_nonzero(uncertain.mask).to_pylist()
        keep = None if not doubt else pc.invert(uncertain.mask)
        good = list(range(rows)) if keep is None else pc.indices_nonzero(keep).to_pylist()
        build = self.build

        def made() -> list[dict[str, Any]]:
            lists: list[list[Any]] = []
            for k, value in enumerate(values):
                if value is None:
                    assert by_row is not None
                    found = by_row[k]
                    lists.append(found if keep is None else [found[i] for i in good])
                elif value.is_constant:
                    lists.append([value.constant] * len(good))
                else:
                    data = value.data if keep is None else pc.filter(value.data, keep)
                    lists.append(data.to_pylist())
            out: list[dict[str, Any]] = []
            build(lists, out)
            return out

        if not doubt:
            return LateRecords(len(good), made, self._mapped(values, by_row, rows)), good, []
        more, more_at, rejects = self._doubtful(records, doubt, positions, context, file)
        rows_of = good + more_at
        order = sorted(range(len(rows_of)), key=rows_of.__getitem__)

        def merged() -> list[dict[str, Any]]:
            both = made() + more
            return [both[n] for n in order]

        columns = self._merged(values, by_row, keep, good, more, order)
        return LateRecords(len(order), merged, columns), [rows_of[n] for n in order], rejects

    def _mapped(
        self, values: list[Value | None], by_row: dict[int, list[Any]] | None, rows: int
    ) -> MappedColumns:
        """The mapped records as columns (every row mapped, none in doubt)."""
        columns: list[MappedColumn] = []
        for k, (f, value) in enumerate(zip(self.fields, values, strict=True)):
            if value is None:
                assert by_row is not None
                column = MappedColumn(f.target, by_row[k])
            elif value.is_constant:
                column = MappedColumn(f.target, constant=value.constant, is_constant=True)
            else:
                column = MappedColumn(f.target, value.data)
            columns.append(dataclasses.replace(column, always_present=f.always_present))
        return MappedColumns(columns, rows)

    def _columns(self, records: ArrowRows) -> tuple[list[Value | None], Any]:
        """The columnar fields' values for ``records`` and the rows in doubt so far.

        They are computed once for the parser's whole block (a few chunks) and
        sliced per chunk: fewer, larger calls into Arrow.
        """
        whole = records.block if records.block is not None else records.table
        if LOOKUP_KEY in records.extra:
            whole = self._with_answers(whole, records.extra[LOOKUP_KEY])
        cached = self._cache
        if cached is None or cached[0] is not whole:
            uncertain = Uncertain(whole.num_rows)
            values: list[Value | None] = []
            for k, forms in enumerate(self.forms):
                try:
                    values.append(None if forms is None else run_forms(forms, whole, uncertain))
                except _REFUSED:
                    self.forms[k] = None
                    self._plan()
                    return self._columns(records)
            cached = self._cache = (whole, values, uncertain.mask)
        _whole, found, mask = cached
        if records.block is None:
            return found, mask
        at, n = records.offset, records.table.num_rows
        sliced = [
            v if v is None or v.is_constant else dataclasses.replace(v, data=v.data.slice(at, n))
            for v in found
        ]
        return sliced, None if mask is None else mask.slice(at, n)

    def _with_answers(self, table: Any, answers: list[Any]) -> Any:
        """``table`` and, as columns named by their paths, the lookup answers the fields read that are text."""
        for text, steps in self.lookup_reads.items():
            try:
                column = pa.array(_answers_at(answers, steps), pa.string())
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                continue  # not text: the fields reading it are computed row by row
            table = table.append_column(text, column)
        return table

    def _row_fields(
        self,
        records: ArrowRows,
        positions: list[int],
        context: Mapping[str, Any],
        file: Mapping[str, Any],
        uncertain: Uncertain,
    ) -> dict[int, list[Any]] | None:
        """The row-path fields' values for every row (by field index); rows they reject are in doubt."""
        if self.row_function is None:
            return None
        out: list[dict[str, Any]] = []
        idx: list[int] = []
        rejects: list[Any] = []
        table = records.table
        self.row_function(records.rows(), positions, context, file, out, idx, rejects)
        if rejects:
            mask = [False] * table.num_rows
            for i, _issues in rejects:
                mask[i] = True
            uncertain.add(pa.array(mask, pa.bool_()))
        found: dict[int, list[Any]] = {}
        for k, f in enumerate(self.fields):
            if self.forms[k] is not None:
                continue
            column: list[Any] = [None] * table.num_rows
            for i, o in zip(idx, out, strict=True):
                column[i] = _pick(o, f.target)
            found[k] = column
        return found

    def _doubtful(
        self,
        records: ArrowRows,
        doubt: list[int],
        positions: list[int],
        context: Mapping[str, Any],
        file: Mapping[str, Any],
    ) -> tuple[list[dict[str, Any]], list[int], list[Any]]:
        """The rows in doubt mapped by the row path: their records, their row indexes, and the rejects."""
        rows = records.take(doubt).rows()
        more: list[dict[str, Any]] = []
        more_idx: list[int] = []
        rejects: list[Any] = []
        self.whole(rows, [positions[i] for i in doubt], context, file, more, more_idx, rejects)
        return more, [doubt[j] for j in more_idx], [(doubt[j], issues) for j, issues in rejects]

    def _merged(
        self,
        values: list[Value | None],
        by_row: dict[int, list[Any]] | None,
        keep: Any,
        good: list[int],
        more: list[dict[str, Any]],
        order: list[int],
    ) -> MappedColumns | None:
        """The columns of the rows mapped on columns and of those the row path mapped, in row order.

        None when a value the row path gave does not fit its column as it is
        (another type, another constant): the target then takes the records.
        """
        perm = pa.array(order, pa.int64())
        columns: list[MappedColumn] = []
        for k, (f, value) in enumerate(zip(self.fields, values, strict=True)):
            tail = [_pick(o, f.target) for o in more]
            if value is None:
                assert by_row is not None
                found = by_row[k]
                both = [found[i] for i in good] + tail
                column = MappedColumn(f.target, [both[n] for n in order])
            elif value.is_constant:
                if any(type(v) is not type(value.constant) or v != value.constant for v in tail):
                    return None
                column = MappedColumn(f.target, constant=value.constant, is_constant=True)
            else:
                head = pc.filter(value.data, keep)
                head = head.combine_chunks() if isinstance(head, pa.ChunkedArray) else head
                try:
                    extra = pa.array(tail, type=head.type)
                except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                    return None
                back = extra.to_pylist()
                if back != tail or any(type(a) is not type(b) for a, b in zip(back, tail, strict=True)):
                    return None
                column = MappedColumn(f.target, pa.concat_arrays([head, extra]).take(perm))
            columns.append(dataclasses.replace(column, always_present=f.always_present))
        return MappedColumns(columns, len(order))


def _answers_at(answers: list[Any], steps: tuple[Any, ...]) -> list[Any]:
    """Each answer's value at ``steps`` (keys), as :func:`walk` reads it; a plain loop of dict lookups."""
    names = [step.name for step in steps]
    if "#text" in names:  # an XML element's text: walk knows its ways
        return [walk(answer, steps) for answer in answers]
    found = answers
    for name in names:
        found = [value.get(name) if isinstance(value, dict) else None for value in found]
    return found


def _pick(record: dict[str, Any], target: tuple[str, ...]) -> Any:
    node: Any = record
    for key in target:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node
