"""Frames on pipes: incremental reading gives back exactly what was sent, within a size cap."""

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder import frames


@given(st.lists(st.binary(max_size=50), max_size=8), st.integers(1, 17))
def test_reader_reassembles_frames_from_any_chunking(payloads, chunk):
    data = b"".join(frames.pack_frame(p) for p in payloads)
    reader = frames.FrameReader(max_bytes=100)
    got = []
    for i in range(0, len(data), chunk):
        got += reader.feed(data[i : i + chunk])
    assert got == payloads and not reader.buffer


def test_reader_refuses_an_oversized_frame_before_reading_it():
    reader = frames.FrameReader(max_bytes=10)
    with pytest.raises(frames.DataError, match="exceeds"):
        reader.feed(frames.pack_frame(b"x" * 11)[:8])


def test_blocking_reader_reports_a_clean_end_and_a_torn_frame():
    assert frames.read_frame(io.BytesIO(b""), 10) is None
    stream = io.BytesIO(frames.pack_frame(b"hello") + frames.pack_frame(b"world")[:10])
    assert frames.read_frame(stream, 10) == b"hello"
    with pytest.raises(frames.DataError, match="ended inside"):
        frames.read_frame(stream, 10)


def test_a_frame_read_into_its_own_buffer():
    """The sandbox host reads a submission's source straight into a bytearray (no copy on the
    way) and writes it to its child from there: both ends of that, on a real pipe."""
    import os

    from autograder.frames import DataError, read_frame_into, write_frame

    payload = bytearray("# é 中文\n".encode() * 5000)
    read, write = os.pipe()
    with os.fdopen(read, "rb", buffering=0) as stream:
        pid = os.fork()
        if pid == 0:  # a writer of its own: the frame is larger than the pipe holds
            os.close(read)
            write_frame(write, payload)
            os._exit(0)
        os.close(write)
        got = read_frame_into(stream, 10 * len(payload))
        os.waitpid(pid, 0)
        assert got == payload and isinstance(got, bytearray)
        assert read_frame_into(stream, 10) is None  # a clean end
    read, write = os.pipe()
    os.write(write, len(payload).to_bytes(8, "big") + b"cut short")
    os.close(write)
    with os.fdopen(read, "rb", buffering=0) as stream, pytest.raises(DataError):
        read_frame_into(stream, 10 * len(payload))


def test_the_template_socket_keeps_each_message_apart_with_its_descriptors():
    """The host and its template talk over a stream socket (macOS has no AF_UNIX
    SOCK_SEQPACKET): each message is framed by its length, and the descriptors sent with one
    arrive with that one, whatever follows it."""
    import json
    import os
    import socket

    from autograder.sandbox import template

    host_end, template_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    read, write = os.pipe()
    template._send(host_end, {"op": "one"}, [read])
    template._send(host_end, {"op": "two", "padding": "x" * 3000})
    data, fds = template._message(template_end)
    assert json.loads(data) == {"op": "one"} and len(fds) == 1
    os.write(write, b"!")
    assert os.read(fds[0], 1) == b"!"  # the pipe itself, passed across
    data, more = template._message(template_end)
    assert json.loads(data) == {"op": "two", "padding": "x" * 3000} and more == []
    with pytest.raises(BlockingIOError):
        template._message(template_end, socket.MSG_DONTWAIT)  # nothing there, and no wait
    host_end.close()
    assert template._message(template_end) == (b"", [])  # the other end is gone
    for fd in (read, write, fds[0]):
        os.close(fd)
    template_end.close()
