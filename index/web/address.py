"""Which network addresses a fetch may connect to.

A server that fetches URLs on its users' behalf must not become a way to probe the network
behind it (SSRF). The check runs where the connection is made, not on the URL: every
connection, redirects included, resolves the host once, refuses it when any of its
addresses is private, loopback, link-local, multicast or reserved, and then connects to the
address it checked, so a name that resolves differently a moment later (DNS rebinding)
cannot slip through. IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4,
IPv4-compatible) are judged by that address.

Every connection also keeps the response's total deadline (`index.web.deadline`): DNS runs
with the time left, each socket call gets at most the time left, and the socket is handed
to the deadline's watchdog.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import httpcore

from index.errors import AddressRefused
from index.web.deadline import Deadline, active

Resolve = Callable[[str, int], list[str]]
SETTING = "NEWSQA_FETCH__ALLOW_PRIVATE_ADDRESSES"


def resolve(host: str, port: int) -> list[str]:
    """Every IP address `host` resolves to (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPATIBLE = ipaddress.ip_network("::/96")  # ::a.b.c.d, deprecated but still routed


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries: IPv4-mapped (::ffff:a.b.c.d), NAT64
    (64:ff9b::a.b.c.d), 6to4 (2002:AABB:CCDD::) or IPv4-compatible (::a.b.c.d)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _COMPATIBLE and int(ip) > 1):  # not :: or ::1
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(address: str) -> bool:
    """Whether `address` is a global unicast address (not private, loopback, link-local,
    multicast, reserved or unspecified); an IPv6 address carrying an IPv4 one is judged
    by both."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    inner = embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    if inner is not None and not (inner.is_global and not inner.is_multicast):
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return True  # ::ffff:a.b.c.d is that IPv4 address, nothing else
    return ip.is_global and not ip.is_multicast


class AddressPolicy:
    """Decides, per connection, which address to connect to or why not."""

    def __init__(self, *, allow_private: bool, allowed_hosts: Iterable[str] = (),
                 resolver: Resolve = resolve) -> None:
        self.allow_private = allow_private
        # "host" allows every port of it; "host:port" (or "[v6]:port") that port only.
        self.allowed_hosts = {split_host_port(h) for h in allowed_hosts}
        self.resolver = resolver

    def allowed(self, host: str, port: int) -> bool:
        """Whether `host` (a name or an address) at `port` is listed as allowed."""
        name = host.lower().strip("[]")
        return (name, None) in self.allowed_hosts or (name, port) in self.allowed_hosts

    def address(self, host: str, port: int, deadline: Deadline | None = None) -> str:
        """The address to connect to for `host`; AddressRefused when it is not public and
        neither the setting nor `allowed_hosts` allows it. With a `deadline`, DNS gets only
        the time left (httpcore.ConnectTimeout after it)."""
        name = host.lower().strip("[]")
        try:
            addresses = self._resolve(name, port, deadline)
        except OSError as exc:
            raise AddressRefused(host, f"cannot resolve host {host!r} ({exc})") from None
        if not addresses:
            raise AddressRefused(host, f"host {host!r} has no address")
        if self.allow_private or self.allowed(name, port):
            return addresses[0]
        # Every address must pass: a name may not mix a public address with a private one.
        blocked = [a for a in addresses if not is_public(a) and not self.allowed(a, port)]
        if blocked:
            raise AddressRefused(
                host, f"{_named(host, blocked[0])} a private, loopback or link-local address; "
                f"refused so this server cannot be used to probe its own network (set "
                f"{SETTING}=true, or list the host in NEWSQA_FETCH__ALLOWED_HOSTS, to allow "
                "it)")
        return addresses[0]

    def _resolve(self, name: str, port: int, deadline: Deadline | None) -> list[str]:
        if deadline is None:
            return self.resolver(name, port)
        # getaddrinfo cannot be interrupted: it runs aside, and is given up at the deadline
        # (the lookup thread ends on its own when the resolver answers).
        future = _dns().submit(self.resolver, name, port)
        try:
            return future.result(timeout=deadline.left())
        except FutureTimeout:
            raise httpcore.ConnectTimeout(f"no address for {name!r} before the total "
                                          "timeout") from None


def split_host_port(entry: str) -> tuple[str, int | None]:
    """An ALLOWED_HOSTS entry as (host, port or None): "feeds.local", "feeds.local:8080",
    "10.0.0.5:8080", "[fd00::1]:8080" or "fd00::1"."""
    entry = entry.strip().lower()
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest.removeprefix(":")
        return host, int(port) if port.isdigit() else None
    host, sep, port = entry.rpartition(":")
    if sep and port.isdigit() and ":" not in host:  # one colon: host:port, not IPv6
        return host, int(port)
    return entry, None


@functools.cache
def _dns() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="newsqa-dns")


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every socket call ends by the thread's active deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def _cap(self, timeout: float | None, error: type[Exception]) -> float | None:
        deadline = active()
        if deadline is None:
            return timeout
        deadline.watch(self._stream.get_extra_info("socket"))
        try:
            return deadline.cap(timeout)
        except TimeoutError:
            raise error("the total timeout passed") from None

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._cap(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._cap(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        capped = self._cap(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, capped))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, connecting only where `AddressPolicy` allows, within
    the thread's active deadline."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        deadline = active()
        address = self.policy.address(host, port, deadline)
        if deadline is not None:
            try:
                timeout = deadline.cap(timeout)
            except TimeoutError:
                raise httpcore.ConnectTimeout("the total timeout passed") from None
        return DeadlineStream(super().connect_tcp(address, port, timeout, local_address,
                                                  socket_options))


def guarded_pool(policy: AddressPolicy, ssl_context: Any) -> httpcore.ConnectionPool:
    """A connection pool whose every connection goes through `policy` (TLS still checks
    the certificate against the host name, not the address)."""
    return httpcore.ConnectionPool(ssl_context=ssl_context, network_backend=GuardedBackend(policy),
                                   max_connections=8, max_keepalive_connections=4)


def _named(host: str, address: str) -> str:
    return f"{host} is" if host.strip("[]") == address else f"{host} resolves to {address},"
