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


class TooDeep(Exception):
    """An element nested deeper than allowed; ``depth`` is how deep it was."""


def _attribute_name(cache: dict[str, str], raw: str, name: Callable[[str], str]) -> str:
    """``@name`` of an attribute not in ``cache`` yet, now cached (emptied past 10,000 names)."""
    if len(cache) > 10000:  # endless distinct names: keep the cache bounded
        cache.clear()
    got = cache[raw] = "@" + name(raw)
    return got


def _element_name(cache: dict[Any, str], tag: Any, name: Callable[[str], str]) -> str | None:
    """Name of an element tag not in ``cache`` yet, now cached; None for comments and PIs."""
    if type(tag) is not str:  # comments and processing instructions are removed; be safe
        return None
    if len(cache) > 10000:
        cache.clear()
    got = cache[tag] = name(tag)
    return got


#: from this many attributes on, read them through XPath (linear) instead of ``items()``
_MANY_ATTRIBUTES = 100


def _attribute_pairs(el: Any) -> list[tuple[str, str]]:
    """``el.items()`` in linear time.

    lxml finds each attribute's value by searching the element's attributes
    by name, so ``items()`` costs time quadratic in their number (200,000
    attributes: three minutes); XPath walks them once.
    """
    return [(a.attrname, str(a)) for a in el.xpath("@*")]


def converter(namer: Namer, force_list: frozenset[str], max_depth: int) -> Callable[[Any, int], Any]:
    """``value(el, depth)``: the value of an lxml element (see the module docstring).

    Names are looked up in local caches (an attribute and an element may
    share a name, so they have one each): this function runs for every
    element of every record and its speed is the parser's. Hence one flat
    function where a cached name costs one lookup; only a cache miss calls
    out (once per distinct name).
    """
    tags: dict[Any, str] = {}
    attributes: dict[str, str] = {}
    name = namer.name

    def value(el: Any, depth: int) -> Any:
        if depth > max_depth:
            raise TooDeep(depth)
        names = el.keys()  # linear, unlike items(); empty for most elements
        pairs = () if not names else el.items() if len(names) < _MANY_ATTRIBUTES else _attribute_pairs(el)
        text = el.text
        children = len(el)
        if not children and not pairs:
            return text
        out: dict[str, Any] = {}
        for k, v in pairs:
            out[attributes.get(k) or _attribute_name(attributes, k, name)] = v
        if not children:
            if text:
                out["#text"] = text
            return out
        texts = [text] if text else None
        for child in el:
            tag = child.tag
            key = tags.get(tag) or _element_name(tags, tag, name)
            if key is None:
                continue
            got = value(child, depth + 1)
            if key in out:
                existing = out[key]
                if type(existing) is list:
                    existing.append(got)
                else:
                    out[key] = [existing, got]
            else:
                out[key] = [got] if key in force_list else got
            tail = child.tail
            if tail:
                if texts is None:
                    texts = [tail]
                else:
                    texts.append(tail)
        if texts:
            joined = "".join(texts).strip()
            if joined:
                out["#text"] = joined
        return out

    return value
