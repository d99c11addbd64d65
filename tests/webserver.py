"""A loopback HTTP server for fetch and feed tests: routes are set per test, requests are
counted per path, and a few hostile behaviours are built in (stall, endless body, redirect
loop). Nothing leaves 127.0.0.1."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape


@dataclass
class Route:
    """What one path answers. `body` may be a callable (evaluated per request)."""

    body: bytes | Callable[[], bytes] = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    location: str | None = None  # a redirect target
    etag: bool = False  # answer If-None-Match with 304 while the body is unchanged
    stall_s: float = 0.0  # send headers, then nothing for this long
    endless_mb: int = 0  # stream this many MB of filler without Content-Length
    headers: dict[str, str] = field(default_factory=dict)


class WebServer:
    """`server.route("/feed.xml", Route(...))`, then fetch `server.url("/feed.xml")`."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()  # body bytes sent per path
        self.conditional: Counter[str] = Counter()  # requests with If-None-Match
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                owner._serve(self)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client hanging up mid-body is what the size-limit tests do

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, route: Route) -> None:
        self.routes[path] = route

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?", 1)[0]  # the query does not pick the route
        self.hits[path] += 1
        route = self.routes.get(path)
        if route is None:
            return self._send(h, path, 404, "text/plain", b"not found", {})
        if route.location is not None:
            return self._send(h, path, route.status if route.status in (301, 302, 303, 307, 308)
                              else 302, "text/plain", b"", {"Location": route.location})
        body = route.body() if callable(route.body) else route.body
        headers = dict(route.headers)
        if route.etag:
            tag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            headers["ETag"] = tag
            headers["Last-Modified"] = formatdate(usegmt=True)
            if h.headers.get("If-None-Match"):
                self.conditional[path] += 1
                if h.headers.get("If-None-Match") == tag:
                    return self._send(h, path, 304, None, b"", {"ETag": tag})
        if route.stall_s:
            h.send_response(200)
            h.send_header("Content-Type", route.content_type)
            h.send_header("Content-Length", "100")
            h.end_headers()
            h.wfile.flush()
            time.sleep(route.stall_s)
            return None
        if route.endless_mb:
            h.send_response(200)
            h.send_header("Content-Type", route.content_type)
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            block = b"<p>" + b"x" * 65529 + b"</p>"
            try:
                for _ in range(route.endless_mb * 16):
                    h.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
                    self.sent[path] += len(block)
                h.wfile.write(b"0\r\n\r\n")
            except OSError:  # the client hung up: what the size limit is for
                pass
            return None
        return self._send(h, path, route.status, route.content_type, body, headers)

    def _send(self, h: BaseHTTPRequestHandler, path: str, status: int,
              content_type: str | None, body: bytes, headers: dict[str, str]) -> None:
        h.send_response(status)
        if content_type:
            h.send_header("Content-Type", content_type)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if status != 304:
            h.wfile.write(body)
            self.sent[path] += len(body)


def page(title: str, paragraphs: list[str], date: str | None = None,
         canonical: str | None = None) -> bytes:
    """An article page as a news site would serve it."""
    meta = f'<meta property="article:published_time" content="{date}">' if date else ""
    link = f'<link rel="canonical" href="{escape(canonical)}">' if canonical else ""
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (f"<!doctype html><html><head><title>{escape(title)}</title>{meta}{link}</head>"
            f"<body><nav>Home | World | Sports</nav><article><h1>{escape(title)}</h1>{body}"
            f"</article><footer>Copyright</footer></body></html>").encode()


def rss(title: str, items: list[dict[str, str]]) -> bytes:
    """An RSS 2.0 feed; each item has link, title and optionally date (RFC 822) and guid."""
    out = [f"<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel>"
           f"<title>{escape(title)}</title><link>http://example.com/</link>"
           f"<description>test</description>"]
    for it in items:
        out.append("<item>" + "".join(
            f"<{k}>{escape(it[k])}</{k}>" for k in ("title", "link", "guid", "pubDate")
            if k in it) + "</item>")
    out.append("</channel></rss>")
    return "".join(out).encode()


def atom(title: str, items: list[dict[str, str]]) -> bytes:
    """An Atom feed; each item has link, title, id and optionally updated (ISO)."""
    out = ["<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
           f"<title>{escape(title)}</title><id>urn:test</id><updated>2024-01-01T00:00:00Z"
           "</updated>"]
    for it in items:
        out.append(f"<entry><title>{escape(it['title'])}</title><id>{escape(it['id'])}</id>"
                   f"<link href=\"{escape(it['link'])}\"/>"
                   f"<updated>{it.get('updated', '2024-01-01T00:00:00Z')}</updated></entry>")
    out.append("</feed>")
    return "".join(out).encode()
