"""A pull request on the local forge, opened as the spawn flow opens one: the bot's repository in
`phoenix-agents`, a `main` branch, and a `feature` branch with one more file (shared by the
enforcer's and the pull requests' tests)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from phoenix.github.access import ForgeAccess
from phoenix.github.client import connect, ensure_pull, ensure_repository, push_folder


class ForgePulls:
    def __init__(self, access: ForgeAccess, work: Path) -> None:
        self.access, self.work = access, work
        self.bot = connect(access.api_url, access.token)

    def open_pull(self, private: bool = False, prefix: str = "pr") -> tuple[Any, Any]:
        """A new repository with one open PR from `feature` into `main`: (repository, pull)."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        repo = ensure_repository(self.bot, "phoenix-agents", name, private=private, description="t")
        folder = self.work / name
        folder.mkdir()
        (folder / "README.md").write_text(f"# {name}\n")
        push_folder(folder, repo.clone_url, "main", self.access.token, "Start")
        (folder / "src.rs").write_text("pub async fn run() {}\n")
        push_folder(folder, repo.clone_url, "feature", self.access.token, "Agent code")
        return repo, ensure_pull(repo, "feature", "main", f"Spawn agent: {name}", "report")
