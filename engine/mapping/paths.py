"""The one path language of mappings: parsed once, evaluated many times.

Grammar (see docs/mapping.md)::

    path     := [variable] step*
    variable := $root | $parent ($parent)* | $context | $file | $row | $record | $lookup
    step     := '.' key | '[' int ']' | '[*]' | '[' key '=' value ']' | '@' name | '.@' name
    key      := bare | "quoted" | '[' 'quoted' ']'

Bare keys may hold hyphens, spaces, ``#`` (``#text``) and ``:``; a key
containing ``.``, ``[`` or ``@`` must be quoted (``a."first.name"``). For
flat records (CSV, Parquet, JSON objects with dotted keys) a key equal to the
whole path text wins over the parsed path, so ``Qty On Hand`` and
``stock.qty`` read columns of those names. ``$lookup.NAME...`` reads the
answers the runtime's lookups put beside the record (``$root."$lookup"``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from engine.errors import EngineError

VARIABLES = ("$root", "$parent", "$context", "$file", "$row", "$record", "$lookup", "$steps")
#: where the runtime puts a record's lookup answers (``$lookup.NAME`` reads ``$root."$lookup".NAME``)
LOOKUP_KEY = "$lookup"
#: where the runtime puts the outcomes and answers of a record's earlier steps (``$steps.NAME.answer.id``)
STEPS_KEY = "$steps"
_STOP = set('.[]@"')


class PathSyntaxError(EngineError):
    """A malformed path; ``offset`` is the 0-based character it points at."""

    code = "engine.path"

    def __init__(self, text: str, offset: int, problem: str) -> None:
        super().__init__(f"malformed path {text!r}: {problem} at character {offset + 1}")
        self.text = text
        self.offset = offset
        self.problem = problem


@dataclasses.dataclass(frozen=True)
class Key:
    """``.name``: a key of an object (also ``#text`` of a scalar XML element)."""

    name: str


@dataclasses.dataclass(frozen=True)
class Index:
    """``[n]``: an item of a list (negative counts from the end); ``[0]`` of one XML element is that element."""

    index: int


@dataclasses.dataclass(frozen=True)
class Wildcard:
    """``[*]``: every item of a list; the path then gives a list (it *projects*)."""


@dataclasses.dataclass(frozen=True)
class Filter:
    """``[key=value]``: the first object whose ``key`` (or attribute ``@key``) reads as the text ``value``."""

    key: str
    value: str


Step = Key | Index | Wildcard | Filter


@dataclasses.dataclass(frozen=True)
class Path:
    """A parsed path: a starting point (the record or a variable) and the steps taken from it."""

    text: str
    #: None (the current record) or one of VARIABLES; ``$parent`` repeats in ``parent_depth``
    variable: str | None
    steps: tuple[Step, ...]
    parent_depth: int = 0

    @property
    def simple_key(self) -> str | None:
        """The key when the path is one plain key of the current record."""
        if self.variable is None and len(self.steps) == 1 and isinstance(self.steps[0], Key):
            return self.steps[0].name
        return None

    @property
    def projects(self) -> bool:
        """Whether the path has a ``[*]``, so it gives a list of values rather than one."""
        return any(isinstance(s, Wildcard) for s in self.steps)

    def __str__(self) -> str:
        return self.text


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def error(self, problem: str, at: int | None = None) -> PathSyntaxError:
        return PathSyntaxError(self.text, self.i if at is None else at, problem)

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def parse(self) -> Path:
        text = self.text
        if not text or not text.strip():
            raise self.error("the path is empty", 0)
        variable, depth = self._variable()
        steps: list[Step] = []
        first = variable is None
        while self.i < len(text):
            c = self.peek()
            if c == ".":
                self.i += 1
                if self.peek() == "@":
                    self.i += 1
                    steps.append(Key("@" + self._bare("an attribute name")))
                elif self.peek() == "$" and variable == "$parent" and text.startswith("$parent", self.i):
                    self.i += len("$parent")
                    if steps:
                        raise self.error("'$parent' can only follow '$parent'", self.i - 7)
                    depth += 1
                else:
                    steps.append(Key(self._key()))
            elif c == "[":
                steps.append(self._bracket())
            elif c == "@":
                self.i += 1
                steps.append(Key("@" + self._bare("an attribute name")))
            elif first:
                steps.append(Key(self._key()))
            else:
                raise self.error(f"unexpected {c!r}")
            first = False
        if variable == "$lookup":  # the answers travel with the record: $root."$lookup"...
            if not steps:
                raise self.error("$lookup needs a lookup's name, e.g. $lookup.position.onHand", len(text))
            return Path(text, "$root", (Key(LOOKUP_KEY), *steps), 0)
        if variable == "$steps":  # so do the earlier steps' answers: $root."$steps"...
            if not steps:
                raise self.error("$steps needs a step's name, e.g. $steps.create.answer.id", len(text))
            return Path(text, "$root", (Key(STEPS_KEY), *steps), 0)
        return Path(text, variable, tuple(steps), depth)

    def _variable(self) -> tuple[str | None, int]:
        text = self.text
        if not text.startswith("$"):
            return None, 0
        for var in VARIABLES:
            if text.startswith(var) and (len(text) == len(var) or text[len(var)] in ".[@"):
                self.i = len(var)
                return var, 1 if var == "$parent" else 0
        name = text.split(".", 1)[0]
        from engine.suggest import did_you_mean

        raise self.error(f"unknown variable {name!r}{did_you_mean(name, VARIABLES)}", 0)

    def _key(self) -> str:
        if self.peek() == '"':
            return self._quoted('"')
        return self._bare("a key")

    def _bare(self, what: str) -> str:
        start = self.i
        text = self.text
        while self.i < len(text) and text[self.i] not in _STOP:
            self.i += 1
        name = text[start : self.i].strip()
        if not name:
            raise self.error(f"expected {what}", start)
        return name

    def _quoted(self, quote: str) -> str:
        start = self.i
        self.i += 1
        out = []
        text = self.text
        while self.i < len(text):
            c = text[self.i]
            if c == "\\" and self.i + 1 < len(text):
                out.append(text[self.i + 1])
                self.i += 2
                continue
            if c == quote:
                self.i += 1
                return "".join(out)
            out.append(c)
            self.i += 1
        raise self.error(f"unterminated quote {quote}", start)

    def _bracket(self) -> Step:
        open_at = self.i
        self.i += 1
        text = self.text
        c = self.peek()
        if c in ("'", '"'):
            name = self._quoted(c)
            if self.peek() == "=":
                self.i += 1
                value_quote = self.peek()
                if value_quote in ("'", '"'):
                    value = self._quoted(value_quote)
                else:
                    end = self.text.find("]", self.i)
                    if end < 0:
                        raise self.error("expected ']'", len(self.text))
                    value = self.text[self.i : end].strip()
                    self.i = end
                self._close(open_at)
                return Filter(name.lstrip("@"), value)
            self._close(open_at)
            return Key(name)
        end = text.find("]", self.i)
        if end < 0:
            raise self.error("expected ']'", len(text))
        inner = text[self.i : end].strip()
        if inner == "*":
            self.i = end + 1
            return Wildcard()
        if "=" in inner:
            key, _, value = inner.partition("=")
            key, value = key.strip(), value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            if not key:
                raise self.error("expected a key before '='", self.i)
            self.i = end + 1
            return Filter(key.lstrip("@"), value)
        try:
            index = int(inner)
        except ValueError:
            raise self.error(
                f"expected an index, '*' or key=value inside [], got {inner!r}", self.i
            ) from None
        self.i = end + 1
        return Index(index)

    def _close(self, open_at: int) -> None:
        if self.peek() != "]":
            raise self.error("expected ']'", self.i)
        self.i += 1


def parse_path(text: str) -> Path:
    """Parse a path once, for evaluation with :func:`compile_getter`.

    Raises:
        PathSyntaxError: the text is not a path (or not text); the error points at the character.
    """
    if not isinstance(text, str):
        raise PathSyntaxError(str(text), 0, "a path must be a string")
    return _Parser(text).parse()


# --- evaluation ---------------------------------------------------------------


@dataclasses.dataclass
class Scope:
    """What a path can see besides the current record."""

    root: Any = None
    parents: tuple[Any, ...] = ()
    context: Any = None
    file: Any = None
    row: int | None = None


def unwrap_text(value: Any) -> Any:
    """An XML element with only text (and maybe attributes) read as a scalar."""
    if type(value) is dict and "#text" in value:
        return value["#text"]
    return value


def _step(value: Any, step: Step) -> Any:
    if value is None:
        return None
    if type(step) is Key:
        if isinstance(value, dict):
            got = value.get(step.name)
            if got is None and step.name == "#text":
                return None
            return got
        if step.name == "#text" and isinstance(value, str | int | float):
            return value
        return None
    if type(step) is Index:
        if isinstance(value, list):
            try:
                return value[step.index]
            except IndexError:
                return None
        if isinstance(value, dict) and step.index in (0, -1):
            return value  # one XML element where a list was expected
        return None
    if type(step) is Filter:
        items = value if isinstance(value, list) else [value]
        for item in items:
            if not isinstance(item, dict):
                continue
            got = item.get(step.key, item.get("@" + step.key))
            got = unwrap_text(got)
            if got is not None and str(got) == step.value:
                return item
        return None
    raise TypeError(step)


def walk(value: Any, steps: tuple[Step, ...]) -> Any:
    """The value reached by taking ``steps`` from ``value``; None when they lead nowhere."""
    for n, step in enumerate(steps):
        if type(step) is Wildcard:
            if value is None:
                return None
            items = value if isinstance(value, list) else [value]
            rest = steps[n + 1 :]
            out = []
            for item in items:
                got = walk(item, rest)
                if got is None:
                    continue
                if isinstance(got, list) and any(type(s) is Wildcard for s in rest):
                    out.extend(got)
                else:
                    out.append(got)
            return out
        value = _step(value, step)
    return value


Getter = Callable[[Any, Scope], Any]


def compile_getter(path: Path) -> Getter:
    """A function ``(record, scope) -> value`` (``None`` when missing)."""
    steps = path.steps
    text = path.text
    literal = path.variable is None and (len(steps) > 1 or path.projects)

    if path.variable is None:
        if len(steps) == 1 and type(steps[0]) is Key:
            key = steps[0].name

            def get_key(record: Any, scope: Scope) -> Any:
                return record.get(key) if isinstance(record, dict) else None

            return get_key

        def get(record: Any, scope: Scope) -> Any:
            if literal and isinstance(record, dict) and text in record:
                return record[text]
            return walk(record, steps)

        return get
    var = path.variable
    if var == "$row":
        return lambda record, scope: scope.row
    if var == "$record":
        return lambda record, scope: walk(record, steps)
    if var == "$root":
        return lambda record, scope: walk(scope.root, steps)
    if var == "$context":
        return lambda record, scope: walk(scope.context, steps)
    if var == "$file":
        return lambda record, scope: walk(scope.file, steps)
    depth = path.parent_depth

    def get_parent(record: Any, scope: Scope) -> Any:
        if depth > len(scope.parents):
            return None
        return walk(scope.parents[-depth], steps)

    return get_parent


def evaluate(text: str, record: Any, scope: Scope | None = None) -> Any:
    """Parse and evaluate in one go (for tools and tests, not hot paths)."""
    return compile_getter(parse_path(text))(record, scope or Scope(root=record))
