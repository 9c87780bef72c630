"""The resolvers that have a columnar form, each exact for the values it is sure of."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from engine.contracts import ResolverOptions
from engine.mapping.columnar.values import (
    ASCII_SPACE,
    Form,
    NoColumnarForm,
    Uncertain,
    Value,
    blank,
    matches,
    only_ascii,
    only_space,
    present,
    text_only,
)
from engine.mapping.paths import parse_path
from engine.mapping.resolvers.template import parse_template
from engine.mapping.steps import Resolve

#: the longest run of digits an int64 always holds
_INT_DIGITS = 18
_FLOAT = r"^-?[0-9]{1,15}(\.[0-9]{1,15})?$"
_DECIMAL = r"^-?[0-9]{1,18}(\.[0-9]{1,18})?$"
_ISO_UTC = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
_ISO_DATE = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}$"


def _text_form(method: Callable[[Resolve, Any], Any]) -> Callable[[Resolve], Form]:
    """``upper``, ``lower``, ``trim``: ASCII text columnar, anything else uncertain."""

    def build(step: Resolve) -> Form:
        def form(v: Value, table: Any, uncertain: Uncertain) -> Value:
            text_only(v)
            only_ascii(v, uncertain)
            return Value(method(step, v.data), ascii=True)

        return form

    return build


def _trim(step: Resolve, data: Any) -> Any:
    chars = step.args.get("chars")
    if chars is None or chars.isascii():  # the values it keeps are ASCII text
        return pc.ascii_trim(data, characters=ASCII_SPACE if chars is None else chars)
    return pc.utf8_trim(data, characters=chars)


def _plain_int(v: Value) -> Any:
    """Whether each value is ``-?[0-9]{1,18}`` (a missing one is not).

    Said with Arrow's ASCII kernels rather than a regex: a few times faster on
    the bench's file, and the same answer (``tests/mapping/test_columnar.py``).
    """
    digits = pc.ascii_ltrim(v.data, characters="-")
    signs = pc.subtract(pc.binary_length(v.data), pc.binary_length(digits))
    plain = pc.and_(pc.ascii_is_decimal(digits), pc.less_equal(pc.binary_length(digits), _INT_DIGITS))
    return pc.fill_null(pc.and_(plain, pc.less_equal(signs, 1)), False)


def _int(step: Resolve) -> Form:
    def form(v: Value, table: Any, uncertain: Uncertain) -> Value:
        text_only(v)
        plain = _plain_int(v)
        uncertain.add(pc.and_(present(v), pc.and_(pc.invert(plain), pc.not_equal(v.data, ""))))
        return Value(pc.cast(pc.if_else(plain, v.data, pa.scalar(None, pa.string())), pa.int64()))

    return form


def _float(step: Resolve) -> Form:
    def form(v: Value, table: Any, uncertain: Uncertain) -> Value:
        text_only(v)
        plain = matches(v, _FLOAT)
        uncertain.add(pc.and_(present(v), pc.and_(pc.invert(plain), pc.not_equal(v.data, ""))))
        number = pc.cast(pc.if_else(plain, v.data, pa.scalar(None, pa.string())), pa.float64())
        return Value(pc.add(number, 0.0))  # -0 is written 0.0

    return form


#: Python's rounding of ``decimal`` as Arrow names it
_ROUND_MODES = {
    "half_up": "half_towards_infinity",
    "half_even": "half_to_even",
    "half_down": "half_towards_zero",
    "up": "towards_infinity",
    "down": "towards_zero",
    "ceiling": "up",
    "floor": "down",
}


def _decimal(step: Resolve) -> Form:
    """``decimal`` with a ``scale`` of 0 to 6, as text: ``-?digits[.digits]`` (18 each side) rounded by Arrow."""
    scale = step.args.get("scale")
    mode = _ROUND_MODES.get(step.args.get("rounding", "half_up"))
    if (
        step.args.get("as", "string") != "string"
        or not isinstance(scale, int)
        or not 0 <= scale <= 6
        or not mode
    ):
        raise NoColumnarForm("decimal other than text with a scale of 0 to 6")

    def form(v: Value, table: Any, uncertain: Uncertain) -> Value:
        text_only(v)
        plain = matches(v, _DECIMAL)
        uncertain.add(pc.and_(present(v), pc.and_(pc.invert(plain), pc.not_equal(v.data, ""))))
        exact = pc.cast(pc.if_else(plain, v.data, pa.scalar(None, pa.string())), pa.decimal128(38, 18))
        rounded = pc.cast(pc.round(exact, ndigits=scale, round_mode=mode), pa.decimal128(38, scale))
        return Value(pc.cast(rounded, pa.string()), ascii=True)

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
            text_only(v)
            plain = matches(v, pattern)
            candidates = pc.if_else(plain, v.data, pa.scalar(None, pa.string()))
            try:  # Arrow's ISO reader refuses a day or time that does not exist: all valid, the usual case
                pc.cast(candidates, pa.timestamp("s", tz="UTC") if kind == "datetime" else pa.date32())
                same = plain
            except pa.ArrowInvalid:  # strptime rolls 30 February over, so compare it written back
                moment = pc.strptime(candidates, format=layout, unit="s", error_is_null=True)
                same = pc.fill_null(pc.equal(pc.strftime(moment, format=layout), v.data), False)
            uncertain.add(pc.and_(present(v), pc.invert(same)))
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
        text_only(v)
        moment = pc.strptime(v.data, format=fmt, unit="s", error_is_null=True)
        same = pc.and_(
            pc.fill_null(pc.equal(pc.strftime(moment, format=fmt), v.data), False),
            pc.fill_null(pc.greater_equal(pc.year(moment), 1000), False),
        )
        uncertain.add(pc.and_(present(v), pc.invert(same)))
        return Value(
            pc.strftime(pc.if_else(same, moment, pa.scalar(None, moment.type)), format=layout), ascii=True
        )

    return form


def _concat(step: Resolve, columns: Mapping[str, int]) -> Form:
    """``concat`` of the value and columns, all plain non-blank ASCII text; anything else uncertain."""
    keys = [path.simple_key for path in step.reads or ()]
    if not keys or any(key is None or key not in columns for key in keys):
        raise NoColumnarForm("concat of other than columns")
    sep = step.args.get("sep", "")

    def form(v: Value, table: Any, uncertain: Uncertain) -> Value:
        text_only(v)
        parts = [v, *(Value(table.column(key)) for key in keys)]
        for part in parts:
            text_only(part)
            uncertain.add(pc.invert(present(part)))
            only_ascii(part, uncertain)
            uncertain.add(only_space(part))
        return Value(pc.binary_join_element_wise(*(p.data for p in parts), sep), ascii=sep.isascii())

    return form


def _template(step: Resolve, columns: Mapping[str, int]) -> Form:
    """``template`` of the value and columns: ASCII text; a blank hole uncertain (``missing: error``) or empty."""
    pieces = parse_template(step.args["template"])
    holes: list[str | None] = []  # a column's name, or None for the value itself
    for piece in pieces:
        if isinstance(piece, str):
            continue
        text = piece[0]
        key = parse_path(text).simple_key if text else None
        if text and key is None:
            raise NoColumnarForm("a template with holes other than columns")
        holes.append(key)
    if not holes:
        raise NoColumnarForm("a template without holes is a constant")
    empty = step.args.get("missing") == "empty"
    literal_ascii = all(p.isascii() for p in pieces if isinstance(p, str))

    def form(v: Value, table: Any, uncertain: Uncertain) -> Value:
        filled = iter(holes)
        parts: list[Any] = []
        for piece in pieces:
            if isinstance(piece, str):
                parts.append(piece)
                continue
            key = next(filled)
            if key is None:
                part = v
            elif key in columns:
                part = Value(table.column(key))
            else:  # a column the file does not have: missing in every row
                part = Value(pa.nulls(table.num_rows, pa.string()))
            text_only(part)
            only_ascii(part, uncertain)
            if empty:
                parts.append(pc.if_else(blank(part), "", part.data))
            else:
                uncertain.add(blank(part))
                parts.append(part.data)
        return Value(pc.binary_join_element_wise(*parts, ""), ascii=literal_ascii)

    return form


def _upper(step: Resolve, data: Any) -> Any:
    return pc.ascii_upper(data)


def _lower(step: Resolve, data: Any) -> Any:
    return pc.ascii_lower(data)


def _default_resolver(step: Resolve, columns: Mapping[str, int]) -> Form:
    """``default``: text in place of a blank value."""
    fallback = step.args.get("value")
    if not isinstance(fallback, str):
        raise NoColumnarForm("a default that is not text")

    def form(v: Value, table: Any, uncertain: Uncertain) -> Value:
        text_only(v)
        only_ascii(v, uncertain)
        return Value(pc.if_else(blank(v), fallback, v.data), ascii=v.ascii and fallback.isascii())

    return form


def _coalesce(step: Resolve, columns: Mapping[str, int]) -> Form:
    """``coalesce``: the first value of the field's and the columns' that is not blank, else missing."""
    keys = [path.simple_key for path in step.reads or ()]
    if not keys or any(key is None or key not in columns for key in keys):
        raise NoColumnarForm("coalesce of other than columns")

    def form(v: Value, table: Any, uncertain: Uncertain) -> Value:
        text_only(v)
        parts = [v, *(Value(table.column(key)) for key in keys)]
        result = pa.nulls(len(v.data), pa.string())
        for part in reversed(parts):
            text_only(part)
            only_ascii(part, uncertain)
            result = pc.if_else(blank(part), result, part.data)
        return Value(result, ascii=True)

    return form


_TEXT = {"upper": _text_form(_upper), "lower": _text_form(_lower), "trim": _text_form(_trim)}
_NUMBERS = {"int": _int, "float": _float, "decimal": _decimal}
_DATES = {"datetime": _datetime("datetime"), "date": _datetime("date")}
#: resolvers called for a missing value too, whose columnar forms know what to do with one
OF_COLUMNS: dict[str, Callable[[Resolve, Mapping[str, int]], Form]] = {
    "concat": _concat,
    "template": _template,
    "coalesce": _coalesce,
    "default": _default_resolver,
}


def resolve_form(step: Resolve, columns: Mapping[str, int], options: ResolverOptions) -> Form:
    """The columnar form of one resolver step.

    Raises:
        NoColumnarForm: the resolver, or these arguments of it, have none.
    """
    if step.name in _TEXT:
        return _TEXT[step.name](step)
    if step.name in _NUMBERS:
        return _NUMBERS[step.name](step)
    if step.name in _DATES:
        return _DATES[step.name](step, options)
    if step.name in OF_COLUMNS:
        return OF_COLUMNS[step.name](step, columns)
    raise NoColumnarForm(f"resolver {step.name} has no columnar form")
