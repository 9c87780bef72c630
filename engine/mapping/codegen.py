"""Generate one plain Python function per mapping block.

The generated code reads columns by index (row form) or keys (dict form),
calls each resolver directly, and builds the output dict with a literal. It
never interprets the spec per record. Errors take a slow path: the generated
code only notes which field failed, and :mod:`engine.mapping.explain` replays
that field step by step to say exactly what went wrong.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from engine.mapping.model import FieldSpec
from engine.mapping.paths import Key, Path, _walk, parse_path, unwrap_text

_SENTINEL_NONE = (None, "")


class Nested(Exception):
    """Issues raised by a nested block, already explained."""

    def __init__(self, issues: list) -> None:
        super().__init__("nested")
        self.issues = issues


class Required(Exception):
    """Raised by generated code when a ``required`` field came out missing or empty."""


def _truthy(value: Any) -> bool:
    # JMESPath truthiness: empty list/object/string, false and null are false
    return value not in (None, False, "", [], {})


def _as_items(value: Any) -> list | None:
    """The list an ``each`` iterates (SDK-compatible shapes accepted)."""
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


class Generator:
    """Builds the source of a mapping's functions and their namespace."""

    def __init__(self, columns: tuple[str, ...] | None, text_rows: bool = False) -> None:
        self.columns = columns
        #: row values are str or None (CSV): text methods need no type check
        self.text_rows = text_rows and columns is not None
        self.col_index = {c: i for i, c in enumerate(columns)} if columns is not None else None
        self.ns: dict[str, Any] = {
            "_walk": _walk,
            "_unwrap": unwrap_text,
            "_truthy": _truthy,
            "_as_items": _as_items,
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

    def top(self, fields: list[FieldSpec], explain_name: str) -> str:
        """Source of ``_chunk(records, positions, ctx, file, out, idx, rejects)``."""
        row_mode = self.columns is not None
        needs_dict = any(f.needs_record_dict for f in fields)
        fspecs = self.name("F", fields)
        body: list[str] = []
        hoisted: list[str] = []
        cols = self.name("C", self.columns) if row_mode else None
        body.append("for i in range(len(records)):")
        body.append("    rec = records[i]")
        body.append("    row = positions[i]")
        if row_mode and needs_dict:
            body.append(f"    recd = dict(zip({cols}, rec))")
        elif row_mode:
            body.append("    recd = None")
        else:
            body.append("    recd = rec")
        body.append("    root = recd")
        body.append("    parents = ()")
        body.append("    E = None")
        field_vars = self._fields(fields, body, hoisted, indent="    ", top=True)
        body.append("    if E is not None:")
        view = f"dict(zip({cols}, rec))" if row_mode else "rec"
        body.append(
            f"        rejects.append((i, {explain_name}({fspecs}, E, {view}, row, {view} if root is None else root, parents, ctx, file)))"
        )
        body.append("        continue")
        body.extend(self._assemble(fields, field_vars, "    "))
        body.append("    out.append(o)")
        body.append("    idx.append(i)")
        src = ["def _chunk(records, positions, ctx, file, out, idx, rejects):"]
        src += ["    " + h for h in hoisted]
        src += ["    " + b for b in body]
        return "\n".join(self.blocks + src) + "\n"

    def block(self, fields: list[FieldSpec], explain_name: str) -> str:
        """Name of a nested block function ``(rec, row, root, parents, ctx, file) -> (obj, issues)``."""
        fname = f"_block{next(self.counter)}"
        fspecs = self.name("F", fields)
        body: list[str] = ["recd = rec", "E = None"]
        hoisted: list[str] = []
        saved = self.columns, self.col_index, self.text_rows
        self.columns = self.col_index = None  # nested records are always dicts
        self.text_rows = False
        field_vars = self._fields(fields, body, hoisted, indent="", top=False)
        self.columns, self.col_index, self.text_rows = saved
        body.append("if E is not None:")
        body.append(f"    return None, {explain_name}({fspecs}, E, rec, row, root, parents, ctx, file)")
        body.extend(self._assemble(fields, field_vars, ""))
        body.append("return o, None")
        lines = [f"def {fname}(rec, row, root, parents, ctx, file):"]
        lines += ["    " + h for h in hoisted]
        lines += ["    " + b for b in body]
        self.blocks.append("\n".join(lines) + "\n")
        return fname

    # -- fields -----------------------------------------------------------------

    def _fields(
        self, fields: list[FieldSpec], body: list[str], hoisted: list[str], indent: str, top: bool
    ) -> list[str]:
        names = []
        for n, f in enumerate(fields):
            var = f"v_{n}"
            names.append(var)
            inner: list[str] = []
            self._field(f, n, var, inner, hoisted)
            body.append(f"{indent}try:")
            body.extend(f"{indent}    {line}" for line in inner)
            body.append(f"{indent}except Exception as e:")
            body.append(f"{indent}    E = (E or []) + [({n}, e)]")
            body.append(f"{indent}    {var} = None")
        return names

    def _field(self, f: FieldSpec, n: int, var: str, out: list[str], hoisted: list[str]) -> None:
        lines: list[str] = []
        if f.when is not None:
            out.append(f"if not _truthy({self.name('W', f.when)}.search({self._jdata()})):")
            out.append(f"    {var} = None")
            out.append("else:")
            target = lines
        else:
            target = out
        if f.kind == "fields":
            self._nested(f, var, target, hoisted, each=False)
        elif f.kind == "each":
            self._nested(f, var, target, hoisted, each=True)
        else:
            self._scalar(f, var, target, hoisted)
        if f.when is not None:
            out.extend("    " + line for line in lines)

    def _jdata(self) -> str:
        return (
            "{'record': recd, 'root': root, 'parent': parents[-1] if parents else None, "
            "'context': ctx, 'file': file, 'row': row, "
            "'lookup': root.get('$lookup') if type(root) is dict else None}"
        )

    def _scalar(self, f: FieldSpec, var: str, out: list[str], hoisted: list[str]) -> None:
        """Lines computing a value field into ``var``: its start, default, resolvers, then checks."""
        v = var
        #: the value is known to be a str or None (text rows, after text methods)
        text = self._start(f, v, out, hoisted)
        if f.has_default:
            out.append(f"if {v} is None or {v} == '': {v} = {self._const(f.default)}")
            text = text and isinstance(f.default, str)
        self._steps(f, v, text, out, hoisted)
        if f.required:
            out.append(f"if {v} is None or {v} == '': raise Required()")
        if f.checks:
            check = self.name("CHK", _make_checker(f.checks))
            out.append(f"if {v} is not None: {check}({v})")

    def _start(self, f: FieldSpec, v: str, out: list[str], hoisted: list[str]) -> bool:
        """Lines giving ``v`` its first value (constant, expression, source or None).

        Returns whether that value is known to be a str or None (a column of text rows).
        """
        text = False
        if f.kind == "value":
            value = f.value
            if isinstance(value, dict | list):
                out.append(f"{v} = _deepcopy({self.name('K', value)})")
            else:
                out.append(f"{v} = {self.name('K', value)}")
        elif f.kind == "expr":
            out.append(f"{v} = {self.name('X', f.expr)}.search({self._jdata()})")
        elif f.kind == "source":
            assert f.source is not None
            out.append(f"{v} = {self._get(f.source, hoisted)}")
            if self.columns is None:
                out.append(f"if type({v}) is dict: {v} = _unwrap({v})")
            text = self.text_rows and f.source.variable is None
        else:
            out.append(f"{v} = None")
        return text

    def _steps(self, f: FieldSpec, v: str, text: bool, out: list[str], hoisted: list[str]) -> None:
        """Lines applying the field's resolvers to ``v`` in order; a missing value skips those that do not accept it.

        While ``text`` holds (the value is a str or None), consecutive str methods are chained under one guard.
        """
        steps = list(f.resolvers)
        while steps:
            step = steps.pop(0)
            fn = self.name("R", step.fn)
            reads = getattr(step.fn, "reads", None)
            method = getattr(step.fn, "str_method", None)
            if method is not None and text:
                # text in, text out: chain the str methods under one guard
                call = f"{self.name('M', method)}({v})"
                while steps and getattr(steps[0].fn, "str_method", None) is not None:
                    following: Any = steps.pop(0).fn
                    call = f"{self.name('M', following.str_method)}({call})"
                out.append(f"if {v} is not None: {v} = {call}")
                continue
            if reads is not None:
                values = ", ".join(self._get(parse_path(p), hoisted) for p in reads)
                call = f"{fn}({v}, {values})" if values else f"{fn}({v})"
            elif step.needs_record:
                call = f"{fn}({v}, recd, ctx)"
            elif method is not None:
                call = f"({self.name('M', method)}({v}) if type({v}) is str else {fn}({v}))"
            else:
                call = f"{fn}({v})"
            text = method is not None and text
            if step.accepts_missing:
                out.append(f"{v} = {call}")
            else:
                out.append(f"if {v} is not None: {v} = {call}")

    def _const(self, value: Any) -> str:
        if isinstance(value, dict | list):
            return f"_deepcopy({self.name('K', value)})"
        return self.name("K", value)

    def _get(self, path: Path, hoisted: list[str]) -> str:
        """An expression reading ``path`` (by column index in row form)."""
        if path.variable is None:
            if self.col_index is not None:
                idx = self.col_index.get(path.text)
                if idx is None and path.simple_key is not None:
                    idx = self.col_index.get(path.simple_key)
                return f"rec[{idx}]" if idx is not None else "None"
            key = path.simple_key
            if key is not None:
                return f"rec.get({key!r})"
            steps = self.name("S", path.steps)
            text = self.name("T", path.text)
            if len(path.steps) > 1 or path.projects:
                return f"(rec[{text}] if {text} in rec else _walk(rec, {steps}))"
            return f"_walk(rec, {steps})"
        steps = self.name("S", path.steps)
        var = path.variable
        if var in ("$context", "$file"):
            name = f"c_{next(self.counter)}"
            hoisted.append(f"{name} = _walk({'ctx' if var == '$context' else 'file'}, {steps})")
            return name
        if var == "$row":
            return "row"
        if var == "$root":
            return f"_walk(root, {steps})"
        if var == "$record":
            return f"_walk(recd, {steps})"
        depth = path.parent_depth
        return f"(_walk(parents[-{depth}], {steps}) if len(parents) >= {depth} else None)"

    def _nested(self, f: FieldSpec, var: str, out: list[str], hoisted: list[str], each: bool) -> None:
        from engine.mapping.explain import EXPLAIN_NAME

        fn = self.block(f.fields, EXPLAIN_NAME)
        getter = self._get(f.source, hoisted) if f.source is not None else "recd"
        if each:
            out.append(f"items = _as_items({getter})")
            out.append("if items is None:")
            out.append("    v = None")
            out.append("else:")
            out.append("    v = []")
            out.append("    for j, item in enumerate(items):")
            out.append(f"        o2, issues = {fn}(item, row, root, parents + (recd,), ctx, file)")
            out.append("        if issues: raise Nested([(j, issues)])")
            out.append("        v.append(o2)")
        else:
            out.append(f"sub = {getter}")
            out.append("if sub is None:")
            out.append("    v = None")
            out.append("else:")
            # like the SDK: paths relative to something that is not an object find nothing
            out.append("    if type(sub) is not dict: sub = {}")
            out.append("    parents2 = parents + (recd,) if sub is not recd else parents")
            out.append(f"    v, issues = {fn}(sub, row, root, parents2, ctx, file)")
            out.append("    if issues: raise Nested([(None, issues)])")
            out.append("    if not v: v = None")
        if f.required:
            out.append("if v is None or v == []: raise Required()")
        out.append(f"{var} = v")

    # -- output -----------------------------------------------------------------

    def _assemble(self, fields: list[FieldSpec], names: list[str], indent: str) -> list[str]:
        tree: dict[str, Any] = {}
        for f, var in zip(fields, names, strict=True):
            node = tree
            for part in f.target[:-1]:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    break
            node[f.target[-1]] = (var, f)

        def literal(node: dict) -> str:
            items = []
            for key, val in node.items():
                if isinstance(val, tuple):
                    items.append(f"{key!r}: {val[0]}")
                else:
                    items.append(f"{key!r}: {literal(val)}")
            return "{" + ", ".join(items) + "}"

        lines = [f"{indent}o = {literal(tree)}"]
        counter = itertools.count()

        def prune(node: dict, holder: str) -> None:
            for key, val in node.items():
                if isinstance(val, tuple):
                    var, f = val
                    if not _never_none(f):
                        lines.append(f"{indent}if {var} is None: del {holder}[{key!r}]")
                else:
                    sub = f"t{next(counter)}"
                    lines.append(f"{indent}{sub} = {holder}[{key!r}]")
                    prune(val, sub)
                    lines.append(f"{indent}if not {sub}: del {holder}[{key!r}]")

        prune(tree, "o")
        return lines


def _never_none(f: FieldSpec) -> bool:
    if f.when is not None:
        return False
    if f.required:
        return True
    return f.kind == "value" and f.value is not None and not f.resolvers and not f.checks


def _make_checker(checks: dict[str, Any]):
    from engine.mapping.explain import check_value

    def checker(value: Any) -> None:
        problem = check_value(checks, value)
        if problem:
            raise ValueError(problem)

    return checker


__all__ = ["Generator", "Key", "Nested", "Required"]
