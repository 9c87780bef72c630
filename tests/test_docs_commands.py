"""Every command line the README and docs/*.md show parses with the real ``engine`` command.

Lines of ``console``/``shell`` blocks that start with ``engine`` (or ``$ engine``,
after any ``NAME=value`` prefix or pipe), and inline code spans that are a
command (not a synopsis with ``[...]`` or ``a|b``), are parsed with click's
own parser, command group by command group, without running anything. File
arguments need not exist (a doc shows ``stock.yaml``); everything else —
commands, options, choices, numbers, argument counts — must be right.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from engine.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`(engine [^`]+)`")
SYNOPSIS = re.compile(r"[\[\]|<>]|\.\.\.")
SHELLS = {"console", "shell", "sh", "bash", ""}


def _commands(text: str) -> Iterator[tuple[str, str]]:
    """``(where, command line)``: ``inline`` for a code span in a sentence, ``""`` for a block's line."""
    for lang, body in FENCE.findall(text):
        if lang not in SHELLS:
            continue
        for line in re.sub(r"\\\n\s*", " ", body).splitlines():
            line = line.strip().removeprefix("$ ").removeprefix("# ")
            for part in re.split(r"\s*(?:\|\||&&|\|)\s*", line):
                part = re.sub(r"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)+", "", part)  # NAME=value prefixes
                if part == "engine" or part.startswith("engine "):
                    words = shlex.split(part, comments=True)
                    if ">" in words:  # output redirected
                        words = words[: words.index(">")]
                    yield "", shlex.join(words)
    for span in INLINE.findall(text):
        if not SYNOPSIS.search(span) and not _names_a_command(span):
            yield "inline", span


def _names_a_command(span: str) -> bool:
    """``engine run`` or ``engine state`` in a sentence names a command; it is not a command line."""
    command: click.Command = main
    for word in span.split()[1:]:
        if not isinstance(command, click.Group) or word not in command.commands:
            return False
        command = command.commands[word]
    return True


CASES = sorted(
    {
        (doc.relative_to(ROOT).as_posix(), where, cmd)
        for doc in DOCS
        for where, cmd in _commands(doc.read_text())
    }
)


def parse(words: list[str]) -> list[str]:
    """Parse ``engine WORDS`` as the command would, down to the last subcommand; returns the command path."""
    command: click.Command = main
    parent: click.Context | None = None
    path = ["engine"]
    args = list(words)
    while True:
        ctx = command.make_context(path[-1], args, parent=parent)
        if not isinstance(command, click.Group):
            return path
        rest = (
            [*ctx._protected_args, *ctx.args]
            if hasattr(ctx, "_protected_args")
            else [*ctx.protected_args, *ctx.args]
        )
        if not rest:
            return path
        name, sub, args = command.resolve_command(ctx, rest)
        assert sub is not None and name is not None
        command, parent = sub, ctx
        path.append(name)


@pytest.fixture(autouse=True)
def _files_need_not_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    """Docs name files of the reader's (``stock.yaml``, ``.env``): only their existence is not checked."""

    def walk(command: click.Command) -> Iterator[click.Parameter]:
        yield from command.params
        if isinstance(command, click.Group):
            for sub in command.commands.values():
                yield from walk(sub)

    for param in walk(main):
        if isinstance(param.type, click.Path):
            monkeypatch.setattr(param.type, "exists", False)
        if param.name == "env_file":
            monkeypatch.setattr(param, "callback", None)


def test_the_docs_show_command_lines() -> None:
    assert len(CASES) > 60
    shown = {cmd.split()[1] for _, _, cmd in CASES if len(cmd.split()) > 1}
    assert {"run", "validate", "check", "state", "serve", "plugins", "init", "test"} <= shown


@pytest.mark.parametrize(("doc", "where", "command"), CASES, ids=[f"{d}: {c}" for d, _, c in CASES])
def test_a_command_line_in_the_docs_parses(doc: str, where: str, command: str) -> None:
    """A block's line must parse whole; a code span in a sentence may leave out values (`engine run --replay`)."""
    words = shlex.split(command)[1:]
    try:
        parse(words)
    except (click.exceptions.Exit, click.exceptions.NoArgsIsHelpError):
        pass  # --help, --version, a bare `engine`: they answer and stop, as a user sees
    except (click.MissingParameter, click.BadOptionUsage) as exc:
        if where != "inline" or (
            isinstance(exc, click.BadOptionUsage) and "requires an argument" not in str(exc)
        ):
            pytest.fail(f"{doc}: `{command}` does not parse: {exc.format_message()}")
    except click.ClickException as exc:
        pytest.fail(f"{doc}: `{command}` does not parse: {exc.format_message()}")


def test_the_check_would_catch_a_wrong_command_line() -> None:
    for wrong in (
        ["state", "spec.yaml", "show"],
        ["run", "--no-such-flag", "x.yaml"],
        ["plugins", "a", "b", "c"],
        ["validate", "x.yaml", "--format", "yaml"],
        ["serve"],
    ):
        with pytest.raises(click.ClickException):
            parse(wrong)
