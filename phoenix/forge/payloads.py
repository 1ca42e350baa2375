"""GitHub-shaped JSON for the forge's objects (field names as in GitHub's REST API description).

PyGithub follows each object's `url` for later calls and asserts that it is absolute and on the host
and prefix it was given, so every URL here is built from the request's own base (`Links`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from phoenix.forge.repos import CommitInfo


@dataclass(frozen=True)
class Links:
    """The forge's address as this request reached it: `web` for pages and git, `api` for REST."""

    web: str

    @property
    def api(self) -> str:
        return self.web + "/api/v3"


def stamp(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def account(links: Links, row: dict[str, Any]) -> dict[str, Any]:
    login = row["login"]
    organisation = row["kind"] == "Organization"
    return {
        "login": login,
        "id": row["id"],
        "node_id": f"U_{row['id']}",
        "type": row["kind"],
        "site_admin": False,
        "name": login,
        "url": f"{links.api}/{'orgs' if organisation else 'users'}/{login}",
        "html_url": f"{links.web}/{login}",
        "repos_url": f"{links.api}/{'orgs' if organisation else 'users'}/{login}/repos",
        "avatar_url": "",
        "created_at": stamp(row["created_at"]),
    }


def repository(
    links: Links, row: dict[str, Any], owner: dict[str, Any], permissions: dict[str, bool]
) -> dict[str, Any]:
    full_name = f"{owner['login']}/{row['name']}"
    return {
        "id": row["id"],
        "node_id": f"R_{row['id']}",
        "name": row["name"],
        "full_name": full_name,
        "owner": account(links, owner),
        "private": row["private"],
        "visibility": "private" if row["private"] else "public",
        "description": row["description"],
        "fork": False,
        "archived": False,
        "disabled": False,
        "default_branch": row["default_branch"],
        "url": f"{links.api}/repos/{full_name}",
        "html_url": f"{links.web}/{full_name}",
        "clone_url": f"{links.web}/{full_name}.git",
        "pulls_url": f"{links.api}/repos/{full_name}/pulls{{/number}}",
        "created_at": stamp(row["created_at"]),
        "updated_at": stamp(row["created_at"]),
        "permissions": permissions | {"maintain": permissions["admin"], "triage": permissions["push"]},
    }


def commit(links: Links, full_name: str, info: CommitInfo) -> dict[str, Any]:
    base = f"{links.api}/repos/{full_name}"
    return {
        "sha": info.sha,
        "node_id": f"C_{info.sha}",
        "url": f"{base}/commits/{info.sha}",
        "html_url": f"{links.web}/{full_name}/commit/{info.sha}",
        "comments_url": f"{base}/commits/{info.sha}/comments",
        "commit": {
            "url": f"{base}/git/commits/{info.sha}",
            "message": info.message,
            "author": info.author.model_dump(),
            "committer": info.committer.model_dump(),
            "tree": {"sha": info.tree, "url": f"{base}/git/trees/{info.tree}"},
            "comment_count": 0,
        },
        "author": None,
        "committer": None,
        "parents": [
            {
                "sha": parent,
                "url": f"{base}/commits/{parent}",
                "html_url": f"{links.web}/{full_name}/commit/{parent}",
            }
            for parent in info.parents
        ],
        "files": [],
    }


def branch(links: Links, full_name: str, name: str, info: CommitInfo) -> dict[str, Any]:
    return {
        "name": name,
        "commit": commit(links, full_name, info),
        "protected": False,
        "_links": {
            "self": f"{links.api}/repos/{full_name}/branches/{name}",
            "html": f"{links.web}/{full_name}/tree/{name}",
        },
    }


def status(links: Links, full_name: str, row: dict[str, Any], creator: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "node_id": f"S_{row['id']}",
        "url": f"{links.api}/repos/{full_name}/statuses/{row['sha']}",
        "state": row["state"],
        "description": row["description"],
        "target_url": row["target_url"],
        "context": row["context"],
        "created_at": stamp(row["created_at"]),
        "updated_at": stamp(row["created_at"]),
        "creator": account(links, creator),
    }


def check_run(links: Links, full_name: str, row: dict[str, Any]) -> dict[str, Any]:
    url = f"{links.api}/repos/{full_name}/check-runs/{row['id']}"
    return {
        "id": row["id"],
        "node_id": f"CR_{row['id']}",
        "head_sha": row["head_sha"],
        "external_id": row["external_id"],
        "url": url,
        "html_url": f"{links.web}/{full_name}/runs/{row['id']}",
        "details_url": row["details_url"],
        "name": row["name"],
        "status": row["status"],
        "conclusion": row["conclusion"],
        "started_at": stamp(row["started_at"]),
        "completed_at": stamp(row["completed_at"]),
        "output": {
            "title": row["title"],
            "summary": row["summary"],
            "text": row["text"],
            "annotations_count": 0,
            "annotations_url": f"{url}/annotations",
        },
        "app": None,
        "pull_requests": [],
    }


def review(
    links: Links, full_name: str, number: int, row: dict[str, Any], user: dict[str, Any], author_id: int
) -> dict[str, Any]:
    return {
        "id": row["id"],
        "node_id": f"PRR_{row['id']}",
        "user": account(links, user),
        "body": row["body"] or "",
        "state": row["state"],
        "commit_id": row["commit_id"],
        "submitted_at": stamp(row["submitted_at"]),
        "html_url": f"{links.web}/{full_name}/pull/{number}#pullrequestreview-{row['id']}",
        "pull_request_url": f"{links.api}/repos/{full_name}/pulls/{number}",
        "author_association": "OWNER" if user["id"] == author_id else "COLLABORATOR",
    }


def pull(
    links: Links,
    repo: dict[str, Any],
    row: dict[str, Any],
    people: dict[int, dict[str, Any]],
    head_sha: str | None,
    base_sha: str | None,
    mergeable: bool | None,
) -> dict[str, Any]:
    full_name = repo["full_name"]
    base = f"{links.api}/repos/{full_name}"
    number = row["number"]
    owner_login = repo["owner"]["login"]

    def side(ref: str, sha: str | None) -> dict[str, Any]:
        return {
            "label": f"{owner_login}:{ref}",
            "ref": ref,
            "sha": sha,
            "repo": repo,
            "user": repo["owner"],
        }

    merged_by = people.get(row["merged_by"]) if row["merged_by"] else None
    return {
        "id": row["id"],
        "node_id": f"PR_{row['id']}",
        "number": number,
        "state": row["state"],
        "locked": False,
        "title": row["title"],
        "body": row["body"],
        "user": account(links, people[row["user_id"]]),
        "url": f"{base}/pulls/{number}",
        "html_url": f"{links.web}/{full_name}/pull/{number}",
        "diff_url": f"{links.web}/{full_name}/pull/{number}.diff",
        "patch_url": f"{links.web}/{full_name}/pull/{number}.patch",
        "issue_url": f"{base}/issues/{number}",
        "commits_url": f"{base}/pulls/{number}/commits",
        "review_comments_url": f"{base}/pulls/{number}/comments",
        "comments_url": f"{base}/issues/{number}/comments",
        "statuses_url": f"{base}/statuses/{head_sha}",
        "head": side(row["head_ref"], head_sha),
        "base": side(row["base_ref"], base_sha),
        "draft": False,
        "merged": row["merged"],
        "mergeable": mergeable,
        "mergeable_state": "clean" if mergeable else ("dirty" if mergeable is False else "unknown"),
        "merged_by": account(links, merged_by) if merged_by else None,
        "merge_commit_sha": row["merge_commit_sha"],
        "created_at": stamp(row["created_at"]),
        "updated_at": stamp(row["updated_at"]),
        "closed_at": stamp(row["merged_at"]),
        "merged_at": stamp(row["merged_at"]),
    }
