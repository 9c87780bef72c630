"""Compile a mapping's steps into one plain Python function per block.

The generated code reads columns by index (row form) or keys (dict form),
calls each resolver directly, and builds the output dict with a literal. It
never interprets the spec per record. Each step of :mod:`engine.mapping.steps`
becomes a line or two here; errors take the slow path: the generated code
only notes which field failed and calls the function bound to
:data:`EXPLAIN`, which runs that field's steps one at a time to say what
went wrong.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence
from typing import Any

from engine.mapping.paths import Key, Path, unwrap_text, walk
from engine.mapping.steps import (
    Check,
    Default,
    Each,
    Field,
    Nest,
    Nested,
    NotAnObject,
    ReadExpr,
    ReadNothing,
    ReadSource,
    ReadValue,
    Require,
    Resolve,
    Step,
    When,
    as_items,
    check_value,
    needs_whole_record,
    paths_read,
    truthy,
)

#: the name generated code calls on its slow path: ``(fields, errors, rec, row, root, parents, ctx, file) -> issues``
EXPLAIN = "_explain"

_EXPRESSION_DATA = (
    "{'record': recd, 'root': root, 'parent': parents[-1] if parents else None, "
    "'context': ctx, 'file': file, 'row': row, "
    "'lookup': root.get('$lookup') if type(root) is dict else None, "
    "'steps': root.get('$steps') if type(root) is dict else None}"
)


class Required(Exception):
    """Raised by generated code when a ``required`` field came out missing."""


def _not_object(record: Any) -> Any:
    raise NotAnObject(record)


def _checker(checks: Any) -> Any:
    def check(value: Any) -> None:
        problem = check_value(checks, value)
        if problem:
            raise ValueError(problem)

    return check


class Generator:
    """Builds the source of a mapping's functions and their namespace."""

    def __init__(self, columns: tuple[str, ...] | None, text_rows: bool = False) -> None:
        self.columns = columns
        #: row values are str or None (CSV): text forms need no type check
        self.text_rows = text_rows and columns is not None
        self.col_index = {c: i for i, c in enumerate(columns)} if columns is not None else None
        self.ns: dict[str, Any] = {
            "_walk": walk,
            "_unwrap": unwrap_text,
            "_truthy": truthy,
            "_as_items": as_items,
            "_not_object": _not_object,
            "Nested": Nested,
            "Required": Required,
            "_deepcopy": copy.deepcopy,
        }
        self.counter = itertools.count()
        self.blocks: list[str] = []

    def name(self, prefix: str, obj: Any) -> str:
        """Put ``obj`` in the generated code's namespace under a fresh name (``prefix`` + a number) and return it."""
        n = f"{prefix}{next(self.counter)}"
        self.ns[n] = obj
        return n

    # -- entry points ---------------------------------------------------------

    def top(self, fields: Sequence[Field]) -> str:
        """Source of ``_chunk(records, positions, ctx, file, out, idx, rejects)``."""
        row_mode = self.columns is not None
        fspecs = self.name("F", tuple(fields))
        body: list[str] = []
        hoisted: list[str] = []
        cols = self.name("C", self.columns) if row_mode else None
        body.append("for i in range(len(records)):")
        body.append("    rec = records[i]")
        body.append("    row = positions[i]")
        if row_mode and any(self._needs_record(f) for f in fields):
            body.append(f"    recd = dict(zip({cols}, rec))")
        elif row_mode:
            body.append("    recd = None")
        else:
            body.append("    recd = rec")
        body.append("    root = recd")
        body.append("    parents = ()")
        body.append("    E = None")
        field_vars = self._fields(fields, body, hoisted, indent="    ")
        body.append("    if E is not None:")
        view = f"dict(zip({cols}, rec))" if row_mode else "rec"
        body.append(
            f"        rejects.append((i, {EXPLAIN}({fspecs}, E, {view}, row, {view} if root is None else root, parents, ctx, file)))"
        )
        body.append("        continue")
        body.extend(self._assemble(fields, field_vars, "    "))
        body.append("    out.append(o)")
        body.append("    idx.append(i)")
        src = ["def _chunk(records, positions, ctx, file, out, idx, rejects):"]
        src += ["    " + h for h in hoisted]
        src += ["    " + b for b in body]
        return "\n".join(self.blocks + src) + "\n"

    def block(self, fields: Sequence[Field]) -> str:
        """Name of a nested block function ``(rec, row, root, parents, ctx, file) -> (obj, issues)``."""
        fname = f"_block{next(self.counter)}"
        fspecs = self.name("F", tuple(fields))
        body: list[str] = ["recd = rec", "E = None"]
        hoisted: list[str] = []
        saved = self.columns, self.col_index, self.text_rows
        self.columns = self.col_index = None  # nested records are dicts (or an each's items)
        self.text_rows = False
        field_vars = self._fields(fields, body, hoisted, indent="")
        self.columns, self.col_index, self.text_rows = saved
        body.append("if E is not None:")
        body.append(f"    return None, {EXPLAIN}({fspecs}, E, rec, row, root, parents, ctx, file)")
        body.extend(self._assemble(fields, field_vars, ""))
        body.append("return o, None")
        lines = [f"def {fname}(rec, row, root, parents, ctx, file):"]
        lines += ["    " + h for h in hoisted]
        lines += ["    " + b for b in body]
        self.blocks.append("\n".join(lines) + "\n")
        return fname

    def _needs_record(self, f: Field) -> bool:
        """Whether row-form code must build the record as a dict for ``f``."""
        if needs_whole_record(f):
            return True
        # a path that starts by indexing the record itself ([0], [*]) reads the dict, not a column
        return any(p.variable is None and type(p.steps[0]) is not Key for p in paths_read(f) if p.steps)

    # -- fields -----------------------------------------------------------------

    def _fields(self, fields: Sequence[Field], body: list[str], hoisted: list[str], indent: str) -> list[str]:
        names = []
        for n, f in enumerate(fields):
            var = f"v_{n}"
            names.append(var)
            inner: list[str] = []
            self._field(f, var, inner, hoisted)
            body.append(f"{indent}try:")
            body.extend(f"{indent}    {line}" for line in inner)
            body.append(f"{indent}except Exception as e:")
            body.append(f"{indent}    E = (E or []) + [({n}, e)]")
            body.append(f"{indent}    {var} = None")
        return names

    def _field(self, f: Field, v: str, out: list[str], hoisted: list[str]) -> None:
        """Lines computing field ``f`` into ``v``: one or two per step, in the steps' order."""
        steps = list(f.steps)
        if steps and isinstance(steps[0], When):
            when = steps.pop(0)
            assert isinstance(when, When)
            rest: list[str] = []
            self._steps(steps, v, rest, hoisted)
            out.append(f"if not _truthy({self.name('W', when.expr)}.search({_EXPRESSION_DATA})):")
            out.append(f"    {v} = None")
            out.append("else:")
            out.extend("    " + line for line in rest)
            return
        self._steps(steps, v, out, hoisted)

    def _steps(self, steps: list[Step], v: str, out: list[str], hoisted: list[str]) -> None:
        #: whether ``v`` is known to hold a str or None (a column of text rows, after text forms)
        text = False
        while steps:
            step = steps.pop(0)
            if isinstance(step, ReadSource):
                getter, text = self._get(step.path, hoisted)
                out.append(f"{v} = {getter}")
                if not text:  # an XML element holding text reads as its text
                    out.append(f"if type({v}) is dict: {v} = _unwrap({v})")
            elif isinstance(step, ReadValue):
                out.append(f"{v} = {self._const(step.value)}")
            elif isinstance(step, ReadExpr):
                out.append(f"{v} = {self.name('X', step.expr)}.search({_EXPRESSION_DATA})")
            elif isinstance(step, ReadNothing):
                out.append(f"{v} = None")
            elif isinstance(step, Nest | Each):
                self._nested(step, v, out, hoisted)
            elif isinstance(step, Default):
                out.append(f"if {v} is None or {v} == '': {v} = {self._const(step.value)}")
                text = text and isinstance(step.value, str)
            elif isinstance(step, Resolve):
                text = self._resolve(step, steps, v, text, out, hoisted)
            elif isinstance(step, Require):
                empty = "[]" if step.block else "''"
                out.append(f"if {v} is None or {v} == {empty}: raise Required()")
            elif isinstance(step, Check):
                out.append(f"if {v} is not None: {self.name('CHK', _checker(step.checks))}({v})")

    def _resolve(
        self, step: Resolve, following: list[Step], v: str, text: bool, out: list[str], hoisted: list[str]
    ) -> bool:
        """Lines applying one resolver (and the text forms right after it, when ``v`` is text).

        Returns whether ``v`` is still known to be text.
        """
        if step.text_form is not None and text and not step.accepts_missing:
            call = f"{self.name('M', step.text_form)}({v})"
            while following and _chains(following[0]):
                nxt = following.pop(0)
                assert isinstance(nxt, Resolve) and nxt.text_form is not None
                call = f"{self.name('M', nxt.text_form)}({call})"
            out.append(f"if {v} is not None: {v} = {call}")
            return True
        fn = self.name("R", step.fn)
        if step.reads is not None:
            values = ", ".join(self._get(p, hoisted)[0] for p in step.reads)
            call = f"{fn}({v}, {values})" if values else f"{fn}({v})"
        elif step.needs_record:
            call = f"{fn}({v}, recd, ctx)"
        elif step.text_form is not None:
            call = f"({self.name('M', step.text_form)}({v}) if type({v}) is str else {fn}({v}))"
        else:
            call = f"{fn}({v})"
        out.append(f"{v} = {call}" if step.accepts_missing else f"if {v} is not None: {v} = {call}")
        return False

    def _const(self, value: Any) -> str:
        if isinstance(value, dict | list):
            return f"_deepcopy({self.name('K', value)})"
        return self.name("K", value)

    def _get(self, path: Path, hoisted: list[str]) -> tuple[str, bool]:
        """An expression reading ``path`` (by column index in row form), and whether it gives text or None."""
        if path.variable is None:
            if self.col_index is not None:
                return self._get_column(path)
            key = path.simple_key
            if key is not None:
                return f"rec.get({key!r})", False  # a record that is not an object has no .get: it fails
            steps = self.name("S", path.steps)
            if len(path.steps) > 1 or path.projects:
                text = self.name("T", path.text)
                found = f"(rec[{text}] if {text} in rec else _walk(rec, {steps}))"
            else:
                found = f"_walk(rec, {steps})"
            return f"({found} if isinstance(rec, dict) else _not_object(rec))", False
        steps = self.name("S", path.steps)
        var = path.variable
        if var in ("$context", "$file"):
            name = f"c_{next(self.counter)}"
            hoisted.append(f"{name} = _walk({'ctx' if var == '$context' else 'file'}, {steps})")
            return name, False
        if var == "$row":
            return "row", False
        if var == "$root":
            return f"_walk(root, {steps})", False
        if var == "$record":
            return f"_walk(recd, {steps})", False
        depth = path.parent_depth
        return f"(_walk(parents[-{depth}], {steps}) if len(parents) >= {depth} else None)", False

    def _get_column(self, path: Path) -> tuple[str, bool]:
        """A path read from a flat row: as the dict of the row would read it, but by column index."""
        assert self.col_index is not None
        literal = self.col_index.get(path.text) if len(path.steps) > 1 or path.projects else None
        if literal is not None:
            return f"rec[{literal}]", self.text_rows
        first = path.steps[0]
        if type(first) is not Key:
            return f"_walk(recd, {self.name('S', path.steps)})", False
        idx = self.col_index.get(first.name)
        if idx is None:
            return "None", self.text_rows
        if len(path.steps) == 1:
            return f"rec[{idx}]", self.text_rows
        return f"_walk(rec[{idx}], {self.name('S', path.steps[1:])})", False

    def _nested(self, step: Nest | Each, v: str, out: list[str], hoisted: list[str]) -> None:
        fn = self.block(step.fields)
        getter = self._get(step.path, hoisted)[0] if step.path is not None else "recd"
        parents = "parents + (recd,)" if step.path is not None else "parents"
        out.append(f"sub = {getter}")
        for decode in step.decode:  # a payload held in a field, decoded before its fields read inside
            self._resolve(decode, [], "sub", False, out, hoisted)
        if isinstance(step, Each):
            out.append("items = _as_items(sub)")
            out.append("if items is None:")
            out.append(f"    {v} = None")
            out.append("else:")
            out.append(f"    {v} = []")
            out.append("    for j, item in enumerate(items):")
            out.append(f"        o2, issues = {fn}(item, row, root, {parents}, ctx, file)")
            out.append("        if issues: raise Nested([(j, issues)])")
            out.append(f"        {v}.append(o2)")
            return
        out.append("if sub is None:")
        out.append(f"    {v} = None")
        out.append("else:")
        # like the SDK: paths relative to something that is not an object find nothing
        out.append("    if type(sub) is not dict: sub = {}")
        out.append(f"    {v}, issues = {fn}(sub, row, root, {parents}, ctx, file)")
        out.append("    if issues: raise Nested([(None, issues)])")
        out.append(f"    if not {v}: {v} = None")

    # -- output -----------------------------------------------------------------

    def _assemble(self, fields: Sequence[Field], names: list[str], indent: str) -> list[str]:
        tree: dict[str, Any] = {}
        for f, var in zip(fields, names, strict=True):
            node = tree
            for part in f.target[:-1]:
                node = node.setdefault(part, {})
            node[f.target[-1]] = (var, f)

        def literal(node: dict[str, Any]) -> str:
            items = []
            for key, val in node.items():
                items.append(f"{key!r}: {val[0] if isinstance(val, tuple) else literal(val)}")
            return "{" + ", ".join(items) + "}"

        lines = [f"{indent}o = {literal(tree)}"]
        counter = itertools.count()

        def prune(node: dict[str, Any], holder: str) -> None:
            for key, val in node.items():
                if isinstance(val, tuple):
                    var, f = val
                    if not f.always_present:
                        lines.append(f"{indent}if {var} is None: del {holder}[{key!r}]")
                else:
                    sub = f"t{next(counter)}"
                    lines.append(f"{indent}{sub} = {holder}[{key!r}]")
                    prune(val, sub)
                    lines.append(f"{indent}if not {sub}: del {holder}[{key!r}]")

        prune(tree, "o")
        return lines


def _chains(step: Step) -> bool:
    """Whether ``step`` can be chained as a text form after another (text in, text out, no missing)."""
    return isinstance(step, Resolve) and step.text_form is not None and not step.accepts_missing
