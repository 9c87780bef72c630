"""``template``: text with ``{path}`` holes, compiled once into literal pieces and path getters.

Each record then costs one join.
"""

from __future__ import annotations

from typing import Any

from engine.contracts import ResolverFunction
from engine.errors import DataError
from engine.mapping.paths import parse_path
from engine.mapping.resolvers._common import as_text, bad_args, is_blank

#: stands for the field's own value: ``{}`` in a template
_VALUE = object()


def parse_template(template: str) -> list[Any]:
    """Literal strings and ``(path_text, getter)`` pairs, in order."""
    pieces: list[Any] = []
    literal: list[str] = []
    i, n = 0, len(template)
    while i < n:
        c = template[i]
        if c in "{}" and template.startswith(c * 2, i):
            literal.append(c)
            i += 2
            continue
        if c == "}":
            raise bad_args(
                f"single '}}' at character {i + 1} of template {template!r} (write '}}}}' for a brace)"
            )
        if c != "{":
            literal.append(c)
            i += 1
            continue
        end = template.find("}", i + 1)
        if end < 0:
            raise bad_args(f"'{{' at character {i + 1} of template {template!r} is never closed")
        if literal:
            pieces.append("".join(literal))
            literal = []
        text = template[i + 1 : end].strip()
        if text:
            parse_path(text)  # a malformed path is a compile-time error
        pieces.append((text, text if text else _VALUE))
        i = end + 1
    if literal:
        pieces.append("".join(literal))
    return pieces


def compile_template(template: str, *, empty_when_missing: bool) -> ResolverFunction:
    """A resolver function given the values of the template's paths (its ``reads``), in order."""
    pieces = parse_template(template)
    reads = tuple(p[1] for p in pieces if type(p) is not str and p[1] is not _VALUE)
    if all(type(p) is str for p in pieces):
        constant = "".join(pieces)

        def const(value: Any) -> str:
            return constant

        return ResolverFunction(const, reads=())

    def fn(value: Any, *values: Any) -> str:
        out = []
        k = 0
        for piece in pieces:
            if type(piece) is str:
                out.append(piece)
                continue
            path, ref = piece
            if ref is _VALUE:
                got = value
            else:
                got = values[k]
                k += 1
            if is_blank(got):
                if empty_when_missing:
                    continue
                raise DataError(
                    f"template field {'{' + path + '}'} is missing"
                    if path
                    else "template field {} (the value itself) is missing"
                )
            out.append(got if type(got) is str else as_text(got))
        return "".join(out)

    return ResolverFunction(fn, reads=reads)
