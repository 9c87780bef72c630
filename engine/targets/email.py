r"""Mapped records as e-mail: one digest per run, or one message per record.

```yaml
connections:
  mail: {type: smtp, host: smtp.example.com, username: alerts@example.com, password: "${env:SMTP_PASSWORD}"}
target:
  type: email
  connection: mail
  sender: "Stock alerts <alerts@example.com>"
  to: [buyers@example.com]
  subject: "{{ count }} stock variances in {{ run.connector }}"
  body: "Variances above 5 %:\n{{ each }}"
  each: "- {{ record.sku }} at {{ record.location }}: {{ record.variance }} %"
```

Alerts are what this is for (a variance above 5 %, a quarantined file), so
the default is one **digest** per run (``per: run``): the records of the
whole run in one message, sent when the run's other work is done, and the
records count as delivered once the server took it. ``per: record`` sends
one message per record as it comes. Subject and body are templates with
``{{ jmespath }}`` placeholders (see :mod:`engine.text_templates`): a
digest sees ``records``, ``count``, ``run`` and ``each`` (the ``each`` text
rendered per record, which sees ``record`` and ``run``); a message per
record sees ``record`` and ``run``. ``content_type: text/html`` escapes
values as HTML. No mail is sent for a run with no records.

The server's answer decides each record: accepted (the answer holds the
message's ``Message-ID``), refused for good (a 5xx for the message or all
its recipients: its records are rejected with the server's code), or
refused for now / unreachable (:class:`~engine.errors.TransientNotificationError`:
the run fails and the item is taken again). SMTP has no idempotency key:
a run killed after the server took a message and before the item was
committed sends it again on the rerun, with the same ``Message-ID`` (derived
from the connector, the records' origin and the text), which most mail
systems use to drop the repeat.
"""

from __future__ import annotations

import dataclasses
import hashlib
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from typing import Any

from typing_extensions import override

from engine.connections.smtp import SmtpConnection, translate
from engine.contracts import Batch, Item, RunContext, Target
from engine.errors import NotificationError, TransientNotificationError
from engine.jsonutil import dumps
from engine.text_templates import TextTemplate, escape_for

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["connection", "sender", "to", "subject", "body"],
    "properties": {
        "connection": {"type": "string", "x-connection": "smtp"},
        "sender": {
            "type": "string",
            "minLength": 3,
            "description": "the From address: addr@example.com or 'Name <addr@example.com>'",
        },
        "to": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "minLength": 3},
            "description": "recipients",
        },
        "cc": {"type": "array", "items": {"type": "string", "minLength": 3}, "default": []},
        "reply_to": {"type": "string"},
        "subject": {
            "type": "string",
            "minLength": 1,
            "description": "a template (line breaks become spaces)",
        },
        "body": {"type": "string", "description": "a template"},
        "each": {
            "type": "string",
            "description": "per: run only: the text for each record, joined into the body's {{ each }}",
        },
        "separator": {"type": "string", "default": "\n", "description": "between the each texts"},
        "per": {
            "enum": ["run", "record"],
            "default": "run",
            "description": "run: one digest of the run's records; record: one message per record",
        },
        "content_type": {"enum": ["text/plain", "text/html"], "default": "text/plain"},
    },
}

#: names a digest's subject and body start from; a message per record's; an each text's
DIGEST_NAMES = ("records", "count", "run", "each")
RECORD_NAMES = ("record", "run")


@dataclasses.dataclass
class EmailTargetOptions:
    """A validated ``target: {type: email}`` block; defaults and meanings are in :data:`SCHEMA`."""

    connection: str
    sender: str
    to: list
    cc: list
    reply_to: str | None
    subject: str
    body: str
    each: str | None
    separator: str
    per: str
    content_type: str


class EmailTarget(Target):
    """Sends records as e-mail through an ``smtp`` connection, a digest per run or a message per record."""

    name = "email"
    summary = (
        "records as e-mail (SMTP with TLS): one digest per run or one message per record, from templates"
    )
    schema = SCHEMA
    Options = EmailTargetOptions

    def __init__(self, options: EmailTargetOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        o = options
        self._problems: list[tuple[tuple, str]] = []
        names = DIGEST_NAMES if o.per == "run" else RECORD_NAMES
        found: list[tuple[str, str]] = []
        self.subject = TextTemplate(o.subject, names, "subject", found)
        self.body = TextTemplate(o.body, names, "body", found)
        self.each = TextTemplate(o.each, RECORD_NAMES, "each", found) if o.each is not None else None
        self._problems.extend(((where,), message) for where, message in found)
        if o.each is not None and o.per == "record":
            self._problems.append((("each",), "each is for a digest (per: run); per record, use the body"))
        self._addresses()
        self.escape = escape_for(o.content_type.replace("html", "xml"))
        #: a digest commits the run's items once it is sent
        self.commit_scope = "run" if o.per == "run" else "item"
        self.pending: list[tuple[Batch, int]] = []
        self.client: smtplib.SMTP | None = None
        self.counts = {"messages": 0, "accepted": 0, "rejected": 0}

    def _addresses(self) -> None:
        """Each address option must hold one address (``a@b.example`` or ``Name <a@b.example>``)."""
        o = self.options
        given: list[tuple[tuple, str | None]] = [(("sender",), o.sender), (("reply_to",), o.reply_to)]
        given += [(("to", k), a) for k, a in enumerate(o.to)] + [(("cc", k), a) for k, a in enumerate(o.cc)]
        for where, address in given:
            if address is None:
                continue
            _name, parsed = parseaddr(address)
            if "@" not in parsed or any(c in address for c in "\r\n,;"):
                self._problems.append(
                    (where, f"{address!r} is not one e-mail address (a@b.example or Name <a@b.example>)")
                )

    def problems(self) -> list[tuple[tuple, str]]:
        """Placeholders that name nothing the template sees, an each text where none is used, bad addresses."""
        return self._problems

    @override
    def open(self, run: RunContext) -> None:
        self.run = run
        connection = run.connection(self.options.connection)
        assert isinstance(connection, SmtpConnection)
        self.connection = connection

    # -- the target contract ---------------------------------------------------------------

    @override
    def write(self, batch: Batch) -> None:
        if self.options.per == "run":
            self.pending.extend((batch, i) for i in range(len(batch.records)))
            return
        for i, record in enumerate(batch.records):
            scope = {"record": record, "run": self._run_values()}
            self._send(self.subject.render(scope, "text"), self.body.render(scope, self.escape), [(batch, i)])

    @override
    def finish_run(self) -> None:
        members, self.pending = self.pending, []
        if members:
            run = self._run_values()
            records = [b.records[i] for b, i in members]
            lines = ""
            if self.each is not None:
                lines = self.options.separator.join(
                    self.each.render({"record": r, "run": run}, self.escape) for r in records
                )
            scope = {"records": records, "count": len(records), "run": run, "each": lines}
            self._send(self.subject.render(scope, "text"), self.body.render(scope, self.escape), members)
        self._quit()

    @override
    def finish_item(self, item: Item) -> None:
        """Messages per record are sent as they come; a digest waits for :meth:`finish_run`."""

    @override
    def close(self) -> None:
        self._quit()
        super().close()

    def stats(self) -> dict[str, Any]:
        """Counters for the run report: messages sent, records accepted and rejected."""
        return dict(self.counts)

    # -- sending -----------------------------------------------------------------------------

    def _run_values(self) -> dict[str, Any]:
        return {"run_id": self.run.run_id, "connector": self.run.connector}

    def _message(self, subject: str, body: str, members: list[tuple[Batch, int]]) -> EmailMessage:
        o = self.options
        message = EmailMessage()
        message["From"] = o.sender
        message["To"] = ", ".join(o.to)
        if o.cc:
            message["Cc"] = ", ".join(o.cc)
        if o.reply_to:
            message["Reply-To"] = o.reply_to
        message["Subject"] = " ".join(subject.split())
        origin = [(b.chunk.item.uri, b.chunk.positions[b.index[i]]) for b, i in members]
        digest = hashlib.sha256(
            dumps([self.run.connector, origin, subject, body]).encode("utf-8")
        ).hexdigest()
        domain = o.sender.rsplit("@", 1)[-1].strip(" >") or "engine.local"
        message["Message-ID"] = make_msgid(idstring=digest[:32], domain=domain)
        message.set_content(body, subtype="html" if o.content_type == "text/html" else "plain")
        return message

    def _session(self) -> smtplib.SMTP:
        if self.client is None:
            self.client = self.connection.session()
        return self.client

    def _send(self, subject: str, body: str, members: list[tuple[Batch, int]]) -> None:
        """Send one message for ``members``; their outcome follows the server's answer."""
        message = self._message(subject, body, members)
        try:
            refused = self.connection.policy.call(
                lambda _attempt: self._attempt(message), what="sending an e-mail", log=self.run.log
            )
        except smtplib.SMTPRecipientsRefused as exc:
            self._reject(members, f"every recipient was refused: {_refusals(exc.recipients)}")
            return
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
            error = translate(exc, "the mail server ")
            if isinstance(exc, smtplib.SMTPDataError) and type(error) is NotificationError:
                self._reject(members, error.message)  # this message, for good: the next may pass
                return
            raise error from None
        self.counts["messages"] += 1
        answer: dict[str, Any] = {"message_id": message["Message-ID"]}
        if refused:
            answer["refused"] = {k: v[0] for k, v in refused.items()}
            self.run.log.warning("some recipients were refused", refused=_refusals(refused))
        for batch, i in members:
            self.counts["accepted"] += 1
            self.run.outcomes.accepted_count(1, batch.chunk.item)
            self.run.outcomes.answered(batch, i, answer)

    def _attempt(self, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
        """One delivery; recipients refused for now (4xx) are a transient error the policy retries."""
        try:
            return self._deliver(message)
        except smtplib.SMTPRecipientsRefused as exc:
            if any(code < 500 for code, _text in exc.recipients.values()):
                raise TransientNotificationError(
                    f"the mail server refused the recipients for now: {_refusals(exc.recipients)}"
                ) from None
            raise

    def _deliver(self, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
        """Hand the message to the server, in a new session if the server dropped an idle one."""
        for attempt in (1, 2):
            reused = self.client is not None
            client = self._session()
            try:
                return client.send_message(message)
            except smtplib.SMTPServerDisconnected as exc:
                self.client = None
                if attempt == 2 or not reused:
                    raise translate(exc, "the mail server ") from None
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused):
                raise
            except (OSError, smtplib.SMTPException) as exc:
                self.client = None
                raise translate(exc, "the mail server ") from None
        raise AssertionError("unreachable")

    def _reject(self, members: list[tuple[Batch, int]], reason: str) -> None:
        for batch, i in members:
            self.counts["rejected"] += 1
            self.run.outcomes.rejected(batch, i, reason)

    def _quit(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()


def _refusals(recipients: dict[str, tuple[int, bytes]]) -> str:
    return ", ".join(
        f"{address} ({code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text})"
        for address, (code, text) in recipients.items()
    )
