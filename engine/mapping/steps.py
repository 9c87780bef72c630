"""The mapping's one semantics: what a field does to a record, as a short list of steps.

:mod:`engine.mapping.model` turns each field definition into steps, in the
order they apply, and nothing else decides that order. Two readers follow
the same steps: :mod:`engine.mapping.codegen` compiles them into the
function that maps every record, and :mod:`engine.mapping.explain` runs them
one at a time to say why a record was rejected. A property test runs both
over generated fields and records and holds them to the same results.

A field's steps, in order:

1. :class:`When` (optional) — a JMESPath condition; when it is false the
   field is left out and no other step runs.
2. One read: :class:`ReadSource`, :class:`ReadValue`, :class:`ReadExpr`,
   :class:`ReadNothing` (a value computed by resolvers alone), or a nested
   block, :class:`Nest` (an object) or :class:`Each` (a list of objects).
3. :class:`Default` (optional) — replaces a missing or empty value.
4. :class:`Resolve`, one per resolver — skipped for a missing value unless
   the resolver accepts one.
5. :class:`Require` (optional) — a missing or empty value rejects the record.
6. :class:`Check` (optional) — pattern, enum, bounds and lengths of a
   present value.

The helpers below (what counts as missing, the checks' messages, the shape
an ``each`` accepts) are the pieces both readers call, so each rule is
written once.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from engine.contracts import Resolver, ResolverFunction
from engine.mapping.paths import Path, Scope, compile_getter, parse_path, walk


@dataclasses.dataclass(frozen=True)
class When:
    """Leave the field out unless the JMESPath ``expr`` is truthy (JMESPath's truth: no empty values)."""

    expr: Any
    text: str


@dataclasses.dataclass(frozen=True)
class ReadSource:
    """The value at ``path``; an XML element holding text (``{"#text": ...}``) reads as its text."""

    path: Path


@dataclasses.dataclass(frozen=True)
class ReadValue:
    """A constant; lists and objects are copied for every record, so no record shares them."""

    value: Any


@dataclasses.dataclass(frozen=True)
class ReadExpr:
    """A JMESPath expression over ``{record, root, parent, context, file, row}``."""

    expr: Any
    text: str


@dataclasses.dataclass(frozen=True)
class ReadNothing:
    """No value to start from: resolvers or a default make it."""


@dataclasses.dataclass(frozen=True)
class Nest:
    """An object built by ``fields`` from the record, or from the object at ``path``.

    A missing object stays missing; something that is not an object reads
    as an empty one (paths relative to it find nothing, as in the SDK). An
    object whose fields all came out missing is missing. Inside, ``$parent``
    is the enclosing record when ``path`` is set. ``decode`` resolvers turn
    the value at ``path`` into the object first (``json``, ``xml``: a payload
    held as text in a field).
    """

    path: Path | None
    fields: tuple[Field, ...]
    decode: tuple[Resolve, ...] = ()


@dataclasses.dataclass(frozen=True)
class Each:
    """A list: ``fields`` built from every item at ``path``.

    One object reads as a list of one, and a GraphQL connection
    (``{edges: [{node: ...}]}``) as its nodes. Items see the enclosing record
    as ``$parent``. The first item that fails rejects the record, naming it.
    ``decode`` resolvers turn the value at ``path`` into the items first.
    """

    path: Path
    fields: tuple[Field, ...]
    decode: tuple[Resolve, ...] = ()


@dataclasses.dataclass(frozen=True)
class Default:
    """Replace a missing or empty value (None or ``""``) by ``value``."""

    value: Any


@dataclasses.dataclass(frozen=True)
class Resolve:
    """Apply one resolver, called the way it declared.

    ``fn(value, *values at reads)`` when ``reads`` is set, else
    ``fn(value, record, context)`` when ``needs_record``, else ``fn(value)``.
    A missing value skips the step unless ``accepts_missing``. ``text_form``,
    when set, gives what ``fn`` gives for any text, without a type test.
    """

    name: str
    fn: Callable[..., Any]
    reads: tuple[Path, ...] | None = None
    needs_record: bool = False
    accepts_missing: bool = False
    text_form: Callable[[str], Any] | None = None
    #: the arguments the resolver was made with (what a columnar form needs to know)
    args: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def of(cls, resolver: Resolver, made: Any, args: Mapping[str, Any] | None = None) -> Resolve:
        """The step for what ``resolver.make`` returned: a plain function or a :class:`ResolverFunction`.

        Raises:
            PathSyntaxError: a path the resolver declares it reads is malformed.
            TypeError: ``make`` returned something that cannot be called.
        """
        built = made if isinstance(made, ResolverFunction) else ResolverFunction(made)
        if not callable(built.fn):
            raise TypeError(f"its factory returned {built.fn!r}, not a function")
        reads = None if built.reads is None else tuple(parse_path(p) for p in built.reads)
        return cls(
            name=resolver.name,
            fn=built.fn,
            reads=reads,
            needs_record=resolver.needs_record and reads is None,
            accepts_missing=resolver.accepts_missing,
            text_form=built.text_form,
            args=dict(args or {}),
        )


@dataclasses.dataclass(frozen=True)
class Require:
    """Reject the record when the value is missing: None or ``""``, or for a block, None or no items."""

    block: bool = False


@dataclasses.dataclass(frozen=True)
class Check:
    """Reject a present value that fails one of ``checks`` (see :func:`check_value`)."""

    checks: Mapping[str, Any]


Step = (
    When | ReadSource | ReadValue | ReadExpr | ReadNothing | Nest | Each | Default | Resolve | Require | Check
)
Read = ReadSource | ReadValue | ReadExpr | ReadNothing | Nest | Each
READS = (ReadSource, ReadValue, ReadExpr, ReadNothing, Nest, Each)


@dataclasses.dataclass(frozen=True)
class Field:
    """One target field: where it goes (``target``, a key path in its object) and its steps in order."""

    target: tuple[str, ...]
    steps: tuple[Step, ...]

    @property
    def label(self) -> str:
        """The target as messages name it: ``attributes.batchNumber``."""
        return ".".join(self.target)

    @property
    def read(self) -> Read:
        """The step that gives the field its first value (every field has exactly one)."""
        for step in self.steps:
            if isinstance(step, READS):
                return step
        raise AssertionError(f"field {self.label} has no read step")

    @property
    def source(self) -> str | None:
        """The path the field reads, as written (for messages), or None."""
        read = self.read
        path = read.path if isinstance(read, ReadSource | Nest | Each) else None
        return path.text if path is not None else None

    @property
    def is_block(self) -> bool:
        """Whether the field builds an object or a list of them (``fields``/``each``)."""
        return isinstance(self.read, Nest | Each)

    @property
    def always_present(self) -> bool:
        """Whether the field can never come out missing, so the output need not test it."""
        if any(isinstance(s, When) for s in self.steps):
            return False
        if any(isinstance(s, Require) for s in self.steps):
            return True
        return len(self.steps) == 1 and isinstance(self.read, ReadValue) and self.read.value is not None


def paths_read(field: Field) -> list[Path]:
    """Every path a field reads from its record (its source and its resolvers' reads), blocks not entered."""
    found: list[Path] = []
    for step in field.steps:
        if isinstance(step, ReadSource | Nest | Each) and step.path is not None:
            found.append(step.path)
        elif isinstance(step, Resolve) and step.reads:
            found.extend(step.reads)
    return found


def needs_whole_record(field: Field) -> bool:
    """Whether the field sees the record as a whole, not only some of its columns.

    Code for flat rows (CSV) reads columns by index and builds the record as
    a dict only for fields that need it: expressions and conditions, nested
    blocks, resolvers that take the record, and paths from ``$root``,
    ``$record`` or ``$parent``.
    """
    for step in field.steps:
        if isinstance(step, When | ReadExpr | Nest | Each):
            return True
        if isinstance(step, Resolve) and step.needs_record:
            return True
    return any(p.variable in ("$root", "$record", "$parent") for p in paths_read(field))


# --- the rules both readers share -------------------------------------------------


class Nested(Exception):
    """A nested block failed; ``issues`` are its explained problems, per item (``None`` for an object)."""

    def __init__(self, issues: list[tuple[int | None, list[Any]]]) -> None:
        super().__init__("nested")
        self.issues = issues


class NotAnObject(Exception):
    """A path of the record was read when the record is not an object (an ``each`` item that is text)."""

    def __init__(self, record: Any) -> None:
        super().__init__(f"the record is {show(record)}, not an object")


def read(path: Path, record: Any, scope: Scope) -> Any:
    """The value at ``path`` for this record: the rule generated code inlines, spelled out.

    A path of the record itself needs the record to be an object (an
    ``each`` item may be text); for a flat record a key equal to the whole
    path wins (``stock.qty`` reads a column of that name). Variables
    (``$root``, ``$context`` ...) read what the scope holds.

    Raises:
        NotAnObject: the path starts at the record and the record is not an object.
    """
    if path.variable is not None:
        return _getter(path)(record, scope)
    if not isinstance(record, dict):
        raise NotAnObject(record)
    if (len(path.steps) > 1 or path.projects) and path.text in record:
        return record[path.text]
    return walk(record, path.steps)


@functools.lru_cache(maxsize=256)
def _getter(path: Path) -> Callable[[Any, Scope], Any]:
    return compile_getter(path)


def is_missing(value: Any) -> bool:
    """What ``default`` and ``required`` count as missing: None or empty text."""
    return value is None or value == ""


def truthy(value: Any) -> bool:
    """JMESPath's truth, used by ``when``: empty lists, objects and text, false and null are false."""
    return value not in (None, False, "", [], {})


def as_items(value: Any) -> list[Any] | None:
    """The list an ``each`` iterates: a list, one object as a list of one, a GraphQL connection's nodes.

    Raises:
        TypeError: the value is text or a number, which has no items.
    """
    if value is None:
        return None
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        edges = value.get("edges")
        if isinstance(edges, list) and len(value) <= 2:
            return [e.get("node", e) if isinstance(e, dict) else e for e in edges]
        return [value]
    raise TypeError(f"expected a list for 'each', got {type(value).__name__}")


def show(value: Any) -> str:
    """A value as issue messages quote it: text cut to 80 characters, objects and lists by their kind."""
    if isinstance(value, str):
        return repr(value) if len(value) <= 80 else repr(value[:77] + "...")
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return repr(value)


def check_value(checks: Mapping[str, Any], value: Any) -> str | None:
    """The first problem of ``value`` under the field's checks, or None when it passes them all."""
    pattern: re.Pattern[str] | None = checks.get("pattern")
    if pattern is not None and (not isinstance(value, str) or pattern.fullmatch(value) is None):
        return f"{show(value)} does not match the pattern {pattern.pattern}"
    allowed = checks.get("enum")
    if allowed is not None and value not in allowed:
        return f"{show(value)} is not one of: {', '.join(str(a) for a in allowed)}"
    for name, word in (("min", "below the minimum"), ("max", "above the maximum")):
        limit = checks.get(name)
        if limit is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            try:
                number = float(value)
            except (TypeError, ValueError):
                return f"{show(value)} is not a number (checked against {name} {limit})"
        else:
            number = value
        if (name == "min" and number < limit) or (name == "max" and number > limit):
            return f"{show(value)} is {word} {limit}"
    for name, word in (("min_length", "shorter"), ("max_length", "longer")):
        limit = checks.get(name)
        if limit is None:
            continue
        size = len(value) if isinstance(value, str | list | dict) else len(str(value))
        if (name == "min_length" and size < limit) or (name == "max_length" and size > limit):
            return f"{show(value)} is {word} than {limit} characters"
    return None
