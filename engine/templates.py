"""Name templates for moved and written files.

``processed/{date:%Y/%m/%d}/{name}`` — placeholders in braces:

* ``{name}`` the file name, ``{stem}`` without its extension, ``{ext}`` the
  extension (no dot), ``{run_id}``, ``{connector}``;
* ``{date:FORMAT}`` / ``{time:FORMAT}`` the run's start time (UTC) with a
  strftime format (``{date}`` alone is ``%Y-%m-%d``);
* plugins add their own (``{part}``, ``{partition}``...).

Templates are parsed when the spec compiles, so an unknown placeholder is a
validation error, and rendered names are checked so they cannot climb out of
the directory they belong to. When a name is taken, sources moving a file
and destinations publishing one try others (:func:`free_name`,
:func:`suffixed_names`): nothing is overwritten.
"""

from __future__ import annotations

import os
import posixpath
import string
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from engine.errors import ConfigError, DataError
from engine.suggest import did_you_mean

BASE_FIELDS = ("name", "stem", "ext", "run_id", "connector", "date", "time")
#: what separates directories in a local path (``\\`` is an ordinary character on POSIX)
LOCAL_SEPARATORS = os.sep + (os.altsep or "")


class NameTemplate:
    """A parsed name template: placeholders are checked once, at compile time.

    Raises :class:`ConfigError` for malformed text or a placeholder outside
    ``allowed``; :attr:`fields` lists the placeholders used, in order.
    """

    def __init__(self, text: str, allowed: Iterable[str] = BASE_FIELDS) -> None:
        self.text = text
        self.allowed = tuple(allowed)
        self.fields: list[str] = []
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise ConfigError(f"malformed name template {text!r}: {exc}") from None
        for _literal, field, _spec, conversion in parsed:
            if field is None:
                continue
            if field == "" or conversion:
                raise ConfigError(f"malformed name template {text!r}: use named placeholders like {{name}}")
            if field not in self.allowed:
                raise ConfigError(
                    f"unknown placeholder {{{field}}} in {text!r}{did_you_mean(field, self.allowed)}",
                    hint=f"known: {', '.join('{' + a + '}' for a in self.allowed)}",
                )
            self.fields.append(field)

    def render(self, values: Mapping[str, Any], when: datetime) -> str:
        """The name for ``values``, with ``{date}``/``{time}`` taken from ``when``.

        The result is not made safe here: pass it through :func:`safe_relative`.

        Raises:
            DataError: a placeholder has no value (None or absent).
        """
        out = []
        for literal, field, spec, _conv in string.Formatter().parse(self.text):
            out.append(literal)
            if field is None:
                continue
            if field in ("date", "time"):
                fmt = spec or ("%Y-%m-%d" if field == "date" else "%H%M%S")
                out.append(when.strftime(fmt))
                continue
            value = values.get(field)
            if value is None:
                raise DataError(f"no value for {{{field}}} in name template {self.text!r}")
            out.append(format(value, spec) if spec else str(value))
        return "".join(out)


def safe_relative(name: str, separators: str = "/\\") -> str:
    r"""``name`` as a relative path that cannot leave its base directory.

    Remote stores may run on Windows, so by default ``\`` separates too;
    local paths pass the OS's own (:data:`LOCAL_SEPARATORS`), so a legal
    POSIX name such as ``a..\..\x.csv`` stays one name.
    """
    cleaned = name
    for sep in separators[1:]:
        cleaned = cleaned.replace(sep, separators[0])
    parts = [p for p in cleaned.split(separators[0]) if p not in ("", ".")]
    if cleaned.startswith(separators[0]) or ".." in parts or not parts or "\x00" in name:
        raise DataError(f"unsafe file name {name!r}: it must stay inside its directory")
    return "/".join(parts)


def file_values(name: str) -> dict[str, str]:
    """The ``{name}``, ``{stem}`` and ``{ext}`` values of a path (its last segment only)."""
    base = name.rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    return {"name": base, "stem": stem if dot else base, "ext": ext if dot else ""}


def leaves_directory(
    template: NameTemplate, *, absolute_ok: bool = False, separators: str = "/\\"
) -> str | None:
    """Why names from ``template`` would leave their directory, or None when they cannot.

    Checked when the spec compiles, so ``../outside/{name}`` fails
    ``engine validate`` instead of a run after delivery. Placeholder values
    are single names (file names never hold a separator, partition folders
    are made safe), so rendering with sample values shows the template's own
    shape; rendering again at run time still refuses a name that climbs out.
    """
    sample = {}
    for _literal, field, spec, _conversion in string.Formatter().parse(template.text):
        if field is not None:
            sample[field] = _sample(spec or "")
    rendered = template.render(sample, datetime(2000, 1, 1))
    if absolute_ok and rendered.startswith("/"):
        rendered = rendered.lstrip("/")
    elif rendered[:1] in (separators + "/"):
        return f"{template.text!r} is an absolute path; it must be relative to its directory"
    try:
        safe_relative(rendered, separators)
    except DataError:
        return f"{template.text!r} leads outside its directory ('..' is not allowed)"
    return None


def free_name(path: str, run_id: str, exists: Callable[[str], bool]) -> str:
    """``path``, or a sibling name when something is already there (moves never overwrite)."""
    if not exists(path):
        return path
    head, base = posixpath.split(path)
    stem, suffix = posixpath.splitext(base)
    n = 1
    while True:
        tail = f"{stem}.{run_id}{suffix}" if n == 1 else f"{stem}.{run_id}-{n}{suffix}"
        candidate = posixpath.join(head, tail)
        if not exists(candidate):
            return candidate
        n += 1


def suffixed_names(path: str) -> Iterable[str]:
    """``out-1.csv``, ``out-2.csv`` ...: names tried by ``if_exists: suffix``."""
    head, base = posixpath.split(path)
    stem, suffix = posixpath.splitext(base)
    n = 1
    while True:
        yield posixpath.join(head, f"{stem}-{n}{suffix}")
        n += 1


def _sample(spec: str) -> Any:
    """A value that ``format`` accepts with ``spec`` (``{part:03d}`` wants a number)."""
    try:
        format("x", spec)
    except ValueError:
        return 1
    return "x"
