"""The total timeout of one response, from DNS to the last byte, whatever trickles.

A check that runs when a body chunk arrives misses a server that trickles its headers a
byte a second, or a TLS handshake, or a gzip body of empty blocks (each case hung an
ingest for minutes). So the deadline works at the socket: every connect, read and write of
the connection is given at most the time left (`cap`), DNS runs with the time left, and a
watchdog timer shuts the connection's socket down at the deadline, which wakes any
blocking call still inside it.

The active deadline is per thread (`running`), since httpcore connects and reads on the
thread that sent the request; the connection layer (`index.web.address`) finds it there.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator


class Deadline:
    """`seconds` from its start; `passed` once they are up."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._fired = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    @property
    def passed(self) -> bool:
        return self._fired or time.monotonic() >= self.at

    def left(self) -> float:
        """Seconds left (0 once passed)."""
        return max(0.0, self.at - time.monotonic())

    def cap(self, timeout: float | None) -> float:
        """`timeout` for one socket call, no later than the deadline; socket.timeout at
        once when it has passed."""
        left = self.left()
        if left <= 0:
            raise TimeoutError("the total timeout passed")
        return left if timeout is None else min(timeout, left)

    def watch(self, sock: socket.socket | None) -> None:
        """Shut `sock` down at the deadline (at once if it has passed)."""
        if sock is None:
            return
        with self._lock:
            if sock not in self._sockets:
                self._sockets.append(sock)
            fired = self._fired
        if fired:
            _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            self._fired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    @contextlib.contextmanager
    def running(self) -> Iterator[Deadline]:
        """Start the watchdog and make this the thread's active deadline."""
        previous = getattr(_active, "deadline", None)
        _active.deadline = self
        self._timer.start()
        try:
            yield self
        finally:
            self._timer.cancel()
            _active.deadline = previous


_active = threading.local()


def active() -> Deadline | None:
    """The deadline of the response this thread is fetching, if any."""
    return getattr(_active, "deadline", None)


def _shut(sock: socket.socket) -> None:
    # shutdown, not close: the descriptor stays valid for the thread blocked in it, which
    # wakes with an error; closing it under that thread could hand its number to another.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
