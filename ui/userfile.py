"""The users file of a shared server (NEWSQA_SERVE__USERS_FILE): chat logins with a role,
their passwords stored only as bcrypt hashes.

One user a line, `NAME:ROLE:BCRYPT-HASH`; blank lines and lines starting with `#` are
ignored:

    # newsqa users (newsqa users add NAME --role reader|editor --file PATH)
    alice:reader:$2b$12$G0o7...53 characters of salt and hash...
    eddie:editor:$2b$12$Xk1q...

* `reader`: may ask and read articles (the chat, `/ask`, the read routes of `/api`).
* `editor`: may also add articles (uploads, `POST /api/articles`) and remove them.

A line that is not of that form, an unknown role or a password that is not a bcrypt hash
(plain text is never accepted at rest) is a `SettingsError` naming the file and the line,
never echoing the line (it may hold a password). `newsqa users add` (`ui.users`) writes the
file: atomically, readable by its owner only.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

import bcrypt

from assistant.errors import SettingsError

Role = Literal["reader", "editor"]
ROLES: tuple[Role, ...] = ("reader", "editor")
ROUNDS = 12  # bcrypt's cost: ~0.2 s a check on one core, so guessing stays slow
MAX_PASSWORD_BYTES = 72  # bcrypt reads no further; longer passwords are refused, not cut
NAME = re.compile(r"[^\s:#][^\s:]{0,63}")
BCRYPT = re.compile(r"\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}")
HEADER = ("# newsqa users, one a line: NAME:ROLE:BCRYPT-HASH (ROLE is reader or editor).\n"
          "# Add or change one with: newsqa users add NAME --role reader|editor --file "
          "THIS_FILE\n")
# Checked when the name is unknown, so a wrong name costs the same time as a wrong password.
_DUMMY = b"$2b$12$e7Tbm0LUJ7/C7gbaNuEYbu3prlg6c//BHLgmKfvJIEEmNU57Jr6rK"


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    hashed: bytes = field(repr=False)  # never printed


def hash_password(password: str, rounds: int = ROUNDS) -> bytes:
    """The bcrypt hash stored for `password` (SettingsError when bcrypt cannot take it)."""
    check_new_password(password)
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds))


def check_new_password(password: str) -> None:
    if len(password) < 8:
        raise SettingsError("the password is shorter than 8 characters; choose a longer one")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise SettingsError(f"the password is over {MAX_PASSWORD_BYTES} bytes (UTF-8), all "
                            "bcrypt reads; choose a shorter one")


# One bcrypt check at a time (~0.2 s of one core each): a flood of wrong logins then only
# queues behind itself, and the other core keeps answering questions.
_ONE_CHECK = threading.Lock()


def password_matches(password: str, hashed: bytes) -> bool:
    """bcrypt's check (constant time); False for a password bcrypt cannot take."""
    raw = password.encode("utf-8")
    with _ONE_CHECK:
        if len(raw) > MAX_PASSWORD_BYTES:
            bcrypt.checkpw(b"", _DUMMY)  # the same time as a wrong password
            return False
        try:
            return bcrypt.checkpw(raw, hashed)
        except ValueError:
            return False


def _fix(path: Path, name: str = "NAME") -> str:
    return (f"delete the line and add the user with `newsqa users add {name} --role "
            f"reader|editor --file {path}`, which asks for the password and stores only its "
            "bcrypt hash")


def parse_users(text: str, path: Path) -> dict[str, User]:
    """The users of a users file's text, by name; SettingsError naming `path` and the line."""
    users: dict[str, User] = {}
    first: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"users file {path}, line {number}"
        parts = line.split(":")
        if len(parts) != 3:
            raise SettingsError(
                f"{where}: expected NAME:ROLE:BCRYPT-HASH (3 fields separated by ':'), found "
                f"{len(parts)} field(s); {_fix(path)}")
        name, role, hashed = (p.strip() for p in parts)
        if not NAME.fullmatch(name):
            raise SettingsError(f"{where}: the user name is empty, has spaces or is over 64 "
                                f"characters; {_fix(path)}")
        if role not in ROLES:
            raise SettingsError(f"{where}: user {name!r} has the role {role[:20]!r}, which "
                                "is not reader or editor; write one of them")
        if not BCRYPT.fullmatch(hashed):
            raise SettingsError(
                f"{where}: the password of user {name!r} is not a bcrypt hash, and plain-text "
                f"passwords are not accepted; {_fix(path, name)}")
        if name in users:
            raise SettingsError(f"{where}: user {name!r} is listed twice (first on line "
                                f"{first[name]}); keep one line per user")
        users[name] = User(name, cast(Role, role), hashed.encode("ascii"))
        first[name] = number
    return users


def read_users(path: Path) -> dict[str, User]:
    """The users file at `path` (SettingsError saying what to do when it cannot be used)."""
    where = f"the users file (NEWSQA_SERVE__USERS_FILE or --users-file) is {str(path)!r}"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(f"{where}, which does not exist; create it with `newsqa users "
                            f"add NAME --role editor --file {path}`") from None
    except IsADirectoryError:
        raise SettingsError(f"{where}, which is a folder; point it at a file") from None
    except PermissionError:
        raise SettingsError(f"{where}, which this user cannot read; fix its "
                            "permissions") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{where}, which is not UTF-8 text; write it with `newsqa users "
                            "add`") from None
    return parse_users(text, path)


def write_users(path: Path, users: Mapping[str, User]) -> None:
    """Replace the file with these users (comments kept at the top), atomically and
    readable by its owner only (0600): the hashes are still worth guessing at."""
    comments = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip().startswith("#") or not line.strip():
                comments.append(line)
            else:
                break
    head = "\n".join(comments) + "\n" if comments else HEADER
    body = "".join(f"{u.name}:{u.role}:{u.hashed.decode('ascii')}\n" for u in users.values())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".users-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(head + body)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class UserBook:
    """The users of a users file, checking passwords. A right password is remembered (as
    an HMAC under a key of this process, never the password), so HTTP Basic auth on the
    API costs one bcrypt check per user and password, not one per request."""

    def __init__(self, users: Mapping[str, User], path: Path | None = None) -> None:
        self.users = dict(users)
        self.path = path
        self._key = secrets.token_bytes(32)
        self._known: set[bytes] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"UserBook({len(self.users)} user(s))"

    def role(self, name: str | None) -> Role | None:
        user = self.users.get(name or "")
        return user.role if user else None

    def check(self, name: str, password: str) -> bool:
        """Whether `password` is `name`'s (constant time; unknown names cost the same)."""
        tag = hmac.new(self._key, f"{name}\0{password}".encode(), hashlib.sha256).digest()
        with self._lock:
            if tag in self._known:
                return True
        user = self.users.get(name)
        ok = password_matches(password, user.hashed if user else _DUMMY) and user is not None
        if ok:
            with self._lock:
                if len(self._known) > 4096:  # bounded: forget all, re-check on next use
                    self._known.clear()
                self._known.add(tag)
        return ok

    def counts(self) -> dict[str, int]:
        return {role: sum(1 for u in self.users.values() if u.role == role) for role in ROLES}
