"""Console accounts: the store's users table, the account service and ``repbot users``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from repbot.approval.accounts import (
    Account,
    AccountError,
    AccountService,
    BadValue,
    at_least,
)
from repbot.cli import main
from repbot.store.sqlite import SqliteStore

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct horse battery"


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "repbot.db")


@pytest.fixture
def accounts(store: SqliteStore) -> AccountService:
    return AccountService(store, hasher=FAST)


def test_roles_are_ordered() -> None:
    assert at_least("admin", "approver") and at_least("approver", "approver")
    assert not at_least("viewer", "approver") and not at_least("approver", "admin")
    assert not at_least("root", "viewer")
    assert Account("ann", "approver").actor == "web:ann"
    assert Account("slack:U1", "viewer", "slack").identity == "slack:U1"


def test_add_stores_an_argon2_hash_and_never_the_password(
    accounts: AccountService, store: SqliteStore
) -> None:
    user = accounts.add("Alice", PASSWORD, "admin", slack_user_id="U0ALICE1", by="operator")
    assert user.name == "alice" and user.role == "admin" and user.slack_user_id == "U0ALICE1"
    assert user.password_hash.startswith("$argon2id$")
    assert store.user_by_slack("U0ALICE1") == user and store.has_users()
    store.close()
    raw = Path(store.path).read_bytes()
    for suffix in ("-wal", "-shm"):
        extra = Path(f"{store.path}{suffix}")
        raw += extra.read_bytes() if extra.exists() else b""
    assert PASSWORD.encode() not in raw and b"$argon2id$" in raw


@pytest.mark.parametrize(
    ("name", "password", "role", "slack"),
    [
        ("", PASSWORD, "viewer", None),
        ("has space", PASSWORD, "viewer", None),
        ("local", PASSWORD, "viewer", None),
        ("break-glass", PASSWORD, "admin", None),
        ("bob", "short", "viewer", None),
        ("bob", PASSWORD + "\x00", "viewer", None),
        ("bob", PASSWORD, "root", None),
        ("bob", PASSWORD, "viewer", "alice"),
    ],
)
def test_add_refuses_bad_values_without_storing(
    accounts: AccountService, store: SqliteStore, name: str, password: str, role: str, slack: str
) -> None:
    with pytest.raises(BadValue) as info:
        accounts.add(name, password, role, slack_user_id=slack, by="operator")
    assert PASSWORD not in str(info.value)
    assert not store.has_users()


def test_names_and_slack_ids_are_unique(accounts: AccountService) -> None:
    accounts.add("ann", PASSWORD, "viewer", slack_user_id="U0ANN", by="op")
    with pytest.raises(AccountError, match="name already exists"):
        accounts.add("ANN", PASSWORD, "viewer", by="op")
    with pytest.raises(AccountError, match="Slack user already exists"):
        accounts.add("bob", PASSWORD, "viewer", slack_user_id="U0ANN", by="op")


def test_verify(accounts: AccountService, store: SqliteStore) -> None:
    accounts.add("ann", PASSWORD, "approver", by="op")
    assert accounts.verify("ann", "wrong password!") is None
    assert accounts.verify("nobody", PASSWORD) is None
    user = accounts.verify(" ANN ", PASSWORD)
    assert user is not None and user.name == "ann"
    assert store.user_get("ann").last_login_at is not None  # type: ignore[union-attr]
    accounts.disable("ann", by="op")
    assert accounts.verify("ann", PASSWORD) is None


def test_unknown_names_cost_a_hash_check_too(store: SqliteStore) -> None:
    calls: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            calls.append(str(hash)[:9])
            return super().verify(hash, password)

    accounts = AccountService(store, hasher=Counting(time_cost=1, memory_cost=1024))
    assert accounts.verify("nobody", PASSWORD) is None
    assert calls == ["$argon2id"]


def test_a_hash_with_old_parameters_is_replaced_at_sign_in(store: SqliteStore) -> None:
    old = AccountService(store, hasher=PasswordHasher(time_cost=1, memory_cost=2048))
    old.add("ann", PASSWORD, "viewer", by="op")
    before = store.user_get("ann").password_hash  # type: ignore[union-attr]
    new = AccountService(store, hasher=FAST)
    assert new.verify("ann", PASSWORD) is not None
    after = store.user_get("ann").password_hash  # type: ignore[union-attr]
    assert after != before and not FAST.check_needs_rehash(after)
    assert new.verify("ann", PASSWORD) is not None


def test_disable_and_reset_end_sessions_and_are_audited(
    accounts: AccountService, store: SqliteStore
) -> None:
    user = accounts.add("ann", PASSWORD, "viewer", by="op")
    assert user.session_epoch == 0
    disabled = accounts.disable("ann", by="web:root")
    assert disabled.disabled and disabled.session_epoch == 1
    enabled = accounts.enable("ann", by="web:root")
    assert not enabled.disabled and enabled.session_epoch == 1
    reset = accounts.reset("ann", "another password", by="web:root")
    assert reset.session_epoch == 2 and accounts.verify("ann", PASSWORD) is None
    assert accounts.verify("ann", "another password") is not None
    events = [(r["event"], r["actor"]) for r in store.audit_log()]
    assert events == [
        ("account_added", "op"),
        ("account_disabled", "web:root"),
        ("account_enabled", "web:root"),
        ("account_reset", "web:root"),
    ]
    assert all(PASSWORD not in json.dumps(r["detail"]) for r in store.audit_log())


def test_users_are_listed_by_keyset_pages(accounts: AccountService) -> None:
    for i in range(7):
        accounts.add(f"user{i}", PASSWORD, "viewer", by="op")
    first = accounts.list(0, 3)
    second = accounts.list(first[-1].id, 3)
    rest = accounts.list(second[-1].id, 3)
    names = [u.name for u in first + second + rest]
    assert names == [f"user{i}" for i in range(7)]


def test_user_lookups_use_indexes(store: SqliteStore) -> None:
    for sql, arg in (
        ("SELECT * FROM users WHERE name = ?", "ann"),
        ("SELECT * FROM users WHERE slack_user_id = ?", "U1"),
        ("SELECT * FROM users WHERE id > ? ORDER BY id LIMIT 5", 0),
    ):
        plan = " ".join(r[3] for r in store.conn.execute(f"EXPLAIN QUERY PLAN {sql}", (arg,)))
        assert plan.startswith("SEARCH users USING"), plan


# the CLI
@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "repbot.yaml"
    path.write_text(
        f"store:\n  path: {tmp_path / 'cli.db'}\nsources:\n  - name: demo\n    type: demo\n"
    )
    return path


def _users(config: Path, *args: str, stdin: str = "") -> int:
    import sys

    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        return main(["users", *args, "-c", str(config)])
    finally:
        sys.stdin = old


def test_cli_add_list_disable_reset(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _users(config, "list") == 0
    assert "no accounts" in capsys.readouterr().out
    assert _users(config, "add", "ann", "--role", "admin", "--password-stdin", stdin=PASSWORD) == 0
    assert _users(config, "add", "ann", "--password-stdin", stdin=PASSWORD) == 1
    assert _users(config, "add", "bob", "--password-stdin", stdin="short") == 2
    assert _users(config, "add", "bob", "--password-stdin", stdin="") == 2
    assert _users(config, "disable", "nobody") == 1
    capsys.readouterr()
    assert _users(config, "list", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["role"], r["disabled"]) for r in rows] == [("ann", "admin", False)]
    assert _users(config, "disable", "ann") == 0
    assert _users(config, "reset", "ann") == 0
    said = capsys.readouterr().out
    new_password = said.split("new password: ")[1].strip()
    assert _users(config, "reset", "ann", "--password-stdin", stdin="typed password 1") == 0
    store = SqliteStore(tmp_path / "cli.db")
    user = store.user_get("ann")
    assert user is not None and user.disabled and user.session_epoch == 3
    accounts = AccountService(store, hasher=FAST)
    assert store.user_update(user.id, disabled=False)
    assert accounts.verify("ann", new_password) is None
    assert accounts.verify("ann", "typed password 1") is not None
    assert PASSWORD.encode() not in Path(store.path).read_bytes()


def test_cli_prompts_twice_and_refuses_a_mismatch(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([PASSWORD, "something else"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert _users(config, "add", "ann") == 2
    answers = iter([PASSWORD, PASSWORD])
    assert _users(config, "add", "ann") == 0


def test_cli_never_takes_a_password_on_argv(config: Path) -> None:
    with pytest.raises(SystemExit) as info:
        main(["users", "add", "ann", "--password", PASSWORD, "-c", str(config)])
    assert info.value.code == 2


def test_check_reports_the_sign_in_mode(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "-c", str(config)]) == 0
    assert "console sign-in: open to anyone on this machine as 'local'" in capsys.readouterr().out
    assert _users(config, "add", "ann", "--password-stdin", stdin=PASSWORD) == 0
    capsys.readouterr()
    assert main(["check", "-c", str(config)]) == 0
    assert "console sign-in: required (1 account(s))" in capsys.readouterr().out
    public = tmp_path / "public.yaml"
    public.write_text(
        f"store:\n  path: {tmp_path / 'empty.db'}\nserver:\n  host: 0.0.0.0\n"
        "approval:\n  web:\n    token: some-token-value\n"
        "sources:\n  - name: demo\n    type: demo\n"
    )
    assert main(["check", "-c", str(public)]) == 0
    said = capsys.readouterr().out
    assert "token set but ignored" in said and "nobody can sign in yet" in said
    assert "some-token-value" not in said
