"""Who may use the server, and for what.

Two roles:

* `reader`: may ask (the chat, its `/ask` endpoint, `POST /api/ask`) and read articles,
  sources, jobs and health.
* `editor`: may also add articles (chat uploads, `POST /api/articles`) and remove them.

Credentials, none of them interchangeable with another:

* Chat logins (Gradio's login page, or HTTP Basic auth on `/api`): the users of the users
  file (`NEWSQA_SERVE__USERS_FILE`, `ui.userfile`: bcrypt hashes, each with its role) and
  the `--auth USER:PASSWORD` login (NEWSQA_SERVE__AUTH), which is an editor.
* Bearer tokens on `/api` only: the write token (`--api-token`, NEWSQA_SERVE__API_TOKEN)
  is an editor's, the read token (`--read-token`, NEWSQA_SERVE__READ_TOKEN) a reader's.
  A token is never a chat password, and a password never a bearer token.

With any credential set, every route but `/api/health` needs one, and `/api/health`
without one answers only `{"status": "ok"}`. The server refuses what a role may not do
(`ui.guard`, the chat's handlers, `ui.api`); the chat also hides it. Secrets are compared
in constant time (bcrypt for the users file) and never logged or printed.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import SettingsError
from ui.userfile import Role, UserBook, read_users

EDITOR: Role = "editor"
READER: Role = "reader"


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
    """The credentials a server takes: the `--auth` login (an editor), the users file's
    logins, the write token and the read token; none set: everyone is an editor."""

    login: tuple[str, str] | None = None
    token: str | None = None
    read_token: str | None = None
    users: UserBook | None = None

    def __repr__(self) -> str:  # never print the secrets
        shown = {k: "set" if getattr(self, k) else None
                 for k in ("login", "token", "read_token")}
        users = len(self.users.users) if self.users else None
        return (f"Access(login={shown['login']}, token={shown['token']}, "
                f"read_token={shown['read_token']}, users={users})")

    @property
    def on(self) -> bool:
        return (self.login is not None or self.token is not None
                or self.read_token is not None or self.users is not None)

    @property
    def chat_logins(self) -> bool:
        """Whether anyone can log in to the chat (tokens cannot)."""
        return self.login is not None or bool(self.users and self.users.users)

    def role(self, user: str | None) -> Role | None:
        """The role of a chat user logged in as `user`; everyone's when auth is off."""
        if not self.on:
            return EDITOR
        if user is None:
            return None
        if self.login is not None and same(user, self.login[0]):
            return EDITOR
        return self.users.role(user) if self.users else None

    def may_edit(self, user: str | None) -> bool:
        """Whether the chat user `user` may add and remove articles."""
        return self.role(user) == EDITOR

    def login_ok(self, user: str, password: str) -> bool:
        """Gradio's login check: the `--auth` login or a users-file user; never a token."""
        if self.login is not None and same(user, self.login[0]):
            return same(password, self.login[1])
        return self.users.check(user, password) if self.users is not None else False

    def gradio_auth(self) -> Callable[[str, str], Awaitable[bool]] | None:
        """Gradio's `auth`: a coroutine, so that a bcrypt check (~0.2 s) runs in a thread
        instead of stalling the event loop."""
        if not self.on:
            return None

        async def check(user: str, password: str) -> bool:
            import anyio.to_thread

            return await anyio.to_thread.run_sync(self.login_ok, user, password)

        return check

    def api_role(self, header: str | None) -> Role | None:
        """The role an `Authorization` header gives on the API: `Bearer` the write token
        (editor) or the read token (reader), `Basic` a chat login (its role); None for
        none or a wrong one. Everyone is an editor when auth is off."""
        if not self.on:
            return EDITOR
        scheme, _, value = (header or "").partition(" ")
        scheme, value = scheme.lower(), value.strip()
        if scheme == "bearer":
            if self.token is not None and same(value, self.token):
                return EDITOR
            if self.read_token is not None and same(value, self.read_token):
                return READER
            return None
        if scheme == "basic" and self.chat_logins:
            try:
                user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            return self.role(user) if self.login_ok(user, password) else None
        return None

    def api_ok(self, header: str | None) -> bool:
        """Whether an `Authorization` header opens the API at all (any role)."""
        return self.api_role(header) is not None

    def challenge(self) -> tuple[str, str]:
        """(WWW-Authenticate header, what to send) for a 401 of the API."""
        if self.token is not None or self.read_token is not None:
            login = (" or a chat login as HTTP Basic auth (curl -u USER:PASSWORD)"
                     if self.chat_logins else "")
            return "Bearer", ("send the header `Authorization: Bearer TOKEN` with the "
                              "server's write token (NEWSQA_SERVE__API_TOKEN) or read token "
                              f"(NEWSQA_SERVE__READ_TOKEN){login}")
        return 'Basic realm="newsqa"', ("send a chat login as HTTP Basic auth (curl -u "
                                        "USER:PASSWORD), or give the server an API token")

    def describe(self) -> str:
        """For the start-up lines (counts and kinds, never a secret)."""
        parts = []
        if self.login is not None:
            parts.append("chat login on")
        if self.users is not None:
            counts = self.users.counts()
            parts.append(f"users file: {counts['reader']} reader(s), "
                         f"{counts['editor']} editor(s)")
        if self.token is not None:
            parts.append("API token required")
        if self.read_token is not None:
            parts.append("read token on")
        if parts and not self.chat_logins:
            parts.append("the chat has no login (add --auth USER:PASSWORD or "
                         "NEWSQA_SERVE__USERS_FILE)")
        return "; ".join(parts) or "off (no login, no API token)"


def make_access(auth: str | None, token: str | None, read_token: str | None = None,
                users_file: Path | None = None) -> Access:
    """From the --auth, --api-token, --read-token and --users-file values (or their
    settings); SettingsError for a malformed login or users file, or one token twice."""
    token = (token or "").strip() or None
    read_token = (read_token or "").strip() or None
    if token is not None and read_token is not None and same(token, read_token):
        raise SettingsError("the read token (NEWSQA_SERVE__READ_TOKEN) is the same as the API "
                            "token (NEWSQA_SERVE__API_TOKEN), which may write; give them "
                            "different values")
    login = parse_login(auth)
    users = None
    if users_file is not None:
        path = Path(users_file).expanduser()
        users = UserBook(read_users(path), path)
        if login is not None and login[0] in users.users:
            raise SettingsError(f"user {login[0]!r} is both the --auth login "
                                f"(NEWSQA_SERVE__AUTH) and in the users file {path}; "
                                "keep one of them")
    return Access(login, token, read_token, users)
