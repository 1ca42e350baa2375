"""git smart-HTTP against the local forge: who may clone and push; a push big enough to be chunked."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from phoenix.forge import server
from phoenix.settings import load_settings
from tests.conftest import require_tool
from tests.test_forge import ForgeHome, commit_files, run_git


@pytest.fixture(scope="module")
def forge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForgeHome]:
    require_tool("git")
    home = tmp_path_factory.mktemp("forge-git-home")
    settings = load_settings({"PHOENIX_HOME": str(home)})
    url = server.ensure_forge(settings, announce=False)
    tokens = {"alice": server.issue_token(settings, "alice", "acme")["token"]}
    tokens["eve"] = server.issue_token(settings, "eve")["token"]
    try:
        yield ForgeHome(settings, url, tokens)
    finally:
        server.stop_forge(settings)


def new_work_tree(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir()
    assert run_git(folder, "init", "-q", "-b", "main").returncode == 0
    commit_files(folder, files, "init")
    return folder


def test_public_clones_anonymously_and_pushing_needs_write_access(
    forge: ForgeHome, tmp_path: Path
) -> None:
    forge.github("alice").get_user().create_repo("open")
    work = new_work_tree(tmp_path / "work", {"README.md": "hello\n"})
    url = forge.clone_url("alice/open")
    anonymous = run_git(work, "push", "-q", url, "main")
    assert anonymous.returncode != 0 and "could not read Username" in anonymous.stderr
    stranger = run_git(work, "push", "-q", url, "main", token=forge.tokens["eve"])
    assert stranger.returncode != 0 and "403" in stranger.stderr
    owner = run_git(work, "push", "-q", url, "main", token=forge.tokens["alice"])
    assert owner.returncode == 0, owner.stderr
    clone = run_git(tmp_path, "clone", "-q", url, "copy")
    assert clone.returncode == 0, clone.stderr
    assert (tmp_path / "copy" / "README.md").read_text() == "hello\n"
    assert "alice:" not in (tmp_path / "copy" / ".git" / "config").read_text()


def test_private_repository_needs_a_token_with_access(forge: ForgeHome, tmp_path: Path) -> None:
    forge.github("alice").get_organization("acme").create_repo("closed", private=True, auto_init=True)
    url = forge.clone_url("acme/closed")
    assert run_git(tmp_path, "clone", "-q", url, "a").returncode != 0
    denied = run_git(tmp_path, "clone", "-q", url, "b", token=forge.tokens["eve"])
    assert denied.returncode != 0 and "not found" in denied.stderr.lower()
    bad = run_git(tmp_path, "clone", "-q", url, "c", token="phx_wrong")
    assert bad.returncode != 0
    member = run_git(tmp_path, "clone", "-q", url, "d", token=forge.tokens["alice"])
    assert member.returncode == 0, member.stderr
    assert (tmp_path / "d" / "README.md").exists()


def test_a_push_over_a_megabyte_arrives_chunked_and_lands(forge: ForgeHome, tmp_path: Path) -> None:
    repo = forge.github("alice").get_user().create_repo("big")
    work = new_work_tree(tmp_path / "big", {"small.txt": "x\n"})
    (work / "blob.bin").write_bytes(os.urandom(3 * 1024 * 1024))  # incompressible: a 3 MB pack
    commit_files(work, {}, "a large file")
    done = run_git(work, "push", "-q", forge.clone_url("alice/big"), "main", token=forge.tokens["alice"])
    assert done.returncode == 0, done.stderr
    head = run_git(work, "rev-parse", "HEAD").stdout.strip()
    assert repo.get_branch("main").commit.sha == head
    clone = run_git(tmp_path, "clone", "-q", forge.clone_url("alice/big"), "copy")
    assert clone.returncode == 0, clone.stderr
    assert (tmp_path / "copy" / "blob.bin").read_bytes() == (work / "blob.bin").read_bytes()
