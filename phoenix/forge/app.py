"""The forge's HTTP application: GitHub's REST subset under /api/v3, git smart-HTTP under /<o>/<r>.git.

REST routes are plain functions (FastAPI runs them in its thread pool; the store serialises them);
git routes are async, streaming through `git http-backend`. Errors have GitHub's body,
`{"message": ...}`, so PyGithub raises its usual exceptions (401 → BadCredentialsException,
404 → UnknownObjectException, 405/409/422 → GithubException).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from fastapi import Body, Depends, FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from phoenix.errors import Conflict
from phoenix.forge import ci as forge_ci
from phoenix.forge import git_http, payloads, repos
from phoenix.forge.payloads import Links
from phoenix.forge.storage import ForgeStore
from phoenix.forge.tokens import mask_secrets, token_from_authorization

logger = logging.getLogger("phoenix.forge")
STATUS_STATES = ("error", "failure", "pending", "success")
REPO_SORTS = ("created", "updated", "pushed", "full_name")
MAX_PER_PAGE = 100
ALL_AFFILIATIONS = "owner,collaborator,organization_member"
REVIEW_STATES = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}
Json = dict[str, Any]


class NewRepo(BaseModel):
    name: str
    description: str | None = None
    private: bool = False
    visibility: str | None = None
    auto_init: bool = False


class NewPull(BaseModel):
    title: str
    head: str
    base: str
    body: str | None = None


class MergeRequest(BaseModel):
    sha: str | None = None
    merge_method: str = "merge"
    commit_title: str | None = None
    commit_message: str | None = None


class NewStatus(BaseModel):
    state: str
    target_url: str | None = None
    description: str | None = None
    context: str = "default"


class CheckOutput(BaseModel):
    title: str | None = None
    summary: str | None = None
    text: str | None = None


class NewCheckRun(BaseModel):
    name: str
    head_sha: str
    status: str = "queued"
    conclusion: str | None = None
    details_url: str | None = None
    external_id: str | None = None
    output: CheckOutput = Field(default_factory=CheckOutput)


class NewReview(BaseModel):
    body: str | None = None
    event: str | None = None
    commit_id: str | None = None


class TokenRequest(BaseModel):
    user: str
    org: str | None = None


def fail(status: int, message: str, headers: dict[str, str] | None = None) -> HTTPException:
    return HTTPException(status_code=status, detail=message, headers=headers)


class Forge:
    """Access rules and lookups shared by the routes."""

    def __init__(self, home: Path, store: ForgeStore, ci: forge_ci.CiRunner | None = None) -> None:
        self.root = home / "repos"
        self.store = store
        self.ci = ci
        self.merge_lock = threading.Lock()

    def path(self, repo: Json) -> Path:
        return self.root / repo["owner_login"] / f"{repo['name']}.git"

    def can_write(self, repo: Json, user: Json | None) -> bool:
        if user is None:
            return False
        if repo["owner_id"] == user["id"]:
            return True
        return repo["owner_kind"] == "Organization" and self.store.is_member(
            repo["owner_id"], user["id"]
        )

    def can_read(self, repo: Json, user: Json | None) -> bool:
        return not repo["private"] or self.can_write(repo, user)

    def readable(self, owner: str, name: str, user: Json | None) -> Json:
        repo = self.store.repo(owner, name)
        if repo is None or not self.can_read(repo, user):
            raise fail(404, "Not Found")
        return repo

    def writable(self, owner: str, name: str, user: Json | None) -> Json:
        repo = self.readable(owner, name, user)
        if user is None:
            raise fail(401, "Requires authentication")
        if not self.can_write(repo, user):
            raise fail(403, "Must have push access to this repository.")
        return repo

    def repo_json(self, links: Links, repo: Json, user: Json | None) -> Json:
        owner = self.store.account_by_id(repo["owner_id"])
        write = self.can_write(repo, user)
        return payloads.repository(links, repo, owner, {"admin": write, "push": write, "pull": True})

    def commit_or_404(self, repo: Json, ref: str) -> repos.CommitInfo:
        path = self.path(repo)
        sha = ref if repos.FULL_SHA.match(ref) else repos.resolve(path, ref)
        info = repos.commit_info(path, sha) if sha else None
        if info is None:
            raise fail(422 if sha is None else 404, f"No commit found for SHA: {ref}")
        return info


def paginate(
    request: Request, items: list[Json], per_page: int, page_number: int
) -> tuple[list[Json], dict[str, str]]:
    """One page of `items` and GitHub's `Link` header for the others (PyGithub follows `next`)."""
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    page_number = max(page_number, 1)
    last = max((len(items) + per_page - 1) // per_page, 1)
    links = []
    for relation, number in (("next", page_number + 1), ("last", last), ("prev", page_number - 1),
                             ("first", 1)):  # fmt: skip
        if (relation in ("next", "last") and page_number < last) or (
            relation in ("prev", "first") and page_number > 1
        ):
            url = request.url.include_query_params(page=number, per_page=per_page)
            links.append(f'<{url}>; rel="{relation}"')
    start = (page_number - 1) * per_page
    return items[start : start + per_page], ({"Link": ", ".join(links)} if links else {})


def sort_repos(rows: list[Json], sort: str, direction: str | None) -> list[Json]:
    """GitHub's order: by full name ascending, or by time newest first, unless `direction` says."""
    if sort == "full_name":
        key = lambda row: f"{row['owner_login']}/{row['name']}".lower()  # noqa: E731
    else:  # created, updated and pushed: the forge keeps one time per repository
        key = lambda row: (row["created_at"], row["id"])  # noqa: E731
    descending = direction == "desc" if direction in ("asc", "desc") else sort != "full_name"
    return sorted(rows, key=key, reverse=descending)


def create_app(
    home: Path, store: ForgeStore, admin_secret: str, ci: forge_ci.CiRunner | None = None
) -> RequestLog:
    """The forge over `store` and the bare repositories under `home/repos`.

    `admin_secret` guards the two routes `phoenix forge token` uses while the server holds the state;
    `ci` (None: no CI) tests what is pushed and posts its commit statuses.
    """
    app = FastAPI(title="Phoenix forge", docs_url=None, redoc_url=None)
    forge = Forge(home, store, ci)
    app.state.forge = forge

    def links(request: Request) -> Links:
        return Links(str(request.base_url).rstrip("/"))

    def viewer(request: Request, authorization: str | None = Header(default=None)) -> Json | None:
        if authorization is None:
            return None
        token = token_from_authorization(authorization)
        user = store.user_for_token(token) if token else None
        if user is None:
            raise fail(401, "Bad credentials")
        request.scope["forge_user"] = user["login"]
        return user

    def signed_in(user: Json | None = Depends(viewer)) -> Json:
        if user is None:
            raise fail(401, "Requires authentication")
        return user

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        body = {"message": str(error.detail), "documentation_url": "docs/design.md"}
        return JSONResponse(body, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"][1:]), "code": "invalid", "message": e["msg"]}
            for e in error.errors()
        ]
        return JSONResponse({"message": "Validation Failed", "errors": problems}, status_code=422)

    api = "/api/v3"

    @app.get(api + "/meta")
    def meta() -> Json:
        return {"verifiable_password_authentication": False, "installed_version": "phoenix-forge"}

    @app.get(api + "/user")
    def me(request: Request, user: Json = Depends(signed_in)) -> Json:
        return payloads.profile(links(request), user)

    @app.get(api + "/users/{login}")
    @app.get(api + "/orgs/{login}")
    def account(request: Request, login: str) -> Json:
        found = store.account(login)
        wanted = ("Organization",) if "/orgs/" in request.url.path else ("User", "Bot")
        if found is None or found["kind"] not in wanted:
            raise fail(404, "Not Found")
        return payloads.profile(links(request), found)

    def new_repo(request: Request, owner: Json, user: Json, spec: NewRepo) -> JSONResponse:
        if not repos.valid_name(spec.name):
            raise fail(422, f"Repository creation failed: invalid name {spec.name!r}")
        private = spec.private or spec.visibility in ("private", "internal")
        try:
            row = store.create_repo(owner, spec.name, private, spec.description)
        except Conflict as error:
            raise fail(422, f"Repository creation failed: {error.message}") from error
        path = forge.path(row)
        repos.init_bare(path, row["default_branch"])
        if spec.auto_init:
            identity = (user["login"], f"{user['login']}@users.noreply.phoenix-forge")
            repos.initial_commit(path, row["default_branch"], f"# {spec.name}\n", identity)
        return JSONResponse(forge.repo_json(links(request), row, user), status_code=201)

    @app.post(api + "/user/repos", status_code=201)
    def create_user_repo(
        request: Request, spec: NewRepo, user: Json = Depends(signed_in)
    ) -> JSONResponse:
        return new_repo(request, user, user, spec)

    @app.post(api + "/orgs/{org}/repos", status_code=201)
    def create_org_repo(
        request: Request, org: str, spec: NewRepo, user: Json = Depends(signed_in)
    ) -> JSONResponse:
        found = store.account(org)
        if found is None or found["kind"] != "Organization":
            raise fail(404, "Not Found")
        if not store.is_member(found["id"], user["id"]):
            raise fail(403, "You need to be a member of the organization to add a repository to it.")
        return new_repo(request, found, user, spec)

    def listing(request: Request, rows: list[Json], user: Json | None, per_page: int,
                page_number: int) -> JSONResponse:  # fmt: skip
        here = links(request)
        shown, headers = paginate(request, rows, per_page, page_number)
        return JSONResponse([forge.repo_json(here, row, user) for row in shown], headers=headers)

    @app.get(api + "/user/repos")
    def list_my_repos(
        request: Request, visibility: str = "all", affiliation: str = ALL_AFFILIATIONS,
        type: str | None = None, sort: str = "full_name", direction: str | None = None,
        per_page: int = 30, page: int = 1, user: Json = Depends(signed_in),
    ) -> JSONResponse:  # fmt: skip
        """The repositories the token's user owns or, as an organisation's member, can push to."""
        if type is not None:  # GitHub: `type` and `affiliation` exclude each other
            wanted = {"owner": {"owner"}, "member": {"organization_member"}}.get(
                type, {"owner", "organization_member"}
            )
        else:
            wanted = set(affiliation.split(","))
        owners = [user["id"]] if "owner" in wanted else []
        if "organization_member" in wanted:
            owners += store.organisations_of(user["id"])
        rows = store.repos_owned_by(owners)
        if visibility in ("public", "private") or type in ("public", "private"):
            private = (type or visibility) == "private"
            rows = [row for row in rows if row["private"] == private]
        ordered = sort_repos(rows, sort if sort in REPO_SORTS else "full_name", direction)
        return listing(request, ordered, user, per_page, page)

    @app.get(api + "/orgs/{org}/repos")
    def list_org_repos(
        request: Request, org: str, type: str = "all", sort: str = "created",
        direction: str | None = None, per_page: int = 30, page: int = 1,
        user: Json | None = Depends(viewer),
    ) -> JSONResponse:  # fmt: skip
        """An organisation's repositories: the public ones, and the private ones for its members."""
        found = store.account(org)
        if found is None or found["kind"] != "Organization":
            raise fail(404, "Not Found")
        rows = [row for row in store.repos_owned_by([found["id"]]) if forge.can_read(row, user)]
        if type in ("public", "private"):
            rows = [row for row in rows if row["private"] == (type == "private")]
        ordered = sort_repos(rows, sort if sort in REPO_SORTS else "created", direction)
        return listing(request, ordered, user, per_page, page)

    @app.get(api + "/repos/{owner}/{name}")
    def get_repo(request: Request, owner: str, name: str, user: Json | None = Depends(viewer)) -> Json:
        return forge.repo_json(links(request), forge.readable(owner, name, user), user)

    @app.get(api + "/repos/{owner}/{name}/branches/{branch:path}")
    def get_branch(
        request: Request, owner: str, name: str, branch: str, user: Json | None = Depends(viewer)
    ) -> Json:
        repo = forge.readable(owner, name, user)
        sha = repos.read_ref(forge.path(repo), branch)
        info = repos.commit_info(forge.path(repo), sha) if sha else None
        if info is None:
            raise fail(404, "Branch not found")
        return payloads.branch(links(request), f"{owner}/{repo['name']}", branch, info)

    @app.get(api + "/repos/{owner}/{name}/commits/{ref}")
    def get_commit(
        request: Request, owner: str, name: str, ref: str, user: Json | None = Depends(viewer)
    ) -> Json:
        repo = forge.readable(owner, name, user)
        return payloads.commit(links(request), full_name(repo), forge.commit_or_404(repo, ref))

    def full_name(repo: Json) -> str:
        return f"{repo['owner_login']}/{repo['name']}"

    @app.post(api + "/repos/{owner}/{name}/statuses/{sha}", status_code=201)
    def create_status(
        request: Request,
        owner: str,
        name: str,
        sha: str,
        spec: NewStatus,
        user: Json = Depends(signed_in),
    ) -> Json:
        repo = forge.writable(owner, name, user)
        if spec.state not in STATUS_STATES:
            raise fail(422, f"state must be one of {', '.join(STATUS_STATES)}")
        info = forge.commit_or_404(repo, sha)
        row = store.add_status(repo["id"], info.sha, spec.model_dump(), user["id"])
        return payloads.status(links(request), full_name(repo), row, user)

    @app.get(api + "/repos/{owner}/{name}/commits/{ref}/status")
    def combined_status(
        request: Request, owner: str, name: str, ref: str, user: Json | None = Depends(viewer)
    ) -> Json:
        repo = forge.readable(owner, name, user)
        info = forge.commit_or_404(repo, ref)
        latest: dict[str, Json] = {}
        for row in store.statuses(repo["id"], info.sha):  # newest first: keep each context's latest
            latest.setdefault(row["context"], row)
        states = {row["state"] for row in latest.values()}
        if states & {"error", "failure"}:
            state = "failure"
        elif not states or "pending" in states:
            state = "pending"
        else:
            state = "success"
        here = links(request)
        return {
            "state": state,
            "sha": info.sha,
            "total_count": len(latest),
            "statuses": [
                payloads.status(here, full_name(repo), row, store.account_by_id(row["creator_id"]))
                for row in latest.values()
            ],
            "repository": forge.repo_json(here, repo, user),
            "commit_url": f"{here.api}/repos/{full_name(repo)}/commits/{info.sha}",
            "url": f"{here.api}/repos/{full_name(repo)}/commits/{info.sha}/status",
        }

    @app.post(api + "/repos/{owner}/{name}/check-runs", status_code=201)
    def create_check_run(
        request: Request, owner: str, name: str, spec: NewCheckRun, user: Json = Depends(signed_in)
    ) -> Json:
        repo = forge.writable(owner, name, user)
        info = forge.commit_or_404(repo, spec.head_sha)
        status = "completed" if spec.conclusion else spec.status
        if status not in ("queued", "in_progress", "completed"):
            raise fail(422, "status must be queued, in_progress or completed")
        fields = spec.model_dump() | spec.output.model_dump() | {"head_sha": info.sha, "status": status}
        if status == "completed":
            fields["completed_at"] = payloads.dt.datetime.now(payloads.dt.UTC)
        row = store.add_check_run(repo["id"], fields)
        return payloads.check_run(links(request), full_name(repo), row)

    @app.get(api + "/repos/{owner}/{name}/commits/{ref}/check-runs")
    def list_check_runs(
        request: Request, owner: str, name: str, ref: str, user: Json | None = Depends(viewer)
    ) -> Json:
        repo = forge.readable(owner, name, user)
        info = forge.commit_or_404(repo, ref)
        latest: dict[str, Json] = {}
        for row in store.check_runs(repo["id"], info.sha):  # GitHub's default filter: latest per name
            latest.setdefault(row["name"], row)
        runs = [payloads.check_run(links(request), full_name(repo), row) for row in latest.values()]
        return {"total_count": len(runs), "check_runs": runs}

    def pull_json(request: Request, repo: Json, row: Json, user: Json | None) -> Json:
        path = forge.path(repo)
        if row["state"] == "open":
            head = repos.read_ref(path, row["head_ref"])
            base = repos.read_ref(path, row["base_ref"])
            mergeable = bool(head and base and repos.merged_tree(path, base, head))
        else:
            head, base, mergeable = row["closed_head_sha"], row["closed_base_sha"], None
        people = {row["user_id"]: store.account_by_id(row["user_id"])}
        if row["merged_by"]:
            people[row["merged_by"]] = store.account_by_id(row["merged_by"])
        here = links(request)
        return payloads.pull(here, forge.repo_json(here, repo, user), row, people, head, base, mergeable)

    def pull_or_404(repo: Json, number: int) -> Json:
        row = store.pull(repo["id"], number)
        if row is None:
            raise fail(404, "Not Found")
        return row

    @app.post(api + "/repos/{owner}/{name}/pulls", status_code=201)
    def create_pull(
        request: Request, owner: str, name: str, spec: NewPull, user: Json = Depends(signed_in)
    ) -> Json:
        repo = forge.writable(owner, name, user)
        head = spec.head.split(":", 1)[1] if ":" in spec.head else spec.head
        path = forge.path(repo)
        head_sha, base_sha = repos.read_ref(path, head), repos.read_ref(path, spec.base)
        if head_sha is None or base_sha is None:
            raise fail(422, f"Validation Failed: no branch {head if head_sha is None else spec.base}")
        if repos.is_ancestor(path, head_sha, base_sha):
            raise fail(422, f"Validation Failed: No commits between {spec.base} and {head}")
        if store.open_pull_for(repo["id"], head, spec.base):
            raise fail(422, f"Validation Failed: A pull request already exists for {owner}:{head}.")
        row = store.create_pull(repo["id"], user["id"], spec.title, spec.body, head, spec.base)
        return pull_json(request, repo, row, user)

    @app.get(api + "/repos/{owner}/{name}/pulls")
    def list_pulls(
        request: Request, owner: str, name: str, state: str = "open", head: str | None = None,
        base: str | None = None, direction: str = "desc", per_page: int = 30, page: int = 1,
        user: Json | None = Depends(viewer),
    ) -> JSONResponse:  # fmt: skip
        """Newest first (GitHub's default sort, `created`); `head` as `owner:branch` or `branch`."""
        repo = forge.readable(owner, name, user)
        if state not in ("open", "closed", "all"):
            raise fail(422, "state must be open, closed or all")
        rows = store.pulls(repo["id"], state)
        if head:
            rows = [r for r in rows if r["head_ref"] == head.split(":", 1)[-1]]
        if base:
            rows = [r for r in rows if r["base_ref"] == base]
        if direction == "asc":
            rows.reverse()
        shown, headers = paginate(request, rows, per_page, page)
        return JSONResponse([pull_json(request, repo, row, user) for row in shown], headers=headers)

    @app.get(api + "/repos/{owner}/{name}/pulls/{number}")
    def get_pull(
        request: Request, owner: str, name: str, number: int, user: Json | None = Depends(viewer)
    ) -> Json:
        repo = forge.readable(owner, name, user)
        return pull_json(request, repo, pull_or_404(repo, number), user)

    @app.get(api + "/repos/{owner}/{name}/pulls/{number}/reviews")
    def list_reviews(
        request: Request, owner: str, name: str, number: int, user: Json | None = Depends(viewer)
    ) -> list[Json]:
        repo = forge.readable(owner, name, user)
        row = pull_or_404(repo, number)
        return [
            payloads.review(links(request), full_name(repo), number, review,
                            store.account_by_id(review["user_id"]), row["user_id"])
            for review in store.reviews(row["id"])
        ]  # fmt: skip

    @app.post(api + "/repos/{owner}/{name}/pulls/{number}/reviews")
    def create_review(
        request: Request, owner: str, name: str, number: int, spec: NewReview,
        user: Json = Depends(signed_in),
    ) -> Json:  # fmt: skip
        repo = forge.readable(owner, name, user)
        row = pull_or_404(repo, number)
        if spec.event is not None and spec.event not in REVIEW_STATES:
            raise fail(422, f"event must be one of {', '.join(REVIEW_STATES)}")
        state = REVIEW_STATES[spec.event] if spec.event else "PENDING"
        commit_id = spec.commit_id or repos.read_ref(forge.path(repo), row["head_ref"])
        review = store.add_review(row["id"], user["id"], state, spec.body, commit_id)
        return payloads.review(links(request), full_name(repo), number, review, user, row["user_id"])

    @app.put(api + "/repos/{owner}/{name}/pulls/{number}/merge")
    def merge_pull(
        owner: str, name: str, number: int, spec: MergeRequest | None = Body(default=None),
        user: Json = Depends(signed_in),
    ) -> Json:  # fmt: skip
        spec = spec or MergeRequest()
        repo = forge.writable(owner, name, user)
        if spec.merge_method not in ("merge", "squash"):
            raise fail(422, f"Merge method {spec.merge_method} is not supported by this forge")
        path = forge.path(repo)
        with forge.merge_lock:
            row = pull_or_404(repo, number)
            head = repos.read_ref(path, row["head_ref"])
            base = repos.read_ref(path, row["base_ref"])
            if row["state"] != "open" or head is None or base is None:
                raise fail(405, "Pull Request is not mergeable")
            if spec.sha and spec.sha != head:
                raise fail(409, "Head branch was modified. Review and try the merge again.")
            if spec.merge_method == "squash":
                title = spec.commit_title or f"{row['title']} (#{number})"
                body = spec.commit_message if spec.commit_message is not None else row["body"] or ""
            else:
                title = (
                    spec.commit_title or f"Merge pull request #{number} from {owner}/{row['head_ref']}"
                )
                body = spec.commit_message if spec.commit_message is not None else row["title"]
            message = f"{title}\n\n{body}".rstrip() + "\n"
            identity = (user["login"], f"{user['login']}@users.noreply.phoenix-forge")
            sha = repos.merge(path, row["base_ref"], base, head, spec.merge_method, message, identity)
            if sha is None:
                raise fail(405, "Pull Request is not mergeable")
            store.mark_merged(row["id"], sha, user["id"], head, sha)
        return {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}

    def admin(secret: str | None) -> None:
        if secret is None or not secrets.compare_digest(secret, admin_secret):
            raise fail(401, "Bad credentials")

    @app.post(api + "/_phoenix/tokens", include_in_schema=False)
    def issue_token(
        spec: TokenRequest, x_phoenix_forge_admin: str | None = Header(default=None)
    ) -> Json:
        admin(x_phoenix_forge_admin)
        return issue(store, spec.user, spec.org)

    @app.get("/{owner}/{name}/ci/{sha}", response_class=PlainTextResponse)
    def ci_log(owner: str, name: str, sha: str, user: Json | None = Depends(viewer)) -> str:
        """The CI runner's log page for a commit (the `target_url` of its statuses), as text."""
        repo = forge.readable(owner, name, user)
        run = store.ci_run(repo["id"], sha)
        if run is None:
            raise fail(404, "Not Found")
        return forge_ci.log_text(run, full_name(repo))

    @app.api_route("/{owner}/{name}.git/{rest:path}", methods=["GET", "POST"])
    async def git(request: Request, owner: str, name: str, rest: str) -> Response:
        return await serve_git(request, forge, owner, name, rest)

    return RequestLog(app)


class RequestLog:
    """One line per request: method, path, query with tokens masked, status, time, user.

    Headers are never logged (they carry the credentials). A plain ASGI wrapper: Starlette's
    `BaseHTTPMiddleware` costs about a millisecond a request and buffers streamed git packs.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.state = app.state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [0]

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            query = scope.get("query_string", b"").decode("latin-1")
            logger.info(
                "%s %s%s %s %.1fms user=%s",
                scope["method"],
                scope["path"],
                f"?{mask_secrets(query)}" if query else "",
                status[0],
                (time.perf_counter() - started) * 1000,
                scope.get("forge_user", "-"),
            )


def issue(store: ForgeStore, login: str, org: str | None = None) -> Json:
    """A new token for `login` (created if new; made a member of `org` if given), shown this once."""
    if not repos.valid_name(login) or (org is not None and not repos.valid_name(org)):
        raise fail(422, "invalid account name")
    user, token = store.issue_token(login)
    if org:
        store.add_member(org, login)
    return {"user": user["login"], "token": token} | ({"org": org} if org else {})


GIT_PATHS = ("info/refs", "git-upload-pack", "git-receive-pack", "HEAD")
CHALLENGE = {"WWW-Authenticate": 'Basic realm="phoenix-forge"'}


async def serve_git(request: Request, forge: Forge, owner: str, name: str, rest: str) -> Response:
    """Clone and push: public repositories need no credentials; pushing needs write access."""
    from starlette.concurrency import run_in_threadpool

    if rest not in GIT_PATHS:
        return JSONResponse({"message": "Not Found"}, status_code=404)
    header = request.headers.get("authorization")
    user = None
    if header:
        token = token_from_authorization(header)
        user = await run_in_threadpool(forge.store.user_for_token, token) if token else None
        if user is None:
            return JSONResponse({"message": "Bad credentials"}, status_code=401, headers=CHALLENGE)
        request.scope["forge_user"] = user["login"]
    repo = await run_in_threadpool(forge.store.repo, owner, name)
    pushing = rest == "git-receive-pack" or request.query_params.get("service") == "git-receive-pack"
    if repo is None or not forge.can_read(repo, user):
        if user is None:
            return JSONResponse(
                {"message": "Requires authentication"}, status_code=401, headers=CHALLENGE
            )
        return JSONResponse({"message": "Repository not found"}, status_code=404)
    if pushing and not forge.can_write(repo, user):
        if user is None:
            return JSONResponse(
                {"message": "Requires authentication"}, status_code=401, headers=CHALLENGE
            )
        return JSONResponse({"message": "Permission denied"}, status_code=403)
    path_info = f"/{repo['owner_login']}/{repo['name']}.git/{rest}"
    full_name = f"{repo['owner_login']}/{repo['name']}"
    finished = None
    runner = forge.ci
    if rest == "git-receive-pack" and request.method == "POST" and runner is not None:
        before = await run_in_threadpool(runner.heads, repo)

        async def finished(exit_status: int) -> None:
            if exit_status != 0:
                return
            try:
                await run_in_threadpool(runner.pushed, repo, before)
            except Exception:  # the push itself succeeded: CI trouble must not fail it
                logger.exception("phoenix-ci: could not queue the push to %s", full_name)

    login = user["login"] if user else None
    return await git_http.serve(request, forge.root, path_info, login, finished)
