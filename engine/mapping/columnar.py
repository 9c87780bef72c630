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

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from engine.contracts import ArrowRows, LateRecords, ResolverOptions
from engine.mapping.codegen import Generator
from engine.mapping.steps import (
    Check,
    Default,
    Field,
    ReadSource,
    ReadValue,
    Require,
    Resolve,
    Step,
)

#: what ``str.strip()`` strips from ASCII text (Arrow's own trim knows fewer)
_ASCII_SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
_BLANK = "^[" + "".join(f"\\x{ord(c):02x}" for c in _ASCII_SPACE) + "]*$"
_INT = r"^-?[0-9]{1,18}$"
_FLOAT = r"^-?[0-9]{1,15}(\.[0-9]{1,15})?$"
_ISO_UTC = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
_ISO_DATE = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}$"


class NoColumnarForm(Exception):
    """A step that has no columnar form: its field is computed row by row."""


@dataclasses.dataclass
class Value:
    """A field's value for every row of a chunk while its steps run.

    ``data`` is an Arrow array, or ``constant`` holds one Python value for
    every row (``value:`` fields). ``text`` says the array holds text.
    """

    data: Any
    constant: Any = None
    is_constant: bool = False
    #: every row that is not ASCII text is already uncertain (ASCII functions keep text ASCII)
    ascii: bool = False

    @property
    def text(self) -> bool:
        """Whether the values are text (an Arrow string array)."""
        return not self.is_constant and pa.types.is_string(self.data.type)


class Uncertain:
    """The rows a chunk's columnar forms were not sure of, gathered as one mask."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.mask: Any = None

    def add(self, mask: Any) -> None:
        """Rows where ``mask`` is true (null counts as false) are uncertain."""
        mask = pc.fill_null(mask, False)
        self.mask = mask if self.mask is None else pc.or_(self.mask, mask)


#: a step's columnar form: ``(value, table, uncertain) -> value``
Form = Callable[[Value, Any, Uncertain], Value]


def _only_ascii(v: Value, uncertain: Uncertain) -> None:
    """Rows whose value is not ASCII text are uncertain (checked once along a chain of text forms)."""
    if not v.ascii:
        uncertain.add(pc.invert(pc.fill_null(pc.string_is_ascii(v.data), True)))


def _matches(v: Value, pattern: str) -> Any:
    return pc.fill_null(pc.match_substring_regex(v.data, pattern), False)


def _present(v: Value) -> Any:
    return pc.is_valid(v.data)


def _text_form(method: Callable[[Resolve, Any], Any]) -> Callable[[Resolve], Form]:
    """``upper``, ``lower``, ``trim``: ASCII text columnar, anything else uncertain."""

    def build(step: Resolve) -> Form:
        def form(v: Value, table: Any, uncertain: Uncertain) -> Value:
            _text_only(v)
            _only_ascii(v, uncertain)
            return Value(method(step, v.data), ascii=True)

        return form

    return build


def _text_only(v: Value) -> None:
    if not v.text:
        raise NoColumnarForm("the value is not text")


def _trim(step: Resolve, data: Any) -> Any:
    chars = step.args.get("chars")
    if chars is None or chars.isascii():  # the values it keeps are ASCII text
        return pc.ascii_trim(data, characters=_ASCII_SPACE if chars is None else chars)
    return pc.utf8_trim(data, characters=chars)


def _int(step: Resolve) -> Form:
    def form(v: Value, table: Any, uncertain: Uncertain) -> Value:
        _text_only(v)
        plain = _matches(v, _INT)
        uncertain.add(pc.and_(_present(v), pc.and_(pc.invert(plain), pc.not_equal(v.data, ""))))
        return Value(pc.cast(pc.if_else(plain, v.data, pa.scalar(None, pa.string())), pa.int64()))

    return form


def _float(step: Resolve) -> Form:
    def form(v: Value, table: Any, uncertain: Uncertain) -> Value:
        _text_only(v)
        plain = _matches(v, _FLOAT)
        uncertain.add(pc.and_(_present(v), pc.and_(pc.invert(plain), pc.not_equal(v.data, ""))))
        number = pc.cast(pc.if_else(plain, v.data, pa.scalar(None, pa.string())), pa.float64())
        return Value(pc.add(number, 0.0))  # -0 is written 0.0

    return form


def _datetime(kind: str) -> Callable[[Resolve, ResolverOptions], Form]:
    """ISO in, ISO out, no conversion: text that reads back as itself is its own answer."""

    def build(step: Resolve, options: ResolverOptions) -> Form:
        args = step.args
        if args.get("epoch") or args.get("to_timezone") or args.get("format") != "iso":
            raise NoColumnarForm(f"{kind} with epoch, to_timezone or an output format")
        zone = args.get("timezone") or options.timezone
        in_utc = not zone or zone.upper() == "UTC"
        if args.get("formats"):
            if not in_utc:
                raise NoColumnarForm(f"{kind} with formats, read in a time zone")
            return _formatted(kind, args["formats"])
        if kind == "date" and not in_utc:
            raise NoColumnarForm("a date in a time zone whose midnight may not exist")
        pattern, layout = (_ISO_UTC, "%Y-%m-%dT%H:%M:%SZ") if kind == "datetime" else (_ISO_DATE, "%Y-%m-%d")

        def form(v: Value, table: Any, uncertain: Uncertain) -> Value:
            _text_only(v)
            plain = _matches(v, pattern)
            candidates = pc.if_else(plain, v.data, pa.scalar(None, pa.string()))
            try:  # Arrow's ISO reader refuses a day or time that does not exist: all valid, the usual case
                pc.cast(candidates, pa.timestamp("s", tz="UTC") if kind == "datetime" else pa.date32())
                same = plain
            except pa.ArrowInvalid:  # strptime rolls 30 February over, so compare it written back
                moment = pc.strptime(candidates, format=layout, unit="s", error_is_null=True)
                same = pc.fill_null(pc.equal(pc.strftime(moment, format=layout), v.data), False)
            uncertain.add(pc.and_(_present(v), pc.invert(same)))
            return Value(pc.if_else(same, v.data, pa.scalar(None, pa.string())))

        return form

    return build


#: strptime formats whose fields Arrow reads as Python does, for text written back the same
_PLAIN_FORMAT = re.compile(r"(?:%[YmdHMS]|[^%])+")


def _formatted(kind: str, formats: Sequence[str]) -> Form:
    """One ``formats`` entry of plain fields, in UTC: text the format writes back the same is certain.

    With several formats Python takes the first that parses at all, which
    only Python can say, so only one is given a columnar form.
    """
    if len(formats) != 1 or not _PLAIN_FORMAT.fullmatch(formats[0]):
        raise NoColumnarForm("several formats, or fields other than %Y %m %d %H %M %S")
    fmt = formats[0]
    layout = "%Y-%m-%dT%H:%M:%SZ" if kind == "datetime" else "%Y-%m-%d"

    def form(v: Value, table: Any, uncertain: Uncertain) -> Value:
        _text_only(v)
        moment = pc.strptime(v.data, format=fmt, unit="s", error_is_null=True)
        same = pc.and_(
            pc.fill_null(pc.equal(pc.strftime(moment, format=fmt), v.data), False),
            pc.fill_null(pc.greater_equal(pc.year(moment), 1000), False),
        )
        uncertain.add(pc.and_(_present(v), pc.invert(same)))
        return Value(
            pc.strftime(pc.if_else(same, moment, pa.scalar(None, moment.type)), format=layout), ascii=True
        )

    return form


def _concat(step: Resolve, columns: Mapping[str, int]) -> Form:
    """``concat`` of the value and one column, both plain non-blank ASCII text; anything else uncertain."""
    reads = step.reads or ()
    if len(reads) != 1 or reads[0].simple_key not in columns:
        raise NoColumnarForm("concat of other than one column")
    key = reads[0].simple_key
    sep = step.args.get("sep", "")

    def form(v: Value, table: Any, uncertain: Uncertain) -> Value:
        _text_only(v)
        other = Value(table.column(key))
        for part in (v, other):
            uncertain.add(pc.invert(_present(part)))
            _only_ascii(part, uncertain)
            uncertain.add(_matches(part, _BLANK))
        return Value(pc.binary_join_element_wise(v.data, other.data, sep), ascii=sep.isascii())

    return form


def _upper(step: Resolve, data: Any) -> Any:
    return pc.ascii_upper(data)


def _lower(step: Resolve, data: Any) -> Any:
    return pc.ascii_lower(data)


def _blank(v: Value) -> Any:
    """Missing, empty or only whitespace (of ASCII text; other text is uncertain where it matters)."""
    return pc.or_(pc.is_null(v.data), _matches(v, _BLANK))


def _default_resolver(step: Resolve, columns: Mapping[str, int]) -> Form:
    """``default``: text in place of a blank value."""
    fallback = step.args.get("value")
    if not isinstance(fallback, str):
        raise NoColumnarForm("a default that is not text")

    def form(v: Value, table: Any, uncertain: Uncertain) -> Value:
        _text_only(v)
        _only_ascii(v, uncertain)
        return Value(pc.if_else(_blank(v), fallback, v.data), ascii=v.ascii and fallback.isascii())

    return form


def _coalesce(step: Resolve, columns: Mapping[str, int]) -> Form:
    """``coalesce``: the first value of the field's and the columns' that is not blank, else missing."""
    keys = [path.simple_key for path in step.reads or ()]
    if not keys or any(key is None or key not in columns for key in keys):
        raise NoColumnarForm("coalesce of other than columns")

    def form(v: Value, table: Any, uncertain: Uncertain) -> Value:
        _text_only(v)
        parts = [v, *(Value(table.column(key)) for key in keys)]
        result = pa.nulls(len(v.data), pa.string())
        for part in reversed(parts):
            _text_only(part)
            _only_ascii(part, uncertain)
            result = pc.if_else(_blank(part), result, part.data)
        return Value(result, ascii=True)

    return form


_TEXT = {"upper": _text_form(_upper), "lower": _text_form(_lower), "trim": _text_form(_trim)}
_NUMBERS = {"int": _int, "float": _float}
_DATES = {"datetime": _datetime("datetime"), "date": _datetime("date")}
#: resolvers called for a missing value too, whose columnar forms know what to do with one
_OF_COLUMNS: dict[str, Callable[[Resolve, Mapping[str, int]], Form]] = {
    "concat": _concat,
    "coalesce": _coalesce,
    "default": _default_resolver,
}


def _resolve_form(step: Resolve, columns: Mapping[str, int], options: ResolverOptions) -> Form:
    if step.name in _TEXT:
        return _TEXT[step.name](step)
    if step.name in _NUMBERS:
        return _NUMBERS[step.name](step)
    if step.name in _DATES:
        return _DATES[step.name](step, options)
    if step.name in _OF_COLUMNS:
        return _OF_COLUMNS[step.name](step, columns)
    raise NoColumnarForm(f"resolver {step.name} has no columnar form")


def _default_form(step: Default) -> Form:
    if not isinstance(step.value, str):
        raise NoColumnarForm("a default that is not text")

    def form(v: Value, table: Any, uncertain: Uncertain) -> Value:
        _text_only(v)
        missing = pc.or_(pc.is_null(v.data), pc.fill_null(pc.equal(v.data, ""), False))
        return Value(pc.if_else(missing, step.value, v.data), ascii=v.ascii and step.value.isascii())

    return form


def _require_form(v: Value, table: Any, uncertain: Uncertain) -> Value:
    if v.is_constant:
        if v.constant is None or v.constant == "":
            raise NoColumnarForm("a required constant that is missing")
        return v
    missing = pc.invert(_present(v))
    if v.text:
        missing = pc.or_(missing, pc.fill_null(pc.equal(v.data, ""), False))
    uncertain.add(missing)
    return v


def _check_form(step: Check) -> Form:
    checks = dict(step.checks)
    if set(checks) - {"enum", "pattern", "min", "max"}:
        raise NoColumnarForm("length checks")
    allowed = checks.get("enum")
    pattern = checks.get("pattern")
    if pattern is not None and ("[:" in pattern.pattern or pattern.flags & ~(re.UNICODE | re.ASCII)):
        raise NoColumnarForm("a pattern RE2 may read otherwise than Python (POSIX classes, flags)")

    def form(v: Value, table: Any, uncertain: Uncertain) -> Value:
        if v.is_constant:
            raise NoColumnarForm("checks of a constant")
        if allowed is not None:
            _enum(v, allowed, uncertain)
        if pattern is not None:
            _text_only(v)
            _only_ascii(v, uncertain)
            uncertain.add(pc.and_(_present(v), pc.invert(_matches(v, f"^(?:{pattern.pattern})$"))))
        for name in ("min", "max"):
            limit = checks.get(name)
            if limit is None:
                continue
            if not (pa.types.is_integer(v.data.type) or pa.types.is_floating(v.data.type)):
                raise NoColumnarForm("bounds of values that are not numbers")
            beyond = pc.less(v.data, limit) if name == "min" else pc.greater(v.data, limit)
            uncertain.add(beyond)
        return v

    return form


def _enum(v: Value, allowed: Sequence[Any], uncertain: Uncertain) -> None:
    if v.text and all(isinstance(a, str) for a in allowed):
        members = pa.array(list(allowed), pa.string())
    elif pa.types.is_integer(v.data.type) and all(type(a) is int for a in allowed):
        members = pa.array(list(allowed), pa.int64())
    else:
        raise NoColumnarForm("an enum whose members are not of the value's type")
    uncertain.add(pc.and_(_present(v), pc.invert(pc.is_in(v.data, value_set=members))))


def _read_form(step: Step, columns: Mapping[str, int]) -> Form:
    if isinstance(step, ReadValue):
        if isinstance(step.value, dict | list):
            raise NoColumnarForm("a constant object or list")
        constant = step.value
        return lambda v, table, uncertain: Value(None, constant, True)
    if isinstance(step, ReadSource):
        path = step.path
        key = path.simple_key
        if path.text in columns and (len(path.steps) > 1 or path.projects):
            key = path.text  # a column named like a dotted path reads as itself
        elif key is None:
            raise NoColumnarForm("a path into a value")
        if key not in columns:
            return lambda v, table, uncertain: Value(pa.nulls(table.num_rows, pa.string()))
        name = key
        return lambda v, table, uncertain: Value(table.column(name))
    raise NoColumnarForm(f"{type(step).__name__} has no columnar form")


def field_forms(f: Field, columns: Mapping[str, int], options: ResolverOptions) -> list[Form]:
    """The columnar forms of a field's steps, in order.

    Raises:
        NoColumnarForm: one of its steps has none.
    """
    if f.is_block:
        raise NoColumnarForm("a nested block")
    forms: list[Form] = []
    for step in f.steps:
        if isinstance(step, ReadSource | ReadValue):
            forms.append(_read_form(step, columns))
        elif isinstance(step, Default):
            forms.append(_default_form(step))
        elif isinstance(step, Resolve):
            if step.needs_record or (step.accepts_missing and step.name not in _OF_COLUMNS):
                raise NoColumnarForm(f"resolver {step.name} reads the record or missing values")
            forms.append(_skip_constant(_resolve_form(step, columns, options)))
        elif isinstance(step, Require):
            if step.block:
                raise NoColumnarForm("a required block")
            forms.append(_require_form)
        elif isinstance(step, Check):
            forms.append(_check_form(step))
        else:
            raise NoColumnarForm(f"{type(step).__name__} has no columnar form")
    return forms


class _AnyColumns(dict[str, int]):
    """Every column name is there: whether a field has a columnar form before the header is known."""

    def __contains__(self, key: object) -> bool:
        return True


def any_columnar(fields: Sequence[Field], options: ResolverOptions) -> bool:
    """Whether some field reading the record has a columnar form (constants alone are not worth columns)."""
    for f in fields:
        if isinstance(f.read, ReadValue):
            continue
        try:
            field_forms(f, _AnyColumns(), options)
        except NoColumnarForm:
            continue
        return True
    return False


def _skip_constant(form: Form) -> Form:
    def guarded(v: Value, table: Any, uncertain: Uncertain) -> Value:
        if v.is_constant:
            raise NoColumnarForm("a resolver applied to a constant")
        return form(v, table, uncertain)

    return guarded


def run_forms(forms: list[Form], table: Any, uncertain: Uncertain) -> Value:
    """A field's value for every row of ``table``, noting the rows its forms were not sure of."""
    v = Value(None, None, True)
    for form in forms:
        v = form(v, table, uncertain)
    return v


def builder(fields: Sequence[Field]) -> Callable[[list[list[Any]], list[dict[str, Any]]], None]:
    """``build(columns, out)``: output objects from per-field value lists, assembled as the row path does."""
    gen = Generator(None)
    names = [f"v_{n}" for n in range(len(fields))]
    lines = ["def _build(cols, out):", f"    for {', '.join(names)}, in zip(*cols):"]
    lines += gen._assemble(fields, names, "        ")
    lines.append("        out.append(o)")
    ns = dict(gen.ns)
    exec(compile("\n".join(lines) + "\n", f"<columnar build {len(fields)} fields>", "exec"), ns)
    built: Callable[[list[list[Any]], list[dict[str, Any]]], None] = ns["_build"]
    return built


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
        by_row = self._row_fields(table, positions, context, file, uncertain)
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
            return LateRecords(len(good), made), good, []
        return self._with_doubtful(table, doubt, positions, context, file, made(), good)

    def _columns(self, records: ArrowRows) -> tuple[list[Value | None], Any]:
        """The columnar fields' values for ``records`` and the rows in doubt so far.

        They are computed once for the parser's whole block (a few chunks) and
        sliced per chunk: fewer, larger calls into Arrow.
        """
        whole = records.block if records.block is not None else records.table
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
        if whole is records.table:
            return found, mask
        at, n = records.offset, records.table.num_rows
        sliced = [
            v if v is None or v.is_constant else dataclasses.replace(v, data=v.data.slice(at, n))
            for v in found
        ]
        return sliced, None if mask is None else mask.slice(at, n)

    def _row_fields(
        self,
        table: Any,
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
        self.row_function(ArrowRows(table).rows(), positions, context, file, out, idx, rejects)
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

    def _with_doubtful(
        self,
        table: Any,
        doubt: list[int],
        positions: list[int],
        context: Mapping[str, Any],
        file: Mapping[str, Any],
        out: list[dict[str, Any]],
        good: list[int],
    ) -> tuple[list[dict[str, Any]], list[int], list[Any]]:
        """The rows in doubt mapped by the row path, merged with the others in row order."""
        rows = ArrowRows(table.take(pa.array(doubt, pa.int64()))).rows()
        more: list[dict[str, Any]] = []
        more_idx: list[int] = []
        rejects: list[Any] = []
        self.whole(rows, [positions[i] for i in doubt], context, file, more, more_idx, rejects)
        merged = sorted(
            [*zip(good, out, strict=True), *((doubt[j], o) for j, o in zip(more_idx, more, strict=True))],
            key=lambda pair: pair[0],
        )
        return [o for _i, o in merged], [i for i, _o in merged], [(doubt[j], issues) for j, issues in rejects]


def _pick(record: dict[str, Any], target: tuple[str, ...]) -> Any:
    node: Any = record
    for key in target:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node
