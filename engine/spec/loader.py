"""Safe YAML loading with a line/column index for every node.

PyYAML's safe composer builds the node graph (libyaml's, in C, when PyYAML
has it: the pure-Python one takes seconds per megabyte; a document it
refuses is composed again by the Python one, whose messages the diagnostics
quote); we construct plain Python values ourselves so that every key and
value keeps its position, duplicate keys are refused, aliases cannot expand
into a bomb, and nesting deeper than :data:`MAX_DEPTH` is a located
diagnostic instead of a recursion error. Only the YAML core schema is
accepted: a ``!!python/...`` tag is an error, never code.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from engine.errors import SpecError
from engine.spec.diagnostics import Diagnostic, SpecPath, render_path

#: maximum nodes constructed, aliases counted each time they are expanded
MAX_NODES = 200_000
MAX_BYTES = 10 * 1024 * 1024
#: deepest nesting of mappings and lists (real specs stay below 10)
MAX_DEPTH = 64
#: the fast composer (libyaml), or the Python one when PyYAML was built without it
_FAST_LOADER: type[yaml.SafeLoader]
try:
    from yaml import CSafeLoader as _FAST_LOADER  # type: ignore[assignment]  # a SafeLoader in C
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeLoader as _FAST_LOADER
MERGE_TAG = "tag:yaml.org,2002:merge"
MAP_TAG = "tag:yaml.org,2002:map"
SEQ_TAG = "tag:yaml.org,2002:seq"


@dataclasses.dataclass(frozen=True)
class Mark:
    """A position in the spec file."""

    line: int  # 1-based
    col: int  # 1-based


@dataclasses.dataclass
class SpecDocument:
    """A loaded spec: its data and where each part of it was written."""

    file: str
    data: Any
    text: str
    base_dir: Path
    values: dict[SpecPath, Mark] = dataclasses.field(default_factory=dict)
    keys: dict[SpecPath, Mark] = dataclasses.field(default_factory=dict)

    def mark(self, path: SpecPath, *, key: bool = False) -> Mark:
        """Position of ``path`` (its key when ``key``), or of its nearest ancestor."""
        path = tuple(path)
        table = self.keys if key else self.values
        while path:
            if path in table:
                return table[path]
            if key and path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get((), Mark(1, 1))

    def diagnostic(self, path: SpecPath, message: str, *, key: bool = False, **kw: Any) -> Diagnostic:
        """A :class:`Diagnostic` located at the node for ``path`` (at its key with ``key=True``)."""
        m = self.mark(path, key=key)
        return Diagnostic(self.file, m.line, m.col, render_path(path), message, **kw)


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, doc: SpecDocument) -> None:
        self.loader = loader
        self.doc = doc
        self.count = 0
        self.problems: list[Diagnostic] = []

    def _mark(self, node: yaml.Node) -> Mark:
        return Mark(node.start_mark.line + 1, node.start_mark.column + 1)

    def build(self, node: yaml.Node, path: SpecPath, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise SpecError(
                f"{self.doc.file}: spec expands to more than {MAX_NODES} nodes "
                "(an alias bomb, or far larger than any connector needs)"
            )
        if path not in self.doc.values:
            self.doc.values[path] = self._mark(node)
        if depth > MAX_DEPTH and isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            mark = self._mark(node)
            message = f"nested deeper than {MAX_DEPTH} levels (no connector needs that many)"
            raise SpecError(
                f"{self.doc.file}: {message}",
                [Diagnostic(self.doc.file, mark.line, mark.col, render_path(path) or "(spec)", message)],
            )
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in (MAP_TAG, SEQ_TAG):
            self.problems.append(
                self.doc.diagnostic(path, f"tag {node.tag} is not allowed (only plain YAML values)")
            )
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*path, i), depth + 1) for i, child in enumerate(node.value)]
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError:
            tag = node.tag
            self.problems.append(
                self.doc.diagnostic(path, f"tag {tag} is not allowed (only plain YAML values)")
            )
            return None
        except ValueError as exc:
            self.problems.append(self.doc.diagnostic(path, f"invalid value: {exc}"))
            return None

    def _mapping(self, node: yaml.MappingNode, path: SpecPath, depth: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                for source in self._merge_sources(value_node, path, depth):
                    for k, v in source.items():
                        merged.setdefault(k, v)
                continue
            key = self.build(key_node, (*path, "<key>"), depth + 1)
            if isinstance(key, list | dict):
                self.problems.append(self.doc.diagnostic(path, "a mapping key must be a plain value"))
                continue
            if not isinstance(key, str):
                key = str(key).lower() if isinstance(key, bool) else str(key)
            child = (*path, key)
            if key in out:
                first = self.doc.keys[child]
                self.problems.append(
                    Diagnostic(
                        self.doc.file,
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                        render_path(child),
                        f"duplicate key '{key}' (first defined at line {first.line})",
                    )
                )
                continue
            self.doc.keys[child] = self._mark(key_node)
            self.doc.values[child] = self._mark(value_node)
            out[key] = self.build(value_node, child, depth + 1)
        for k, v in merged.items():
            out.setdefault(k, v)
        return out

    def _merge_sources(self, node: yaml.Node, path: SpecPath, depth: int) -> list[dict[Any, Any]]:
        nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
        sources = []
        for n in nodes:
            value = self.build(n, path, depth + 1)
            if isinstance(value, dict):
                sources.append(value)
            else:
                self.problems.append(self.doc.diagnostic(path, "'<<' merges only mappings"))
        return sources


def load_text(text: str, file: str = "<spec>", base_dir: Path | None = None) -> SpecDocument:
    """Parse YAML text. Raises :class:`SpecError` with diagnostics on any problem."""
    doc = SpecDocument(file=file, data=None, text=text, base_dir=base_dir or Path.cwd())
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise SpecError(f"{file}: spec is larger than {MAX_BYTES // (1024 * 1024)} MB")
    loader, node = None, None
    try:
        loader, node = _compose(text)
        if node is None:
            raise SpecError(
                f"{file}: the spec is empty",
                [
                    Diagnostic(
                        file, 1, 1, "(spec)", "the spec is empty (expected 'version: 1' and a connector)"
                    )
                ],
            )
        builder = _Builder(loader, doc)
        doc.data = builder.build(node, ())
    except TooDeep as exc:
        message = f"nested deeper than {MAX_DEPTH} levels (no connector needs that many)"
        diag = Diagnostic(file, exc.mark.line + 1, exc.mark.column + 1, "(spec)", message)
        raise SpecError(f"{file}: {message}", [diag]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or str(exc)
        if exc.context and "expected a single document" in exc.context:
            problem = "the spec must be one YAML document (found a second '---')"
        elif (
            exc.context
            and exc.context_mark is not None
            and exc.problem_mark is not None
            and exc.context_mark.line != exc.problem_mark.line
        ):
            problem += f" ({exc.context} at line {exc.context_mark.line + 1})"
        diag = Diagnostic(file, line, col, "(spec)", f"YAML syntax: {problem}")
        raise SpecError(f"{file}: invalid YAML", [diag]) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{file}: invalid YAML", [Diagnostic(file, 1, 1, "(spec)", f"YAML: {exc}")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if builder.problems:
        raise SpecError(f"{file}: invalid YAML", builder.problems)
    return doc


def _compose(text: str) -> tuple[yaml.SafeLoader, yaml.Node | None]:
    """The document's node graph and the loader that made it (to construct scalars with).

    A document libyaml refuses is composed again by PyYAML's Python composer,
    whose messages the diagnostics have always quoted; if that one cannot get
    as far (it recurses: a deeply nested document), libyaml's error stands.
    """
    _refuse_deep_nesting(text)
    loader = _FAST_LOADER(text)
    try:
        return loader, loader.get_single_node()
    except yaml.YAMLError as fast_error:
        loader.dispose()
        if _FAST_LOADER is yaml.SafeLoader:
            raise
        slow = yaml.SafeLoader(text)
        try:
            return slow, slow.get_single_node()
        except RecursionError:
            slow.dispose()
            raise fast_error from None
        except yaml.YAMLError:
            slow.dispose()
            raise


_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _refuse_deep_nesting(text: str) -> None:
    """Raise :class:`TooDeep` at the first container nested deeper than :data:`MAX_DEPTH`.

    Both composers recurse once per level (libyaml's C one, in PyYAML 6.0's
    wheels, until the process crashes), so the depth is measured on the
    parser's events first, which come one at a time. A syntax error is left
    for the composer to report.
    """
    loader: Any = _FAST_LOADER(text)  # PyYAML's event methods are untyped
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            kind = type(event)
            if kind in _OPEN:
                depth += 1
                if depth > MAX_DEPTH:
                    raise TooDeep(event.start_mark)
            elif kind in _CLOSE:
                depth -= 1
    except yaml.YAMLError:
        return
    finally:
        loader.dispose()


class TooDeep(Exception):
    """A container nested deeper than :data:`MAX_DEPTH`, at ``mark`` (PyYAML's, 0-based)."""

    def __init__(self, mark: Any) -> None:
        super().__init__(mark)
        self.mark = mark


def load_file(path: str | Path) -> SpecDocument:
    """Read and parse the spec at ``path`` safely, with a line and column for every node."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise SpecError(
            f"{p}: cannot read spec: {exc.strerror or exc}",
            [Diagnostic(str(p), 1, 1, "(spec)", f"cannot read file: {exc.strerror or exc}")],
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"{p}: spec is not UTF-8",
            [Diagnostic(str(p), 1, 1, "(spec)", f"not valid UTF-8 at byte {exc.start}")],
        ) from None
    return load_text(text, file=str(p), base_dir=p.resolve().parent)
