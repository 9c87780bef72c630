"""Plugin registries: values built from one list of built-ins plus entry points.

No directory scanning and no registration by import side effect.

Built-ins are named in :mod:`engine.plugins` with their import path, so a
plugin module (and its heavy library) is imported only when a spec uses it or
when a command lists schemas. Third-party plugins come through the entry
point groups ``engine.plugins`` (a plugin class; its ``kind`` and ``name``
say where it goes) and ``engine.resolvers`` (a resolver or a function).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections.abc import Iterable, Iterator
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from engine.contracts import Resolver
from engine.errors import PluginError
from engine.suggest import did_you_mean

KINDS = (
    "connections",
    "sources",
    "parsers",
    "resolvers",
    "targets",
    "writers",
    "destinations",
    "state_stores",
    "executors",
    "lookups",
)

PLUGIN_GROUP = "engine.plugins"
RESOLVER_GROUP = "engine.resolvers"


@dataclasses.dataclass
class Entry:
    """One registered plugin, loaded on first use so unused plugins cost no import."""

    kind: str
    name: str
    ref: str  # "module:attr" (or a loaded object for resolvers)
    origin: str  # "builtin" or the distribution / module it came from
    obj: Any = None

    @property
    def module(self) -> str:
        """The module a plugin comes from, for messages naming both sides of a duplicate."""
        return self.ref.partition(":")[0] if isinstance(self.ref, str) else self.origin

    def load(self) -> Any:
        """The plugin class (or resolver), imported now.

        Raises:
            PluginError: the module cannot be imported (usually a missing extra), or the class calls itself by
                another name than it is listed under.
        """
        if self.obj is None:
            module_name, _, attr = self.ref.partition(":")
            try:
                module = importlib.import_module(module_name)
                self.obj = getattr(module, attr)
            except ImportError as exc:
                raise PluginError(
                    f"{self.kind[:-1]} '{self.name}' cannot be loaded: {exc}",
                    hint="install the extra it needs, e.g. pip install 'engine[all]'",
                ) from exc
            if getattr(self.obj, "name", self.name) != self.name and self.kind != "resolvers":
                raise PluginError(
                    f"plugin {self.ref} is listed as '{self.name}' but calls itself '{self.obj.name}'"
                )
        return self.obj


class Registry:
    """Plugins of one kind, by name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def add(self, entry: Entry) -> None:
        """Register ``entry``; a second plugin of the same name fails naming both origins."""
        old = self._entries.get(entry.name)
        if old is not None:
            raise PluginError(
                f"two {self.kind} are named '{entry.name}': {old.module} ({old.origin}) "
                f"and {entry.module} ({entry.origin})"
            )
        self._entries[entry.name] = entry

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def names(self) -> list[str]:
        """Every name, sorted (for listings and did-you-mean)."""
        return sorted(self._entries)

    def copy(self) -> Registry:
        """An independent copy, so a spec can add its own resolvers without touching the shared registry."""
        out = Registry(self.kind)
        out._entries = dict(self._entries)
        return out

    def entry(self, name: str) -> Entry:
        """The entry named ``name``; an unknown name fails with a did-you-mean and the known names."""
        try:
            return self._entries[name]
        except KeyError:
            singular = self.kind[:-1].replace("_", " ")
            suggestion = did_you_mean(name, self._entries)
            raise PluginError(
                f"unknown {singular} '{name}'{suggestion}",
                hint=None if suggestion else f"known: {', '.join(self.names()) or 'none'}",
            ) from None

    def get(self, name: str) -> Any:
        """The plugin named ``name``, loaded (see :meth:`Entry.load`)."""
        return self.entry(name).load()


class Registries:
    """One registry per kind: ``registries.sources.get("local")``."""

    def __init__(self) -> None:
        self._by_kind = {kind: Registry(kind) for kind in KINDS}

    def __getattr__(self, kind: str) -> Registry:
        try:
            registry: Registry = self.__dict__["_by_kind"][kind]
            return registry
        except KeyError:
            raise AttributeError(kind) from None

    def kind(self, kind: str) -> Registry:
        """The registry of ``kind`` (``"sources"``, ``"targets"`` ...)."""
        return self._by_kind[kind]

    def replacing(self, kind: str, registry: Registry) -> Registries:
        """A copy sharing every registry but ``kind`` (e.g. a spec's own resolvers)."""
        out = Registries()
        out.__dict__["_by_kind"] = {**self._by_kind, kind: registry}
        return out

    def add_plugin(self, cls: Any, origin: str, ref: str | None = None) -> None:
        """Register a plugin class under its own ``kind`` and ``name``."""
        kind = getattr(cls, "kind", None)
        name = getattr(cls, "name", None)
        if kind not in self._by_kind or not name:
            raise PluginError(f"{origin}: {cls!r} is not a plugin class (it needs 'kind' and 'name')")
        ref = ref or f"{cls.__module__}:{cls.__qualname__}"
        self._by_kind[kind].add(Entry(kind, name, ref, origin, cls))

    def add_resolver(self, resolver: Resolver, origin: str) -> None:
        """Register one resolver."""
        self.resolvers.add(Entry("resolvers", resolver.name, origin, origin, resolver))

    def add_resolver_module(self, module_name: str, origin: str, *, prefix: str = "") -> None:
        """Register every resolver in ``module_name``'s ``RESOLVERS`` list."""
        for resolver in resolvers_of_module(module_name, prefix=prefix):
            self.add_resolver(resolver, origin if origin != "builtin" else "builtin")


def as_resolver(obj: Any, name: str) -> Resolver:
    """A :class:`Resolver`, or a plain function turned into one.

    A function of one parameter is ``fn(value)``; of three,
    ``fn(value, record, context)`` (the shape SDK custom resolvers have).
    """
    if isinstance(obj, Resolver):
        return obj if obj.name == name else dataclasses.replace(obj, name=name)
    if callable(obj):
        params = [
            p
            for p in inspect.signature(obj).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        needs_record = len(params) >= 2
        fn = obj
        if needs_record and len(params) == 2:

            def fn(value: Any, record: Any, context: Any, _f: Any = obj) -> Any:
                return _f(value, record)

        return Resolver(
            name=name,
            make=lambda: fn,
            needs_record=needs_record,
            accepts_missing=True,
            summary=(inspect.getdoc(obj) or "").split("\n")[0],
        )
    raise PluginError(f"resolver '{name}' is neither a Resolver nor a function: {obj!r}")


def resolvers_of_module(module_name: str, *, prefix: str = "") -> list[Resolver]:
    """The resolvers a module offers: its ``RESOLVERS`` list, or its public functions."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise PluginError(f"cannot import resolver module '{module_name}': {exc}") from exc
    listed = getattr(module, "RESOLVERS", None)
    if listed is not None:
        return [
            as_resolver(r, prefix + r.name if isinstance(r, Resolver) else prefix + r.__name__)
            for r in listed
        ]
    found = []
    for attr, obj in vars(module).items():
        if attr.startswith("_") or not inspect.isfunction(obj) or obj.__module__ != module.__name__:
            continue
        found.append(as_resolver(obj, prefix + attr))
    return found


def _builtin_entries() -> Iterable[tuple[str, str, str]]:
    from engine import plugins

    for kind, named in plugins.BUILTINS.items():
        for name, ref in named.items():
            yield kind, name, ref


@lru_cache(maxsize=1)
def default_registries() -> Registries:
    """Built-ins plus installed entry points (cached for the process)."""
    return build_registries(with_entry_points=True)


def build_registries(*, with_entry_points: bool = True) -> Registries:
    """Every built-in plugin and resolver, then the installed entry points."""
    from engine import plugins

    regs = Registries()
    for kind, name, ref in _builtin_entries():
        regs.kind(kind).add(Entry(kind, name, ref, "builtin"))
    for module_name in plugins.RESOLVER_MODULES:
        regs.add_resolver_module(module_name, "builtin")
    if with_entry_points:
        for ep in entry_points(group=PLUGIN_GROUP):
            origin = f"entry point {ep.name} ({ep.dist.name if ep.dist else ep.module})"
            try:
                cls = ep.load()
            except Exception as exc:  # a broken third-party plugin must not hide the others
                raise PluginError(f"{origin} cannot be loaded: {exc}") from exc
            regs.add_plugin(cls, origin, ref=ep.value)
        for ep in entry_points(group=RESOLVER_GROUP):
            origin = f"entry point {ep.name} ({ep.dist.name if ep.dist else ep.module})"
            regs.add_resolver(as_resolver(ep.load(), ep.name), origin)
    return regs


def example_of(obj: Any) -> str | None:
    """The YAML example in a plugin module's docstring (its first ```yaml block)."""
    import sys

    module = sys.modules.get(getattr(obj, "__module__", ""), None)
    doc = (module.__doc__ if module else None) or ""
    start = doc.find("```yaml")
    if start < 0:
        return None
    end = doc.find("```", start + 7)
    return doc[start + 7 : end].strip("\n") if end > 0 else None
