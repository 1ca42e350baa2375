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


# GitHub's hypermedia templates on every user and repository (schemas `simple-user`, `repository`).
# They point at routes the forge does not serve (a client following one gets 404), but GitHub's
# description requires them, and a client that models the schema strictly needs them present.
USER_TEMPLATES = {
    "events_url": "/events{/privacy}",
    "followers_url": "/followers",
    "following_url": "/following{/other_user}",
    "gists_url": "/gists{/gist_id}",
    "organizations_url": "/orgs",
    "received_events_url": "/received_events",
    "starred_url": "/starred{/owner}{/repo}",
    "subscriptions_url": "/subscriptions",
}
REPO_TEMPLATES = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


def account(links: Links, row: dict[str, Any]) -> dict[str, Any]:
    """GitHub's `simple-user` (also for an organisation as owner, as GitHub does)."""
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
        "gravatar_id": "",
        "created_at": stamp(row["created_at"]),
    } | {key: f"{links.api}/users/{login}{suffix}" for key, suffix in USER_TEMPLATES.items()}


def profile(links: Links, row: dict[str, Any]) -> dict[str, Any]:
    """`GET /user`, `/users/{u}` (GitHub's `public-user`) and `/orgs/{o}` (`organization-full`).

    The forge keeps no profile and has no followers, gists or projects: those are empty, as on a
    new GitHub account. Accounts are never edited, so `updated_at` is `created_at`.
    """
    base = account(links, row)
    common = {"followers": 0, "following": 0, "public_gists": 0, "updated_at": base["created_at"]}
    if row["kind"] != "Organization":
        blank = {"bio": None, "blog": "", "company": None, "email": None, "hireable": None}
        return base | common | blank | {"location": None}
    org = f"{links.api}/orgs/{row['login']}"
    return (
        base
        | common
        | {
            "description": None,
            "events_url": f"{org}/events",
            "hooks_url": f"{org}/hooks",
            "issues_url": f"{org}/issues",
            "members_url": f"{org}/members{{/member}}",
            "public_members_url": f"{org}/public_members{{/member}}",
            "has_organization_projects": False,
            "has_repository_projects": False,
            "archived_at": None,
        }
    )


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
        "svn_url": f"{links.web}/{full_name}",  # GitHub's too is the web page
        "homepage": None,
        "language": None,
        "license": None,
        "mirror_url": None,
        "created_at": stamp(row["created_at"]),
        "updated_at": stamp(row["created_at"]),
        "permissions": permissions | {"maintain": permissions["admin"], "triage": permissions["push"]},
        # No forks, stars, watchers, issues, projects, wiki, pages, downloads or discussions here.
        **dict.fromkeys(("forks", "forks_count", "stargazers_count", "watchers"), 0),
        **dict.fromkeys(("watchers_count", "network_count", "subscribers_count"), 0),
        **dict.fromkeys(("has_issues", "has_projects", "has_wiki", "has_pages"), False),
        **dict.fromkeys(("has_downloads", "has_discussions"), False),
    } | {key: f"{links.api}/repos/{full_name}{suffix}" for key, suffix in REPO_TEMPLATES.items()}


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
        "protection": {
            "enabled": False,
            "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []},
        },
        "protection_url": f"{links.api}/repos/{full_name}/branches/{name}/protection",
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
        "avatar_url": None,
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
        "_links": {
            "html": {"href": f"{links.web}/{full_name}/pull/{number}#pullrequestreview-{row['id']}"},
            "pull_request": {"href": f"{links.api}/repos/{full_name}/pulls/{number}"},
        },
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
    author = people[row["user_id"]]
    if author["login"] == owner_login:
        association = "OWNER"
    else:  # only the owner or, for an organisation's repository, its members can open one
        association = "MEMBER" if repo["owner"]["type"] == "Organization" else "COLLABORATOR"
    hrefs = {
        "self": f"{base}/pulls/{number}",
        "html": f"{links.web}/{full_name}/pull/{number}",
        "issue": f"{base}/issues/{number}",
        "comments": f"{base}/issues/{number}/comments",
        "review_comments": f"{base}/pulls/{number}/comments",
        "review_comment": f"{base}/pulls/comments{{/number}}",
        "commits": f"{base}/pulls/{number}/commits",
        "statuses": f"{base}/statuses/{head_sha}",
    }
    return {
        "id": row["id"],
        "node_id": f"PR_{row['id']}",
        "number": number,
        "state": row["state"],
        "locked": False,
        "title": row["title"],
        "body": row["body"],
        "user": account(links, author),
        "author_association": association,
        "url": f"{base}/pulls/{number}",
        "html_url": f"{links.web}/{full_name}/pull/{number}",
        "diff_url": f"{links.web}/{full_name}/pull/{number}.diff",
        "patch_url": f"{links.web}/{full_name}/pull/{number}.patch",
        "issue_url": f"{base}/issues/{number}",
        "commits_url": f"{base}/pulls/{number}/commits",
        "review_comments_url": f"{base}/pulls/{number}/comments",
        "review_comment_url": f"{base}/pulls/comments{{/number}}",
        "comments_url": f"{base}/issues/{number}/comments",
        "statuses_url": f"{base}/statuses/{head_sha}",
        "head": side(row["head_ref"], head_sha),
        "base": side(row["base_ref"], base_sha),
        "draft": False,
        "assignee": None,
        "assignees": [],
        "labels": [],
        "milestone": None,
        "auto_merge": None,
        "maintainer_can_modify": False,
        "comments": 0,  # the forge has no issue or review comments
        "review_comments": 0,
        "_links": {key: {"href": href} for key, href in hrefs.items()},
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
