"""The forge's state: users, organisations, tokens, repositories, pulls, reviews, statuses, check runs.

The forge server is the only process that writes it, so it holds one DuckDB connection for its whole
life (`PHOENIX_HOME/forge/forge.duckdb`) behind a lock: no per-request open/close, no cross-process
lock dance. DuckDB's own file lock refuses a second opener at once, which is what keeps
`phoenix forge token` from writing while a server runs (it goes through the server instead).
Git objects and refs live in the bare repositories, not here; this holds what git does not.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import duckdb

from phoenix.errors import Conflict, NotFound
from phoenix.forge.tokens import hash_token, new_token

SCHEMA = """
CREATE SEQUENCE IF NOT EXISTS ids START 1;
CREATE TABLE IF NOT EXISTS accounts (
    id BIGINT PRIMARY KEY, login TEXT UNIQUE NOT NULL, kind TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    org_id BIGINT NOT NULL, user_id BIGINT NOT NULL, PRIMARY KEY (org_id, user_id));
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY, user_id BIGINT NOT NULL, created_at TIMESTAMPTZ NOT NULL);
CREATE TABLE IF NOT EXISTS repos (
    id BIGINT PRIMARY KEY, owner_id BIGINT NOT NULL, name TEXT NOT NULL, private BOOLEAN NOT NULL,
    description TEXT, default_branch TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (owner_id, name));
CREATE TABLE IF NOT EXISTS pulls (
    id BIGINT PRIMARY KEY, repo_id BIGINT NOT NULL, number INTEGER NOT NULL, title TEXT NOT NULL,
    body TEXT, head_ref TEXT NOT NULL, base_ref TEXT NOT NULL, user_id BIGINT NOT NULL,
    state TEXT NOT NULL, merged BOOLEAN NOT NULL DEFAULT false, merge_commit_sha TEXT,
    merged_by BIGINT, merged_at TIMESTAMPTZ, closed_head_sha TEXT, closed_base_sha TEXT,
    created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL, UNIQUE (repo_id, number));
CREATE TABLE IF NOT EXISTS reviews (
    id BIGINT PRIMARY KEY, pull_id BIGINT NOT NULL, user_id BIGINT NOT NULL, state TEXT NOT NULL,
    body TEXT, commit_id TEXT, submitted_at TIMESTAMPTZ NOT NULL);
CREATE TABLE IF NOT EXISTS statuses (
    id BIGINT PRIMARY KEY, repo_id BIGINT NOT NULL, sha TEXT NOT NULL, state TEXT NOT NULL,
    context TEXT NOT NULL, description TEXT, target_url TEXT, creator_id BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL);
CREATE TABLE IF NOT EXISTS check_runs (
    id BIGINT PRIMARY KEY, repo_id BIGINT NOT NULL, head_sha TEXT NOT NULL, name TEXT NOT NULL,
    status TEXT NOT NULL, conclusion TEXT, title TEXT, summary TEXT, text TEXT, details_url TEXT,
    external_id TEXT, started_at TIMESTAMPTZ NOT NULL, completed_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS ci_runs (
    id BIGINT PRIMARY KEY, repo_id BIGINT NOT NULL, sha TEXT NOT NULL, branch TEXT NOT NULL,
    state TEXT NOT NULL, exit_code INTEGER, duration_s DOUBLE, output TEXT,
    queued_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ);
"""


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class ForgeStore:
    """One open DuckDB connection; every method is one short unit of work under the lock."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._connection = duckdb.connect(str(path))
        self._lock = threading.RLock()
        # Only this process writes the state, so these caches never go stale: tokens are never
        # revoked, accounts and repositories never change once made (the hot path of every GET).
        self._token_users: dict[str, dict[str, Any]] = {}
        self._accounts: dict[int, dict[str, Any]] = {}
        self._repos: dict[tuple[str, str], dict[str, Any]] = {}
        with self._lock:
            self._connection.execute(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def _rows(self, sql: str, parameters: list[Any] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._connection.execute(sql, parameters or [])
            names = [column[0] for column in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def _row(self, sql: str, parameters: list[Any] | None = None) -> dict[str, Any] | None:
        rows = self._rows(sql, parameters)
        return rows[0] if rows else None

    def _next_id(self) -> int:
        with self._lock:
            return int(self._connection.execute("SELECT nextval('ids')").fetchone()[0])  # type: ignore[index]

    # Accounts and tokens

    def account(self, login: str) -> dict[str, Any] | None:
        return self._row("SELECT * FROM accounts WHERE lower(login) = lower(?)", [login])

    def account_by_id(self, account_id: int) -> dict[str, Any]:
        found = self._accounts.get(account_id)
        if found is None:
            found = self._row("SELECT * FROM accounts WHERE id = ?", [account_id])
            if found is None:
                raise NotFound(f"no account {account_id}")
            self._accounts[account_id] = found
        return found

    def ensure_account(self, login: str, kind: str = "User") -> dict[str, Any]:
        with self._lock:
            found = self.account(login)
            if found is None:
                self._connection.execute(
                    "INSERT INTO accounts VALUES (?, ?, ?, ?)", [self._next_id(), login, kind, now()]
                )
                found = self.account(login)
            assert found is not None
            if found["kind"] != kind:
                raise Conflict(f"{login} is a {found['kind']}, not a {kind}")
            return found

    def issue_token(self, login: str) -> tuple[dict[str, Any], str]:
        """A new token for `login` (created as a user if new); the token itself is returned once."""
        with self._lock:
            user = self.ensure_account(login, "User")
            token = new_token()
            self._connection.execute(
                "INSERT INTO tokens VALUES (?, ?, ?)", [hash_token(token), user["id"], now()]
            )
            return user, token

    def user_for_token(self, token: str) -> dict[str, Any] | None:
        digest = hash_token(token)
        cached = self._token_users.get(digest)
        if cached is not None:
            return cached
        found = self._row(
            "SELECT a.* FROM tokens t JOIN accounts a ON a.id = t.user_id WHERE t.token_hash = ?",
            [digest],
        )
        if found is not None:
            self._token_users[digest] = found  # tokens are never revoked, so this never goes stale
        return found

    def add_member(self, org_login: str, user_login: str) -> None:
        with self._lock:
            org = self.ensure_account(org_login, "Organization")
            user = self.ensure_account(user_login, "User")
            self._connection.execute(
                "INSERT INTO members VALUES (?, ?) ON CONFLICT DO NOTHING", [org["id"], user["id"]]
            )

    def is_member(self, org_id: int, user_id: int) -> bool:
        return (
            self._row("SELECT 1 AS x FROM members WHERE org_id = ? AND user_id = ?", [org_id, user_id])
            is not None
        )

    # Repositories

    def repo(self, owner: str, name: str) -> dict[str, Any] | None:
        key = (owner.lower(), name.lower())
        found = self._repos.get(key)
        if found is None:
            found = self._repo(owner, name)
            if found is not None:
                self._repos[key] = found
        return found

    def _repo(self, owner: str, name: str) -> dict[str, Any] | None:
        return self._row(
            "SELECT r.*, a.login AS owner_login, a.kind AS owner_kind FROM repos r"
            " JOIN accounts a ON a.id = r.owner_id"
            " WHERE lower(a.login) = lower(?) AND lower(r.name) = lower(?)",
            [owner, name],
        )

    def create_repo(
        self, owner: dict[str, Any], name: str, private: bool, description: str | None
    ) -> dict[str, Any]:
        with self._lock:
            if self.repo(owner["login"], name) is not None:
                raise Conflict("name already exists on this account")
            self._connection.execute(
                "INSERT INTO repos VALUES (?, ?, ?, ?, ?, 'main', ?)",
                [self._next_id(), owner["id"], name, private, description, now()],
            )
            created = self.repo(owner["login"], name)
            assert created is not None
            return created

    def repo_by_id(self, repo_id: int) -> dict[str, Any] | None:
        return self._row(
            "SELECT r.*, a.login AS owner_login, a.kind AS owner_kind FROM repos r"
            " JOIN accounts a ON a.id = r.owner_id WHERE r.id = ?",
            [repo_id],
        )

    def repos_owned_by(self, owner_ids: list[int]) -> list[dict[str, Any]]:
        """The repositories of these accounts, oldest first."""
        if not owner_ids:
            return []
        return self._rows(
            "SELECT r.*, a.login AS owner_login, a.kind AS owner_kind FROM repos r"
            " JOIN accounts a ON a.id = r.owner_id WHERE list_contains(?, r.owner_id) ORDER BY r.id",
            [owner_ids],
        )

    def organisations_of(self, user_id: int) -> list[int]:
        return [
            row["org_id"]
            for row in self._rows("SELECT org_id FROM members WHERE user_id = ?", [user_id])
        ]

    # Pulls and reviews

    def create_pull(
        self, repo_id: int, user_id: int, title: str, body: str | None, head: str, base: str
    ) -> dict[str, Any]:
        with self._lock:
            number = self._connection.execute(
                "SELECT coalesce(max(number), 0) + 1 FROM pulls WHERE repo_id = ?", [repo_id]
            ).fetchone()[0]  # type: ignore[index]
            stamp = now()
            self._connection.execute(
                "INSERT INTO pulls (id, repo_id, number, title, body, head_ref, base_ref, user_id,"
                " state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)",
                [self._next_id(), repo_id, number, title, body, head, base, user_id, stamp, stamp],
            )
            found = self.pull(repo_id, number)
            assert found is not None
            return found

    def pull(self, repo_id: int, number: int) -> dict[str, Any] | None:
        return self._row("SELECT * FROM pulls WHERE repo_id = ? AND number = ?", [repo_id, number])

    def pulls(self, repo_id: int, state: str) -> list[dict[str, Any]]:
        if state == "all":
            return self._rows("SELECT * FROM pulls WHERE repo_id = ? ORDER BY number DESC", [repo_id])
        return self._rows(
            "SELECT * FROM pulls WHERE repo_id = ? AND state = ? ORDER BY number DESC", [repo_id, state]
        )

    def open_pull_for(self, repo_id: int, head: str, base: str) -> dict[str, Any] | None:
        return self._row(
            "SELECT * FROM pulls WHERE repo_id = ? AND head_ref = ? AND base_ref = ? AND state = 'open'",
            [repo_id, head, base],
        )

    def mark_merged(
        self, pull_id: int, merge_sha: str, merged_by: int, head_sha: str, base_sha: str
    ) -> None:
        stamp = now()
        with self._lock:
            self._connection.execute(
                "UPDATE pulls SET state = 'closed', merged = true, merge_commit_sha = ?, merged_by = ?,"
                " merged_at = ?, closed_head_sha = ?, closed_base_sha = ?, updated_at = ? WHERE id = ?",
                [merge_sha, merged_by, stamp, head_sha, base_sha, stamp, pull_id],
            )

    def add_review(
        self, pull_id: int, user_id: int, state: str, body: str | None, commit_id: str | None
    ) -> dict[str, Any]:
        review_id = self._next_id()
        with self._lock:
            self._connection.execute(
                "INSERT INTO reviews VALUES (?, ?, ?, ?, ?, ?, ?)",
                [review_id, pull_id, user_id, state, body, commit_id, now()],
            )
        found = self._row("SELECT * FROM reviews WHERE id = ?", [review_id])
        assert found is not None
        return found

    def reviews(self, pull_id: int) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM reviews WHERE pull_id = ? ORDER BY id", [pull_id])

    # Commit statuses and check runs

    def add_status(
        self, repo_id: int, sha: str, fields: dict[str, Any], creator_id: int
    ) -> dict[str, Any]:
        status_id = self._next_id()
        with self._lock:
            self._connection.execute(
                "INSERT INTO statuses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [status_id, repo_id, sha, fields["state"], fields["context"], fields.get("description"),
                 fields.get("target_url"), creator_id, now()],
            )  # fmt: skip
        found = self._row("SELECT * FROM statuses WHERE id = ?", [status_id])
        assert found is not None
        return found

    def statuses(self, repo_id: int, sha: str) -> list[dict[str, Any]]:
        """Every status of `sha`, newest first (as GitHub lists them)."""
        return self._rows(
            "SELECT * FROM statuses WHERE repo_id = ? AND sha = ? ORDER BY id DESC", [repo_id, sha]
        )

    def add_check_run(self, repo_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        run_id = self._next_id()
        with self._lock:
            self._connection.execute(
                "INSERT INTO check_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, repo_id, fields["head_sha"], fields["name"], fields["status"],
                 fields.get("conclusion"), fields.get("title"), fields.get("summary"),
                 fields.get("text"), fields.get("details_url"), fields.get("external_id"),
                 fields.get("started_at") or now(), fields.get("completed_at")],
            )  # fmt: skip
        found = self._row("SELECT * FROM check_runs WHERE id = ?", [run_id])
        assert found is not None
        return found

    def check_runs(self, repo_id: int, sha: str) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT * FROM check_runs WHERE repo_id = ? AND head_sha = ? ORDER BY id DESC",
            [repo_id, sha],
        )

    # The CI runner's runs (one per commit it tested; the statuses it posted are in `statuses`)

    def add_ci_run(self, repo_id: int, sha: str, branch: str) -> dict[str, Any]:
        run_id = self._next_id()
        with self._lock:
            self._connection.execute(
                "INSERT INTO ci_runs (id, repo_id, sha, branch, state, queued_at)"
                " VALUES (?, ?, ?, ?, 'pending', ?)",
                [run_id, repo_id, sha, branch, now()],
            )
        found = self._row("SELECT * FROM ci_runs WHERE id = ?", [run_id])
        assert found is not None
        return found

    def finish_ci_run(
        self, run_id: int, state: str, exit_code: int | None, duration_s: float | None, output: str
    ) -> None:
        with self._lock:
            self._connection.execute(
                "UPDATE ci_runs SET state = ?, exit_code = ?, duration_s = ?, output = ?,"
                " finished_at = ? WHERE id = ?",
                [state, exit_code, duration_s, output, now(), run_id],
            )

    def ci_run(self, repo_id: int, sha: str) -> dict[str, Any] | None:
        """The latest run of `sha`, or None."""
        return self._row(
            "SELECT * FROM ci_runs WHERE repo_id = ? AND sha = ? ORDER BY id DESC LIMIT 1",
            [repo_id, sha],
        )

    def unfinished_ci_runs(self) -> list[dict[str, Any]]:
        """Runs a stopped forge left queued or running, oldest first."""
        return self._rows("SELECT * FROM ci_runs WHERE state = 'pending' ORDER BY id")
