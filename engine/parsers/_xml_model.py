"""The element → value model shared by the XML parser and its tests.

One rule set, applied the same way at every depth, so a mapping written
against one file works on the next: the SDK's parser changes shape with the
data (one child is an object, two are an array) and turns ``0050`` into 50;
this one does neither. See docs/formats.md for the table of examples.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


class Namer:
    """Element and attribute names without namespaces, or with a mapped prefix.

    lxml spells a namespaced name ``{uri}local``; the result is ``local``, or
    ``prefix:local`` when ``namespaces`` maps ``prefix`` to ``uri``. Results
    are cached: documents repeat a handful of names millions of times.
    """

    def __init__(self, namespaces: Mapping[str, str]) -> None:
        self.prefixes = {uri: prefix for prefix, uri in namespaces.items()}
        self.cache: dict[str, str] = {}

    def name(self, tag: str) -> str:
        got = self.cache.get(tag)
        if got is not None:
            return got
        if tag[:1] == "{":
            uri, _, local = tag[1:].partition("}")
            prefix = self.prefixes.get(uri)
            got = f"{prefix}:{local}" if prefix else local
        else:
            got = tag
        if len(self.cache) > 10000:  # a hostile document with endless distinct names
            self.cache.clear()
        self.cache[tag] = got
        return got


def element_value(el: Any, name_of: Callable[[str], str], force_list: frozenset[str]) -> Any:
    """The value of an lxml element: a string, None, or a dict (see the module docstring)."""
    attrib = el.attrib
    out: dict[str, Any] | None = None
    if attrib:
        out = {"@" + name_of(k): v for k, v in attrib.items()}
    if len(el):
        if out is None:
            out = {}
        texts = [el.text] if el.text else []
        for child in el:
            tag = child.tag
            if type(tag) is not str:  # comments and processing instructions are removed; be safe
                continue
            key = name_of(tag)
            value = element_value(child, name_of, force_list)
            if key in out:
                existing = out[key]
                if type(existing) is list:
                    existing.append(value)
                else:
                    out[key] = [existing, value]
            else:
                out[key] = [value] if key in force_list else value
            if child.tail:
                texts.append(child.tail)
        if texts:
            text = "".join(texts).strip()
            if text:
                out["#text"] = text
        return out
    text = el.text
    if out is None:
        return text
    if text:
        out["#text"] = text
    return out
