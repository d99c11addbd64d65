"""`newsqa users add NAME --role reader|editor [--file PATH]` and `newsqa users remove NAME
[--file PATH]`: chat logins with roles in the users file (`ui.userfile`) that `newsqa
serve` reads (NEWSQA_SERVE__USERS_FILE or --users-file; restart it to apply a change).

The password is asked twice at a terminal (not echoed), or read as the first line of
stdin when that is not a terminal (`printf '%s\\n' "$PW" | newsqa users add ...`). Only its
bcrypt hash is written."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import TextIO, cast

from assistant.errors import SettingsError
from ui.userfile import NAME, ROUNDS, Role, User, hash_password, read_users, write_users


def users_path(given: Path | None, home: Path | None) -> Path:
    """--file, else NEWSQA_SERVE__USERS_FILE; SettingsError when neither is set."""
    if given is not None:
        return given.expanduser()
    from assistant.settings import load_settings

    setting = load_settings(**({"home": home} if home else {})).serve.users_file
    if setting is None:
        raise SettingsError("which users file? Pass --file PATH, or set "
                            "NEWSQA_SERVE__USERS_FILE (the file `newsqa serve` reads)")
    return setting.expanduser()


def read_password(name: str, stdin: TextIO | None = None) -> str:
    """The new password: asked twice at a terminal, else stdin's first line."""
    stdin = stdin if stdin is not None else sys.stdin
    if stdin.isatty():
        first = getpass.getpass(f"Password for {name}: ")
        if getpass.getpass("Again: ") != first:
            raise SettingsError("the two passwords differ; run the command again")
        return first
    line = stdin.readline()
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        raise SettingsError("no password on stdin; type it at a terminal, or pipe one line: "
                            f"printf '%s\\n' \"$PW\" | newsqa users add {name} --role ...")
    return password


def add_user(path: Path, name: str, role: Role, password: str,
             rounds: int = ROUNDS) -> bool:
    """Add `name` (or change its role and password); True when it was there before."""
    if not NAME.fullmatch(name):
        raise SettingsError(f"{name[:70]!r} cannot be a user name: use 1-64 characters "
                            "without spaces or ':', not starting with '#'")
    users = read_users(path) if path.exists() else {}
    existed = name in users
    users[name] = User(name, role, hash_password(password, rounds))
    write_users(path, users)
    return existed


def remove_user(path: Path, name: str) -> bool:
    """Take `name` out of the file; False when it was not there."""
    users = read_users(path)
    if users.pop(name, None) is None:
        return False
    write_users(path, users)
    return True


def cmd_users(args: argparse.Namespace) -> int:
    """`newsqa users add|remove NAME ...`: 0 done, 1 nothing to remove, 2 error
    (SettingsError, printed by `ui.cli`)."""
    path = users_path(args.file, args.home)
    if args.action == "remove":
        if remove_user(path, args.name):
            print(f"newsqa: removed {args.name} from {path}; restart `newsqa serve` to apply")
            return 0
        print(f"newsqa: skipped: {args.name}: no such user in {path}", file=sys.stderr)
        return 1
    if args.role is None:
        raise SettingsError("users add needs a role: --role reader (ask and read) or --role "
                            "editor (also upload and remove articles)")
    password = read_password(args.name)
    existed = add_user(path, args.name, cast(Role, args.role), password)
    print(f"newsqa: {'updated' if existed else 'added'} {args.name} ({args.role}) in {path}; "
          "restart `newsqa serve` to apply")
    return 0
