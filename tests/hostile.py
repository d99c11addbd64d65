"""A hostile site on loopback: a raw TCP server whose every connection is handed to the
test's own function, which writes whatever bytes (and at whatever pace) it likes. Nothing
leaves 127.0.0.1, and every handler stops by itself (bounded loops) or when the client
hangs up."""

from __future__ import annotations

import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator

MB = 1 << 20
Handler = Callable[[socket.socket, str], None]  # (connection, request path)


class HostileSite:
    """`site.on("/x", handler)`; `site.url("/x")`. Unknown paths get a 404."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def on(self, path: str, handler: Handler) -> None:
        self.handlers[path] = handler

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                data = conn.recv(4096)
                if not data:
                    return
                head += data
            path = head.split(b" ", 2)[1].decode("latin-1").split("?", 1)[0]
            handler = self.handlers.get(path)
            if handler is None:
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
            else:
                handler(conn, path)
        except OSError:
            pass  # the client hung up: what a refused response looks like from here
        finally:
            conn.close()


def respond(body: bytes, *, encoding: str | None = None,
            content_type: str = "text/html; charset=utf-8") -> Handler:
    """A handler sending `body` whole (already encoded), closing the connection after."""
    def handler(conn: socket.socket, path: str) -> None:
        lines = ["HTTP/1.1 200 OK", f"Content-Type: {content_type}",
                 f"Content-Length: {len(body)}", "Connection: close"]
        if encoding:
            lines.append(f"Content-Encoding: {encoding}")
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return handler


def trickle_headers(seconds: float) -> Handler:
    """Starts a response, then sends header bytes one at a time, 0.2 s apart, for
    `seconds` (each byte well inside the read timeout)."""
    def handler(conn: socket.socket, path: str) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            conn.sendall(b"X")
            time.sleep(0.2)
    return handler


def empty_deflate_blocks(seconds: float) -> Handler:
    """A gzip body that never ends and never decodes to a byte: empty blocks, 0.1 s
    apart, for `seconds`."""
    def handler(conn: socket.socket, path: str) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                     b"Content-Encoding: gzip\r\nConnection: close\r\n\r\n")
        z = zlib.compressobj(6, zlib.DEFLATED, 31)
        conn.sendall(z.compress(b"<html>") + z.flush(zlib.Z_SYNC_FLUSH))  # byte-aligned
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            conn.sendall(b"\x00\x00\x00\xff\xff")  # a stored block of length 0
            time.sleep(0.1)
    return handler


def _zeros(n_mb: int) -> Iterator[bytes]:
    block = bytes(MB)
    for _ in range(n_mb):
        yield block


def gzip_bomb(n_mb: int) -> bytes:
    """A valid gzip body of `n_mb` MB of zeros (members concatenated, ~1 KB each)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    member = z.compress(bytes(MB)) + z.flush()
    return member * n_mb


def gzip_bytes(data: bytes) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    return z.compress(data) + z.flush()


def brotli_bomb(n_mb: int) -> bytes:
    import brotli

    c = brotli.Compressor(quality=0)
    return b"".join([*(c.process(b) for b in _zeros(n_mb)), c.finish()])


def zstd_bomb(n_mb: int) -> bytes:
    from backports import zstd

    return zstd.compress(bytes(MB), level=19) * n_mb  # frames concatenated
