"""Texts built from data: ``{{ jmespath }}`` placeholders, escaped for their content type.

Webhook answers built from a run's results (``trigger.webhook.answer``),
e-mail subjects and bodies and chat messages use them:

```yaml
answer:
  mode: sync
  content_type: application/xml
  body: '<ack run="{{ run.run_id }}" status="{{ run.status }}">{{ each }}</ack>'
  each: '<line row="{{ row }}" status="{{ status }}" id="{{ answer.id }}"/>'
```

A caller that expects an XML acknowledgement, a CSV line or JSON with
per-record results gets exactly that, without code: the template is text
with placeholders, each a JMESPath expression (no code runs, only lookups
and JMESPath's functions), compiled when the spec compiles so a typo is a
validation error at its spec path. ``body`` sees ``run`` (the run summary:
``run_id``, ``status``, ``records`` counts, ``error``), ``records`` (one
outcome per record, see :class:`~engine.contracts.RecordOutcome`) and
``each`` (the ``each`` text rendered once per record, joined by
``separator``). ``each`` sees one record's outcome (``row``, ``status``,
``reason``, ``input``, ``output``, ``answer``, ``answers``) and ``run``.

Every value is escaped for the answer's content type (``escape``, by
default from ``content_type``): XML text and attributes, a JSON value (a
placeholder renders a whole JSON value, strings quoted), a CSV field, or
plain text. The rendered answer passes the secret redactor last.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import jmespath
from jmespath.exceptions import JMESPathError

from engine.jsonutil import dumps
from engine.mapping.model import jmespath_problem
from engine.secrets import redactor
from engine.suggest import did_you_mean

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
#: what ``body`` placeholders start from
BODY_NAMES = ("run", "records", "each")
#: what ``each`` placeholders start from (a record's outcome, and the run)
RECORD_NAMES = (
    "row",
    "status",
    "stage",
    "reason",
    "reasons",
    "input",
    "output",
    "answer",
    "answers",
    "response",
    "run",
)
ESCAPES = ("xml", "json", "csv", "text")
#: characters XML 1.0 cannot hold at all, even escaped
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def escape_for(content_type: str) -> str:
    """The escaping a content type needs: ``xml``, ``json``, ``csv`` or ``text``."""
    kind = content_type.split(";", 1)[0].strip().lower()
    for name in ("xml", "json", "csv"):
        if name in kind:
            return name
    return "text"


class TextTemplate:
    """One template text, parsed: literal pieces and compiled placeholders, alternating.

    Placeholders may start only from ``names``; what is wrong is appended to
    ``problems`` as ``(where, message)``, for the caller to report at its
    spec path.
    """

    def __init__(self, text: str, names: Iterable[str], where: str, problems: list[tuple[str, str]]) -> None:
        self.pieces: list[str] = []
        self.exprs: list[Any] = []
        #: ``{{ each }}`` in a body: already escaped, inserted as it is
        self.raw: list[bool] = []
        allowed = tuple(names)
        end = 0
        for match in _PLACEHOLDER.finditer(text):
            self.pieces.append(text[end : match.start()])
            end = match.end()
            source = match.group(1).strip()
            self.raw.append(source == "each" and "each" in allowed)
            try:
                compiled = jmespath.compile(source)
            except JMESPathError as exc:
                problems.append((where, f"invalid placeholder {{{{ {source} }}}}: {jmespath_problem(exc)}"))
                compiled = None
            else:
                for root in sorted(_roots(compiled.parsed) - set(allowed)):
                    problems.append(
                        (
                            where,
                            f"unknown name {root!r} in {{{{ {source} }}}}{did_you_mean(root, allowed)} "
                            f"(known: {', '.join(allowed)})",
                        )
                    )
            self.exprs.append(compiled)
        self.pieces.append(text[end:])

    def render(self, scope: Mapping[str, Any], escape: str) -> str:
        """The text with each placeholder's value looked up in ``scope`` and escaped, secrets redacted."""
        out = [self.pieces[0]]
        for k, expr in enumerate(self.exprs):
            if self.raw[k]:
                out.append(str(scope.get("each", "")))
            else:
                out.append(_escaped(expr.search(scope) if expr is not None else None, escape))
            out.append(self.pieces[k + 1])
        return redactor.scrub("".join(out))


class AnswerTemplate:
    """A webhook's ``answer`` body and ``each`` texts, compiled; :attr:`problems` lists what is wrong.

    Problems are ``(option, message)`` pairs, ``option`` being ``body`` or
    ``each``, for the compiler to report at the spec path.
    """

    def __init__(
        self, body: str, each: str | None = None, *, separator: str = "\n", escape: str = "text"
    ) -> None:
        self.problems: list[tuple[str, str]] = []
        self.escape = escape
        self.separator = separator
        self.body = TextTemplate(body, BODY_NAMES, "body", self.problems)
        self.each = TextTemplate(each, RECORD_NAMES, "each", self.problems) if each is not None else None
        if self.each is None and any(self.body.raw):
            self.problems.append(("body", "{{ each }} needs an each: text (what to write per record)"))

    def render(self, run: Mapping[str, Any], records: list[dict[str, Any]]) -> str:
        """The answer for a run's summary and its records' outcomes (secrets redacted by each text)."""
        lines = ""
        if self.each is not None:
            lines = self.separator.join(self.each.render({**r, "run": run}, self.escape) for r in records)
        return self.body.render({"run": run, "records": records, "each": lines}, self.escape)


#: nodes whose every child is looked up in the scope (the others look up their first child there)
_ALL_CHILDREN = (
    "function_expression",
    "or_expression",
    "and_expression",
    "not_expression",
    "comparator",
    "multi_select_list",
    "multi_select_dict",
    "key_val_pair",
)


def _roots(node: Mapping[str, Any]) -> set[str]:
    """The names an expression looks up in its scope (``run`` in ``run.records.read``)."""
    kind = node.get("type")
    if kind == "field":
        return {str(node.get("value"))}
    children = [c for c in node.get("children") or [] if isinstance(c, dict)]
    if kind in ("literal", "current", "identity", "expref") or not children:
        return set()
    if kind in _ALL_CHILDREN:
        return set().union(*(_roots(c) for c in children))
    return _roots(children[0])


def _escaped(value: Any, escape: str) -> str:
    if escape == "json":
        return dumps(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict | list):
        text = dumps(value)
    else:
        text = str(value)
    if escape == "xml":
        return xml_escape(_NOT_XML.sub("", text), {'"': "&quot;", "'": "&apos;"})
    if escape == "csv":
        buffer = io.StringIO()
        # the writer quotes a field holding its line terminator: keep the usual one, then cut it off
        csv.writer(buffer, lineterminator="\r\n").writerow([text])
        return buffer.getvalue()[:-2]
    return text


def answer_template(
    body: str,
    each: str | None = None,
    *,
    content_type: str = "application/json",
    separator: str = "\n",
    escape: str | None = None,
) -> AnswerTemplate:
    """The template of a webhook's ``answer``, escaped as ``escape`` says or as its content type needs."""
    return AnswerTemplate(body, each, separator=separator, escape=escape or escape_for(content_type))
