"""Secret references: ``${env:NAME}``, ``${file:PATH}``, ``${aws-sm:ID}``, ``${ssm:NAME}``; the one redactor.

A spec never holds a credential, only a reference to one: to an environment
variable, a file, a secret in AWS Secrets Manager (``${aws-sm:ID#KEY}`` for
one key of a JSON secret) or a parameter in AWS Systems Manager Parameter
Store (see :mod:`engine.aws_secrets`). References are kept
as :class:`Secret` values through validation and compilation and resolved at
run time, when a plugin calls :func:`reveal`. Every value revealed, every
secret written literally in a spec and every credential a plugin obtains at
run time (an OAuth access token) is remembered by the process-wide
:data:`redactor`, the one place that knows how a secret can be written:
raw, JSON-escaped (also twice), as Python ``repr``, CSV-quoted, HTML-escaped,
URL-encoded, base64 and with its whitespace collapsed. Every output (log
lines, error messages, reports, rejects, the state store, ``engine explain``)
is scrubbed with it, before the text is cut or encoded: :func:`excerpt` is
how an answer's start is put into a message.

A secret option's value is also masked when only its start appears (any
:data:`PREFIX_LENGTH` characters or more of it, e.g. an echo cut by a
server). Values shorter than :data:`MIN_LENGTH` are not remembered.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import html
import json
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from engine.errors import SecretError

REFERENCE = re.compile(r"\$\{(env|file|aws-sm|ssm):([^}]*)\}")
#: ``$${`` escapes a literal ``${``
ESCAPED = "$${"

#: data nested deeper than this is not shown (see Redactor.scrub_obj)
MAX_SCRUB_DEPTH = 200

MASK = "***"
#: values shorter than this are not remembered: masking "ab" everywhere would ruin every message
MIN_LENGTH = 3
#: this many leading characters of a secret, or more, are masked wherever they appear
PREFIX_LENGTH = 8


def forms(value: str) -> set[str]:
    r"""Every way ``value`` may be written in an output or echoed back by a server.

    The value and its whitespace-collapsed text, each raw, JSON-escaped (with
    and without ``\uXXXX``, once and twice: JSON quoted in JSON), as Python
    ``repr``, CSV-quoted, HTML-escaped and URL-encoded; and the value in
    base64 at each of the three alignments it can have inside a longer encoded
    text (``user:password`` in a Basic header).
    """
    out: set[str] = set()
    for text in {value, " ".join(value.split())}:
        in_json = {json.dumps(text, ensure_ascii=a)[1:-1] for a in (False, True)}
        out |= in_json | {json.dumps(j, ensure_ascii=a)[1:-1] for j in in_json for a in (False, True)}
        out |= {
            text,
            repr(text)[1:-1],
            text.replace('"', '""'),  # a CSV cell
            html.escape(text),
            quote(text, safe=""),
            quote_plus(text, safe=""),
        }
    out |= _base64(value.encode("utf-8"))
    return {f for f in out if len(f) >= MIN_LENGTH}


def _base64(raw: bytes) -> set[str]:
    """``raw`` in base64 (standard and URL-safe) after 0, 1 or 2 other bytes: the characters it alone decides."""
    out = set()
    for shift in range(3):
        padded = bytes(shift) + raw
        whole = len(padded) // 3 * 4  # characters not touched by what follows
        first = (shift * 8 + 5) // 6  # characters touched by what precedes
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(padded).decode("ascii")
            out.add(text if shift == 0 else text[first:whole])
    return out


@dataclasses.dataclass(frozen=True)
class _Table:
    """One compiled pattern for a set of secrets, and the whole forms each match may continue into."""

    pattern: re.Pattern[str]
    #: a matched key (a whole form, or the start of a secret option's form) -> the forms it starts
    continues: dict[str, tuple[str, ...]]

    def reach(self, text: str, start: int, key: str) -> int:
        """Where the secret matched at ``start`` ends: the longest form it continues into."""
        end = start + len(key)
        for form in self.continues[key]:
            end = max(end, start + _shared(text, start, form))
        return end


def _shared(text: str, start: int, form: str) -> int:
    """How many leading characters of ``form`` ``text`` repeats from ``start``."""
    hi = min(len(form), len(text) - start)
    if text.startswith(form[:hi], start):
        return hi
    lo = 0
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if text.startswith(form[:mid], start):
            lo = mid
        else:
            hi = mid - 1
    return lo


class Redactor:
    """Remembers secret values and removes every form of them from text and data."""

    def __init__(self) -> None:
        #: value -> whether its start alone is masked too (secret options: yes; other references: whole only)
        self._values: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._table: _Table | None = None

    def add(self, value: str, *, prefixes: bool = True) -> None:
        """Remember a value so it is scrubbed from now on; values under :data:`MIN_LENGTH` are ignored.

        ``prefixes=False`` masks the value only whole (in every form): for
        references in options that are not secrets (a ``base_url`` from the
        environment), whose start is common text such as ``https://``.
        """
        if not value or len(value) < MIN_LENGTH:
            return
        with self._lock:
            known = self._values.get(value)
            if known is None or (prefixes and not known):
                self._values[value] = prefixes
                self._table = None

    def scrub(self, text: str) -> str:
        """``text`` with every form of every remembered value replaced by ``***``."""
        if not text or not self._values:
            return text
        table = self._table or self._compile()
        match = table.pattern.search(text)
        if match is None:
            return text
        parts: list[str] = []
        pos = 0
        while match is not None:
            start = match.start()
            parts += (text[pos:start], MASK)
            pos = table.reach(text, start, match.group())
            match = table.pattern.search(text, pos)
        parts.append(text[pos:])
        return "".join(parts)

    def scrub_obj(self, obj: Any, _depth: int = 0) -> Any:
        """Scrub strings (values and keys) anywhere inside JSON-like data, before it is encoded.

        Nesting deeper than 200 levels is replaced by a marker (nothing that
        deep is shown unscrubbed, and no recursion limit is reached).
        """
        if isinstance(obj, str):
            return self.scrub(obj)
        if _depth >= MAX_SCRUB_DEPTH and isinstance(obj, dict | list | tuple):
            return f"<nested deeper than {MAX_SCRUB_DEPTH} levels: not shown>"
        if isinstance(obj, dict):
            return {
                self.scrub(k) if isinstance(k, str) else k: self.scrub_obj(v, _depth + 1)
                for k, v in obj.items()
            }
        if isinstance(obj, list | tuple):
            return [self.scrub_obj(v, _depth + 1) for v in obj]
        if isinstance(obj, Secret):
            return str(obj)
        return obj

    @contextlib.contextmanager
    def isolated(self) -> Iterator[None]:
        """Forget, when the block ends, what was remembered inside it (each test starts from the same set)."""
        with self._lock:
            before = dict(self._values)
        try:
            yield
        finally:
            with self._lock:
                self._values = before
                self._table = None

    def _compile(self) -> _Table:
        with self._lock:
            if self._table is not None:
                return self._table
            continues: dict[str, set[str]] = {}
            for value, prefixes in self._values.items():
                for form in forms(value):
                    key = form[:PREFIX_LENGTH] if prefixes else form
                    continues.setdefault(key, set()).add(form)
            keys = sorted(continues, key=len, reverse=True)  # at one position the longest key wins
            self._table = _Table(
                re.compile("|".join(map(re.escape, keys))),
                {k: tuple(sorted(v, key=len, reverse=True)) for k, v in continues.items()},
            )
            return self._table


redactor = Redactor()


def excerpt(text: str, size: int, *, collapse: bool = True) -> str:
    """The start of ``text`` for a message: secrets scrubbed first, then whitespace collapsed and cut.

    Every place that shows part of an answer goes through here, so a secret
    is masked before a cut or a collapse could hide it from the scrubber.
    """
    clean = redactor.scrub(text)
    if collapse:
        clean = " ".join(clean.split())
    return clean[:size]


def basic_credentials(username: str, password: str) -> str:
    """The HTTP Basic value of ``username:password`` (base64), remembered as a secret."""
    encoded = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    redactor.add(encoded)
    return encoded


class Secret:
    """A string whose value comes from references resolved at run time.

    ``str(secret)`` is the template as written (``${env:TOKEN}``), never the
    value, so a secret printed by accident shows where it comes from.
    ``sensitive`` (a secret option: a password, a token, a credential header)
    masks the value's start too; a reference in another option (a
    ``base_url`` from the environment) is masked only whole.
    """

    __slots__ = ("base_dir", "sensitive", "template", "where")

    def __init__(
        self,
        template: str,
        *,
        where: str = "",
        base_dir: str | Path | None = None,
        sensitive: bool = True,
    ) -> None:
        self.template = template
        self.where = where
        self.base_dir = Path(base_dir) if base_dir else None
        self.sensitive = sensitive

    def __repr__(self) -> str:
        return f"Secret({self.template!r})"

    def __str__(self) -> str:
        return self.template

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.template == self.template

    def __hash__(self) -> int:
        return hash(self.template)

    def references(self) -> list[tuple[str, str]]:
        """The ``(scheme, name)`` pairs the template refers to, e.g. ``("env", "TOKEN")``."""
        return REFERENCE.findall(self.template)

    def reveal(self) -> str:
        """Resolve every reference now and return the value; each resolved part is added to the redactor.

        Raises:
            SecretError: a variable is unset, a file unreadable or a reference empty.
        """

        def resolve(match: re.Match[str]) -> str:
            scheme, name = match.group(1), match.group(2).strip()
            value = _resolve_one(scheme, name, self.where, self.base_dir)
            redactor.add(value, prefixes=self.sensitive)
            return value

        return REFERENCE.sub(resolve, self.template).replace(ESCAPED, "${")


def _resolve_one(scheme: str, name: str, where: str, base_dir: Path | None) -> str:
    at = f" (referenced by {where})" if where else ""
    if not name:
        raise SecretError(f"empty ${{{scheme}:}} reference{at}")
    if scheme == "env":
        value = os.environ.get(name)
        if value is None:
            raise SecretError(
                f"environment variable {name} is not set{at}",
                hint=f"export {name}=... before running, or change the reference",
            )
        return value
    if scheme == "aws-sm":
        from engine.aws_secrets import secrets_manager

        return secrets_manager(name, at)
    if scheme == "ssm":
        from engine.aws_secrets import parameter_store

        return parameter_store(name, at)
    path = Path(os.path.expanduser(name))
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise SecretError(f"secret file {path} cannot be read: {exc.strerror or exc}{at}") from None


#: names of headers and form fields that carry credentials (``Authorization``, ``X-Api-Key``, ``client_assertion``)
CREDENTIAL_NAME = re.compile(
    r"auth|token|secret|passw|pwd|cookie|session|signature|assertion|credential|"
    r"(api|access|private|subscription|account)[-_]?key|^key$",
    re.IGNORECASE,
)


def is_credential_name(name: str) -> bool:
    """Whether a header or form field called ``name`` carries a credential (its value is a secret)."""
    return CREDENTIAL_NAME.search(name) is not None


def looks_like_key_material(value: str) -> bool:
    """Whether an option that takes a key or a path to one holds the key itself (PEM/OpenSSH text)."""
    return "-----BEGIN" in value or "\n" in value


def has_reference(value: Any) -> bool:
    """Whether ``value`` is a string holding a secret reference (``${env:...}``, ``${file:...}``, AWS)."""
    return isinstance(value, str) and REFERENCE.search(value) is not None


def reveal(value: Any) -> Any:
    """The run-time value of an option: secrets resolved, anything else unchanged."""
    if isinstance(value, Secret):
        return value.reveal()
    return value


def unset_references(value: Any) -> list[str]:
    """Names of ``${env:...}`` references in ``value`` that are not set now."""
    if isinstance(value, Secret):
        value = value.template
    if not isinstance(value, str):
        return []
    return [name for scheme, name in REFERENCE.findall(value) if scheme == "env" and name not in os.environ]
