"""Pull requests as the reviewer sees them, over real HTTP against the local forge: the listing
with CI and counted approvals, approval by the reviewer account, Merge only through the gate, and
PR ids in their three accepted forms."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from phoenix.errors import BadInput, Conflict, NotAvailable, NotFound
from phoenix.github.access import ForgeAccess, local_forge_access
from phoenix.github.pulls import PullId, approve, list_pulls, merge, parse_pull_id
from phoenix.settings import load_settings
from tests.conftest import require_tool
from tests.forge_pulls import ForgePulls


@pytest.mark.parametrize(
    "text",
    [
        "phoenix-agents/weather#7",
        "phoenix-agents/weather/7",
        " http://127.0.0.1:8123/phoenix-agents/weather/pull/7 ",
        "https://github.com/phoenix-agents/weather/pull/7/",
        "http://127.0.0.1:8123/api/v3/repos/phoenix-agents/weather/pulls/7",
    ],
)
def test_a_pull_id_is_read_from_each_accepted_form(text: str) -> None:
    assert parse_pull_id(text) == PullId(owner="phoenix-agents", repo="weather", number=7)
    assert str(parse_pull_id(text)) == "phoenix-agents/weather#7"


@pytest.mark.parametrize(
    "text",
    ["weather#7", "phoenix-agents/weather", "a/b#x", "a/b#0", "a/b c#1", "ftp://h/a/b/pull/1", ""],
)
def test_a_bad_pull_id_names_the_accepted_forms(text: str) -> None:
    with pytest.raises(BadInput, match=r"owner/repo#7, owner/repo/7 or the PR's URL"):
        parse_pull_id(text)


Forge = ForgePulls


@pytest.fixture(scope="module")
def forge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Forge]:
    require_tool("git")
    from phoenix.forge.server import stop_forge

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PHOENIX_HOME", str(tmp_path_factory.mktemp("pulls-home")))
        for name in ("GITHUB_PAT", "MANDATE_GITHUB_CI", "PHOENIX_MERGE_METHOD"):
            patch.delenv(name, raising=False)
        settings = load_settings()
        try:
            yield Forge(local_forge_access(settings), tmp_path_factory.mktemp("pulls-work"))
        finally:
            stop_forge(settings)


def test_the_listing_shows_every_visible_pr_with_its_ci_and_counted_approvals(forge: Forge) -> None:
    public, first = forge.open_pull()
    private, second = forge.open_pull(private=True)
    public.get_commit(first.head.sha).create_status("success", context="phoenix-ci")
    private.get_commit(second.head.sha).create_status("failure", context="phoenix-ci")
    first.create_review(event="APPROVE")  # the author's own: not counted
    approve(forge.access, f"{private.full_name}#{second.number}")

    rows = {row.id: row for row in list_pulls(forge.access)}
    one, two = rows[f"{public.full_name}#1"], rows[f"{private.full_name}#1"]
    assert (one.ci, one.approvals, one.state, one.merged) == ("success", [], "open", False)
    assert (two.ci, two.approvals) == ("failure", ["reviewer"])
    assert one.head_sha == first.head.sha and one.url.endswith(f"/{public.full_name}/pull/1")


def test_merge_obeys_the_gate_and_merges_the_evaluated_head(forge: Forge) -> None:
    repo, pull = forge.open_pull()
    target = f"{repo.full_name}#{pull.number}"
    with pytest.raises(Conflict, match="approval from someone other than phoenix-bot"):
        merge(forge.access, target)
    pull.create_review(event="APPROVE")  # the bot approving its own PR changes nothing
    with pytest.raises(Conflict, match="approval"):
        merge(forge.access, target)

    approve(forge.access, target)
    repo.get_commit(pull.head.sha).create_status("failure", context="ci/lint")
    with pytest.raises(Conflict, match="ci/lint"):
        merge(forge.access, target, require_ci=True)
    repo.get_commit(pull.head.sha).create_status("success", context="ci/lint")

    merged = merge(forge.access, target, method="squash", require_ci=True)
    assert merged["merged"] and merged["merged_by"] == "reviewer"
    assert repo.get_branch("main").commit.sha == merged["merge_sha"]
    assert repo.get_pull(pull.number).merged
    with pytest.raises(Conflict, match="already merged"):
        merge(forge.access, target)
    with pytest.raises(NotFound):
        merge(forge.access, f"{repo.full_name}#99")


def test_approving_on_github_says_to_approve_there() -> None:
    github = ForgeAccess(
        api_url="https://api.github.com", token=SecretStr("ghp_x"), owner=None, local=False
    )
    with pytest.raises(NotAvailable, match="on GitHub"):
        approve(github, "octo/agent#3")
