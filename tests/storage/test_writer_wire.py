"""Framing between the flusher and its writer: whole messages over a real socket pair,
also when a signal cuts a read short, and a clear WireClosed for a broken stream."""
from __future__ import annotations

import platform
import signal
import socket
import struct
import threading
import time

import pytest

from cbserver.storage.writer_wire import WireClosed, encode, receive

RECVFROM = 45  # x86_64 system call number, as /proc/<pid>/task/<tid>/syscall shows it


@pytest.fixture
def pair():
    ours, theirs = socket.socketpair()
    yield ours, theirs
    ours.close()
    theirs.close()


def test_messages_arrive_whole_and_in_order(pair) -> None:
    ours, theirs = pair
    entries = [b"k", (b"v" * 300, 0, (1 << 63) + 5, 0, 9, 0, 0.0), b"gone", 10]
    commit = ("commit", False, 10, entries, [], ["log.1", "log.2"])
    ours.sendall(encode(("ready", 42)) + encode(commit) + encode(("stop",)))
    assert receive(theirs) == ("ready", 42)
    assert receive(theirs) == commit
    assert receive(theirs) == ("stop",)


@pytest.mark.skipif(platform.machine() != "x86_64", reason="reads x86_64 system call numbers")
def test_a_read_cut_short_by_a_signal_is_topped_up(pair) -> None:
    ours, theirs = pair
    message = ("fold", None, ["x" * 100_000])
    frame = encode(message)
    half = len(frame) // 2
    interrupted = threading.Event()
    previous = signal.signal(signal.SIGALRM, lambda *_: interrupted.set())

    def send_in_two_parts() -> None:
        ours.sendall(frame[:half])
        _wait_until_in_recvfrom(threading.main_thread().native_id)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGALRM)
        interrupted.wait(30)
        ours.sendall(frame[half:])

    sender = threading.Thread(target=send_in_two_parts)
    try:
        sender.start()
        assert receive(theirs) == message
    finally:
        sender.join()
        signal.signal(signal.SIGALRM, previous)
    assert interrupted.is_set()


def _wait_until_in_recvfrom(tid: int) -> None:
    """Wait until thread ``tid`` blocks in ``recvfrom`` (so the signal lands inside it)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with open(f"/proc/self/task/{tid}/syscall") as handle:
            if handle.read().split()[0] == str(RECVFROM):
                return
        time.sleep(0.001)
    raise AssertionError("the reader never blocked in recvfrom")


def test_end_of_stream_inside_a_frame_raises_wire_closed(pair) -> None:
    ours, theirs = pair
    ours.sendall(encode(("ready", 1))[:-3])
    ours.shutdown(socket.SHUT_WR)
    with pytest.raises(WireClosed, match="closed"):
        receive(theirs)


def test_a_frame_of_length_zero_raises_wire_closed(pair) -> None:
    ours, theirs = pair
    ours.sendall(struct.pack(">I", 0))
    with pytest.raises(WireClosed, match="length 0"):
        receive(theirs)
