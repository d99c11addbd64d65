"""Who may use the server: the chat's login (`--auth USER:PASSWORD`) and the API's bearer
token (`--api-token` or NEWSQA_SERVE__API_TOKEN).

* The API (`/api/*` except `/api/health`) requires `Authorization: Bearer TOKEN` when a
  token is set; with only a chat login, that login as HTTP Basic auth.
* When a login or a token is set, Gradio's login guards the chat, its uploads and its
  `/ask` endpoint; the token is accepted there as the password (any user name), so one
  secret opens both.
* Tokens and passwords are compared in constant time and never logged.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from assistant.errors import SettingsError


def parse_login(auth: str | None) -> tuple[str, str] | None:
    """'user:password' -> (user, password); None when unset."""
    if not auth:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise SettingsError("auth must look like USER:PASSWORD (NEWSQA_SERVE__AUTH or --auth)")
    return user, password


def same(given: str, expected: str) -> bool:
    """Constant-time comparison of two secrets."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


@dataclass(frozen=True)
class Access:
    """The credentials a server requires (none, a login, a token, or both)."""

    login: tuple[str, str] | None = None
    token: str | None = None

    def __repr__(self) -> str:  # never print the secrets
        login, token = "set" if self.login else None, "set" if self.token else None
        return f"Access(login={login}, token={token})"

    @property
    def on(self) -> bool:
        return self.login is not None or self.token is not None

    def api_ok(self, header: str | None) -> bool:
        """Whether an `Authorization` header opens the API: `Bearer TOKEN`, or the chat
        login as HTTP Basic auth (`curl -u user:password`). True when neither is set."""
        if not self.on:
            return True
        scheme, _, value = (header or "").partition(" ")
        scheme, value = scheme.lower(), value.strip()
        if scheme == "bearer" and self.token is not None:
            return same(value, self.token)
        if scheme == "basic" and self.login is not None:
            try:
                user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            return self.login_ok(user, password)
        return False

    def challenge(self) -> tuple[str, str]:
        """(WWW-Authenticate header, what to send) for a 401 of the API."""
        if self.token is not None:
            return "Bearer", ("send the header `Authorization: Bearer TOKEN` (the server's "
                              "NEWSQA_SERVE__API_TOKEN or --api-token)")
        return 'Basic realm="newsqa"', ("send the chat login as HTTP Basic auth (curl -u "
                                        "USER:PASSWORD), or give the server an API token")

    def login_ok(self, user: str, password: str) -> bool:
        """Gradio's login check: the chat login, or the API token as password."""
        ok = False
        if self.login is not None:
            ok = same(user, self.login[0]) & same(password, self.login[1])
        if self.token is not None:
            ok = same(password, self.token) | ok
        return ok

    def gradio_auth(self) -> Callable[[str, str], bool] | None:
        return self.login_ok if self.on else None

    def describe(self) -> str:
        """For the start-up lines."""
        parts = []
        if self.login is not None:
            parts.append("chat login on")
        if self.token is not None:
            parts.append("API token required" + ("" if self.login else
                                                 " (also the chat login's password)"))
        return "; ".join(parts) or "off (no login, no API token)"


def make_access(auth: str | None, token: str | None) -> Access:
    """From the --auth and --api-token values (or their settings)."""
    token = (token or "").strip() or None
    return Access(parse_login(auth), token)
