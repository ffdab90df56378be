"""``repbot users add|list|disable|enable|reset``: console accounts from the command line.

Passwords are read from a prompt (twice) or from stdin with ``--password-stdin``; never from
the command line. Exit codes: 0 done, 1 refused (unknown account, name taken), 2 bad usage
(a bad name, role, Slack id or password).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from repbot.approval.accounts import (
    ROLES,
    AccountError,
    AccountService,
    BadValue,
    generate_password,
)
from repbot.store.base import UserRecord

OK, FAILURE, BAD_USAGE = 0, 1, 2
ACTOR = "operator"


def add_commands(sub: Any) -> None:
    """Register ``users`` and its subcommands (``sub`` adds the common ``-c`` option)."""
    users = sub.add_parser("users", help="manage console accounts")
    verbs = _WithConfig(users.add_subparsers(title="actions", metavar="ACTION"))
    add = verbs.add_parser("add", help="create an account (password from a prompt or stdin)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="approver")
    add.add_argument("--slack-user", help="link a Slack user id (U…)")
    add.add_argument("--password-stdin", action="store_true", help="read the password on stdin")
    ls = verbs.add_parser("list", help="list accounts")
    ls.add_argument("--json", action="store_true")
    for verb in ("disable", "enable"):
        one = verbs.add_parser(verb, help=f"{verb} an account (disable ends its sessions)")
        one.add_argument("name")
    reset = verbs.add_parser("reset", help="new password (generated unless given); ends sessions")
    reset.add_argument("name")
    how = reset.add_mutually_exclusive_group()
    how.add_argument("--prompt", action="store_true", help="type the new password")
    how.add_argument("--password-stdin", action="store_true", help="read it on stdin")
    for parser, func in ((add, _add), (ls, _list), (reset, _reset)):
        parser.set_defaults(func=_run(func))
    for verb in ("disable", "enable"):
        verbs.choices[verb].set_defaults(func=_run(_toggle), verb=verb)
    users.set_defaults(func=lambda _args: _usage(users))


class _WithConfig:
    """Adds ``-c/--config`` to each action too, so it may come before or after the action."""

    def __init__(self, verbs: Any) -> None:
        self.verbs = verbs
        self.choices: dict[str, argparse.ArgumentParser] = verbs.choices

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self.verbs.add_parser(name, **kwargs)
        parser.add_argument("-c", "--config", default=argparse.SUPPRESS, help="config file")
        return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_usage(sys.stderr)
    return BAD_USAGE


def _run(func: Any) -> Any:
    def command(args: argparse.Namespace) -> int:
        from repbot.config import load_config
        from repbot.store import store_for

        config = load_config(args.config)
        store = store_for(config)
        try:
            return int(func(AccountService(store), args))
        except BadValue as exc:
            print(f"error: {exc}", file=sys.stderr)
            return BAD_USAGE
        except AccountError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return FAILURE
        finally:
            store.close()

    return command


def _add(accounts: AccountService, args: argparse.Namespace) -> int:
    password = _read_password(args.password_stdin)
    if password is None:
        return BAD_USAGE
    user = accounts.add(args.name, password, args.role, slack_user_id=args.slack_user, by=ACTOR)
    print(f"added {user.name} ({user.role})")
    return OK


def _list(accounts: AccountService, args: argparse.Namespace) -> int:
    rows, after = [], 0
    while page := accounts.list(after, 500):
        rows += [_row(u) for u in page]
        after = page[-1].id
    if args.json:
        print(json.dumps(rows, indent=1))
        return OK
    for r in rows:
        link = f" slack:{r['slack_user_id']}" if r["slack_user_id"] else ""
        state = " DISABLED" if r["disabled"] else ""
        last = r["last_login_at"] or "never"
        print(f"{r['name']:<24} {r['role']:<9}{state}{link}  last sign-in {last}")
    if not rows:
        print("no accounts (the console is open on a loopback host)")
    return OK


def _toggle(accounts: AccountService, args: argparse.Namespace) -> int:
    if args.verb == "enable":
        user = accounts.enable(args.name, by=ACTOR)
    else:
        user = accounts.disable(args.name, by=ACTOR)
    print(f"{user.name} is {'disabled; its sessions ended' if user.disabled else 'enabled'}")
    return OK


def _reset(accounts: AccountService, args: argparse.Namespace) -> int:
    accounts.get(args.name)
    generated = not (args.prompt or args.password_stdin)
    password = generate_password() if generated else _read_password(args.password_stdin)
    if password is None:
        return BAD_USAGE
    user = accounts.reset(args.name, password, by=ACTOR)
    print(f"reset {user.name}; its sessions ended")
    if generated:
        print(f"new password: {password}")
    return OK


def _read_password(from_stdin: bool) -> str | None:
    """The new password, or None (after saying why) when none was given."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("error: the passwords differ", file=sys.stderr)
            return None
    if not password:
        print("error: no password given", file=sys.stderr)
        return None
    return password


def _row(user: UserRecord) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "role": user.role,
        "slack_user_id": user.slack_user_id,
        "disabled": user.disabled,
        "created_at": user.created_at.isoformat(),
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
    }


def auth_mode(config: Any) -> str:
    """How the console signs people in under ``config``, for ``repbot check``."""
    from repbot.approval.config import is_loopback_host

    web = config.approval.web
    if not web.enabled:
        return "console: disabled"
    backend = config.store.backend
    count = _count_accounts(config.store_file()) if backend == "sqlite" else _count_in(config)
    ways = [f"{count} account(s)" if count is not None else "accounts (store not readable)"]
    if web.slack_sign_in is not None:
        ways.append("Sign in with Slack")
    if web.break_glass:
        ways.append("BREAK-GLASS token ON")
    elif web.token is not None:
        ways.append("token set but ignored (break_glass is off)")
    if not count and is_loopback_host(config.server.host) and not web.break_glass:
        return f"console sign-in: open to anyone on this machine as 'local' ({', '.join(ways)})"
    if not count and web.slack_sign_in is None and not web.break_glass:
        ways.append("nobody can sign in yet: run `repbot users add NAME --role admin`")
    return f"console sign-in: required ({', '.join(ways)})"


def _count_in(config: Any) -> int | None:
    """Accounts in the configured (PostgreSQL) store; None when it cannot be opened."""
    from repbot.errors import StoreError
    from repbot.store import store_for

    try:
        store = store_for(config)
    except StoreError:
        return None
    try:
        count, after = 0, 0
        while page := store.users(after_id=after, limit=500):
            count, after = count + len(page), page[-1].id
        return count
    finally:
        store.close()


def _count_accounts(path: Any) -> int | None:
    """Accounts in the store file at ``path`` (0 when there is no file yet), read-only."""
    import sqlite3
    from pathlib import Path

    if not Path(path).exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return int(conn.execute("SELECT count(*) FROM users").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        return 0 if "no such table" in str(exc) else None
