"""The child → host protocol (`autograder.sandbox.protocol`): the host accepts each frame only
in its place, with the run's nonce and sequence number, and payloads of the announced size."""

import os

import pytest

from autograder import frames
from autograder.sandbox import protocol


def event(kind, nonce="n0", seq=0, **fields):
    return frames.pack_json({"e": kind, "n": nonce, "s": seq, **fields})[8:]


def run_through(expect, *messages):
    return [expect.frame(m) for m in messages]


def test_a_well_ordered_run_is_accepted():
    expect = protocol.Expect("n0", jobs=2)
    got = run_through(
        expect,
        event("import", seq=0),
        event("imported", seq=1, notes=[], present=[]),
        event("start", seq=2, job=0),
        event("done", seq=3, job=0, ok=True, seconds=0.1, sizes=[2, 0]),
        b"{}",
        b"",
        event("start", seq=4, job=1),
        event("done", seq=5, job=1, ok=False, error={}),
        event("finished", seq=6),
    )
    assert got[4] == b"{}" and expect.phase == "finished"


@pytest.mark.parametrize(
    "messages, why",
    [
        ([event("start", seq=0, job=0)], "where import was due"),  # nothing before the import
        ([event("import", nonce="guess", seq=0)], "nonce"),
        ([event("import", seq=1)], "out of sequence"),
        ([event("import", seq=0), event("import", seq=0)], "out of sequence"),  # a replay
        (
            [event("import", seq=0), event("imported", seq=1), event("done", seq=2, job=0, ok=True, sizes=[0, 0])],
            "was due",
        ),
        ([event("import", seq=0), event("imported", seq=1), event("start", seq=2, job=5)], "out of order"),
        (
            [event("import", seq=0), event("imported", seq=1), event("start", seq=2, job=0),
             event("done", seq=3, job=1, ok=False)],
            "not running",
        ),
        (
            [event("import", seq=0), event("imported", seq=1), event("start", seq=2, job=0),
             event("done", seq=3, job=0, ok=True, sizes=[5, 0]), b"{}"],
            "announced",
        ),
        (
            [event("import", seq=0), event("imported", seq=1), event("start", seq=2, job=0),
             event("done", seq=3, job=0, ok=True)],
            "payload sizes",
        ),
        ([b"not json"], "not JSON"),
    ],
)  # fmt: skip
def test_frames_out_of_place_are_refused(messages, why):
    expect = protocol.Expect("n0", jobs=2)
    with pytest.raises(protocol.ProtocolError, match=why):
        run_through(expect, *messages)


def test_the_sender_numbers_its_events_and_the_host_accepts_them():
    read, write = os.pipe()
    sender = protocol.Sender(write, "abc")
    sender.event(protocol.IMPORT)
    sender.event(protocol.IMPORTED, notes=[], present=["x"])
    sender.event(protocol.START, job=0)
    sender.result(0, b'{"a":1}', b"", 0.0)
    sender.event(protocol.FINISHED)
    os.close(write)
    data = b""
    while chunk := os.read(read, 65536):
        data += chunk
    os.close(read)
    expect = protocol.Expect("abc", jobs=1)
    for frame in frames.FrameReader(2**20).feed(data):
        expect.frame(frame)
    assert expect.phase == "finished"


def test_the_data_pipe_moves_to_an_unguessable_descriptor():
    seen = set()
    for _ in range(5):
        read, write = os.pipe()
        moved = protocol.high_fd(write)
        seen.add(moved)
        assert moved >= 16 and moved != write
        with pytest.raises(OSError):
            os.fstat(write)  # the original number is closed
        os.close(moved)
        os.close(read)
    assert len(seen) > 1


def test_only_a_writer_that_knew_the_nonce_makes_earlier_results_suspect():
    expect = protocol.Expect("n0", jobs=1)
    expect.frame(event("import", seq=0))
    with pytest.raises(protocol.ProtocolError) as stranger:
        expect.frame(event("imported", nonce="guess", seq=1))
    assert stranger.value.knew_nonce is False
    with pytest.raises(protocol.ProtocolError) as insider:
        expect.frame(event("imported", seq=7))
    assert insider.value.knew_nonce is True
