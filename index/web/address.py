"""Which network addresses a fetch may connect to.

A server that fetches URLs on its users' behalf must not become a way to probe the network
behind it (SSRF). The check runs where the connection is made, not on the URL: every
connection, redirects included, resolves the host once, refuses it when any of its
addresses is private, loopback, link-local, multicast or reserved, and then connects to the
address it checked, so a name that resolves differently a moment later (DNS rebinding)
cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any

import httpcore

from index.errors import AddressRefused

Resolve = Callable[[str, int], list[str]]
SETTING = "NEWSQA_FETCH__ALLOW_PRIVATE_ADDRESSES"


def resolve(host: str, port: int) -> list[str]:
    """Every IP address `host` resolves to (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: str) -> bool:
    """Whether `address` is a global unicast address (not private, loopback, link-local,
    multicast, reserved or unspecified); IPv4-mapped IPv6 is judged as its IPv4."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class AddressPolicy:
    """Decides, per connection, which address to connect to or why not."""

    def __init__(self, *, allow_private: bool, allowed_hosts: Iterable[str] = (),
                 resolver: Resolve = resolve) -> None:
        self.allow_private = allow_private
        self.allowed_hosts = {h.lower().strip("[]") for h in allowed_hosts}
        self.resolver = resolver

    def address(self, host: str, port: int) -> str:
        """The address to connect to for `host`; AddressRefused when it is not public and
        neither the setting nor `allowed_hosts` allows it."""
        name = host.lower().strip("[]")
        try:
            addresses = self.resolver(name, port)
        except OSError as exc:
            raise AddressRefused(host, f"cannot resolve host {host!r} ({exc})") from None
        if not addresses:
            raise AddressRefused(host, f"host {host!r} has no address")
        if self.allow_private or name in self.allowed_hosts:
            return addresses[0]
        # Every address must pass: a name may not mix a public address with a private one.
        blocked = [a for a in addresses if not is_public(a) and a not in self.allowed_hosts]
        if blocked:
            raise AddressRefused(
                host, f"{_named(host, blocked[0])} a private, loopback or link-local address; "
                f"refused so this server cannot be used to probe its own network (set "
                f"{SETTING}=true, or list the host in NEWSQA_FETCH__ALLOWED_HOSTS, to allow "
                "it)")
        return addresses[0]


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, connecting only where `AddressPolicy` allows."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        address = self.policy.address(host, port)
        return super().connect_tcp(address, port, timeout, local_address, socket_options)


def guarded_pool(policy: AddressPolicy, ssl_context: Any) -> httpcore.ConnectionPool:
    """A connection pool whose every connection goes through `policy` (TLS still checks
    the certificate against the host name, not the address)."""
    return httpcore.ConnectionPool(ssl_context=ssl_context, network_backend=GuardedBackend(policy),
                                   max_connections=8, max_keepalive_connections=4)


def _named(host: str, address: str) -> str:
    return f"{host} is" if host.strip("[]") == address else f"{host} resolves to {address},"
