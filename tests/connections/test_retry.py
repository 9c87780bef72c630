"""Resumable reads: a dropped stream reopens at the byte where it stopped, within the retry policy."""

from __future__ import annotations

import io

import pytest

from engine.errors import TransientSourceError
from engine.retry import ResumableReader, RetryPolicy, buffered

DATA = bytes(range(256)) * 4096  # 1 MiB


class Flaky:
    """Serves DATA from an offset, failing after ``fail_after`` bytes (once per entry in ``plan``)."""

    def __init__(
        self, plan: list[int | None], *, exc: type[BaseException] = ConnectionResetError, silent: bool = False
    ) -> None:
        self.plan = list(plan)
        self.opened: list[int] = []
        self.exc = exc
        self.silent = silent

    def open_at(self, offset: int):
        self.opened.append(offset)
        limit = self.plan.pop(0) if self.plan else None
        source, outer = io.BytesIO(DATA[offset:]), self

        class Stream:
            sent = 0

            def read(self, n: int) -> bytes:
                if limit is not None and self.sent >= limit:
                    if outer.silent:
                        return b""
                    raise outer.exc("connection reset")
                chunk = source.read(min(n, limit - self.sent) if limit is not None else n)
                self.sent += len(chunk)
                return chunk

            def close(self) -> None:
                pass

        return Stream()


def reader(flaky: Flaky, retries: int = 3, size: int | None = len(DATA)) -> io.BufferedReader:
    def give_up(exc: BaseException, offset: int):
        return TransientSourceError(f"gave up at {offset}: {exc}")

    raw = ResumableReader(
        flaky.open_at,
        size=size,
        policy=RetryPolicy(max_attempts=retries + 1, backoff=0.0),
        is_drop=lambda e: isinstance(e, ConnectionError),
        give_up=give_up,
    )
    return buffered(raw, 64 * 1024)


def test_drops_resume_at_the_right_offset_and_the_bytes_are_exact() -> None:
    flaky = Flaky([300_000, 100_000, 5])
    with reader(flaky) as stream:
        assert stream.read() == DATA
    assert flaky.opened == [0, 300_000, 400_000, 400_005]


def test_separate_drops_with_progress_in_between_do_not_exhaust_the_budget() -> None:
    flaky = Flaky([100_000] * 6)
    with reader(flaky, retries=1) as stream:
        assert stream.read() == DATA


def test_drops_without_progress_give_up_with_the_offset() -> None:
    flaky = Flaky([100_000, 0, 0, 0])
    with reader(flaky, retries=2) as stream, pytest.raises(TransientSourceError, match="gave up at 100000"):
        stream.read()


def test_a_silent_early_end_counts_as_a_drop() -> None:
    flaky = Flaky([500_000], silent=True)
    with reader(flaky) as stream:
        assert stream.read() == DATA
    assert flaky.opened == [0, 500_000]


def test_errors_that_are_not_drops_are_not_retried() -> None:
    flaky = Flaky([10], exc=PermissionError)
    with reader(flaky) as stream, pytest.raises(TransientSourceError, match="gave up at 10"):
        stream.read()
    assert flaky.opened == [0]


def test_readline_works_across_a_drop() -> None:
    text = b"".join(b"line %d\n" % i for i in range(50_000))

    class Lines(Flaky):
        def open_at(self, offset: int):
            self.opened.append(offset)
            limit = self.plan.pop(0) if self.plan else None
            body = io.BytesIO(text[offset:])

            class Stream:
                sent = 0

                def read(self, n: int) -> bytes:
                    if limit is not None and self.sent >= limit:
                        raise ConnectionResetError()
                    chunk = body.read(min(n, limit - self.sent) if limit is not None else n)
                    self.sent += len(chunk)
                    return chunk

                def close(self) -> None:
                    pass

            return Stream()

    with reader(Lines([123_457]), size=len(text)) as stream:
        assert list(stream) == text.splitlines(keepends=True)
