"""Per-record outcomes: every record read ends with one status, and answers stay with their record."""

from __future__ import annotations

from engine.contracts import Batch, Chunk, Item, ParseReject
from engine.runtime.records import RecordLog


def chunk(
    uri: str, rows: list[dict], positions: list[int], rejects: list[ParseReject] | None = None
) -> Chunk:
    return Chunk(Item(uri, uri.rsplit("/", 1)[-1]), rows, positions, rejects=rejects)


def test_each_record_ends_with_one_status_in_the_order_read() -> None:
    log = RecordLog()
    first = chunk(
        "mem://a", [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 5}], [1, 2, 3, 5], [ParseReject(4, "bad", raw="x,y")]
    )
    log.read(first)
    log.refused(first.item, 2, "mapping", ["qty: 'ten' is not an integer"])
    log.refused(first.item, 3, "mapping", ["skipped"], skipped=True)
    log.refused(first.item, 4, "parse", ["bad"])
    batch = Batch(first, [{"N": 1}, {"N": 5}], [0, 3])
    log.sending(batch)
    log.answered(batch, 0, {"id": "O-1"}, "target")
    other = chunk("mem://b", [{"n": 9}, {"n": 10}], [1, 2])
    log.read(other)
    log.sending(Batch(other, [{"N": 9}], [0]))  # the run ended before the target settled it

    outcomes = log.outcomes(settled={"mem://a"})
    assert [(o.row, o.status) for o in outcomes] == [
        (1, "delivered"),
        (2, "rejected"),
        (3, "skipped"),
        (5, "delivered"),  # sent, settled without an answer of its own
        (4, "rejected"),
        (1, "pending"),
        (2, "pending"),
    ]
    one = outcomes[0].as_dict()
    assert one["answer"] == {"id": "O-1"} and one["answers"] == {"target": {"id": "O-1"}}
    assert one["input"] == {"n": 1} and one["output"] == {"N": 1}
    assert outcomes[1].as_dict()["reason"] == "qty: 'ten' is not an integer"
    assert outcomes[4].input == "x,y" and outcomes[4].stage == "parse"


def test_a_record_of_a_settled_item_never_sent_was_left_out() -> None:
    log = RecordLog()
    c = chunk("mem://a", [{"n": 1}, {"n": 2}], [1, 2])
    log.read(c)
    log.sending(Batch(c, [{"N": 2}], [1]))  # record 1 unchanged since its last delivery
    assert [o.status for o in log.outcomes(settled={"mem://a"})] == ["left_out", "delivered"]


def test_answers_of_several_steps_stay_apart_and_the_last_is_the_answer() -> None:
    log = RecordLog()
    c = chunk("mem://a", [{"n": 1}], [1])
    log.read(c)
    batch = Batch(c, [{"N": 1}], [0])
    log.sending(batch)
    log.answered(batch, 0, {"id": "R-1"}, "create-receipt")
    log.answered(batch, 0, {"status": "RECEIVED"}, "receive")
    [outcome] = log.outcomes(settled=set())
    assert outcome.status == "delivered"
    assert outcome.as_dict()["answers"] == {
        "create-receipt": {"id": "R-1"},
        "receive": {"status": "RECEIVED"},
    }
    assert outcome.as_dict()["answer"] == {"status": "RECEIVED"}
