"""The environment a repository's code runs in: an allow-list, never Phoenix's own environment.

Builds, discovered commands and services all run code that came with a repository, so they get one
environment made by `repo_environment`, and nothing else reaches them:

* **The basics a toolchain needs**, taken from Phoenix's environment when set: `PATH` (without
  Phoenix's own virtualenv), `HOME`, `USER`, `LOGNAME`, `SHELL`, `LANG`, `LANGUAGE`, `LC_*`, `TERM`,
  `TZ`, `TMPDIR`.  `HOME` matters most: cargo, npm, pip, go and git keep their caches and
  configuration under it (offline builds depend on those caches).
* **Where a toolchain is installed**, only when set: `CARGO_HOME`, `RUSTUP_HOME` (rustup's `cargo`
  shim looks for its toolchains there, and fails when they live elsewhere than `~/.cargo`,
  `~/.rustup`), `JAVA_HOME` (`mvnw`, `gradlew` and Gradle itself look for Java there), `GOROOT`,
  `GOPATH`.  These name folders; they grant nothing.
* **The machine's trust and network route**: the CA-bundle variables (`SSL_CERT_FILE`,
  `SSL_CERT_DIR`, `REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE`, `NODE_EXTRA_CA_CERTS`), without which no
  package manager can fetch behind a TLS-inspecting proxy, and the proxy variables (`HTTP_PROXY`,
  `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, in either case) — those only when they carry no user or
  password.
* **The repository's own virtualenv** when a build made one: `VIRTUAL_ENV`, its `bin` first on PATH.
* **The variables the user set for that repository** (`phoenix ecosystem env ID KEY=VALUE`), kept in
  `PHOENIX_HOME/repo-env/<id>.json` (0600) — outside DuckDB, because they may be the repository's
  own secrets (a database password for its tests, say).  They win over the basics.
* `PORT` for a service, set by the service runner.

Everything else stays out, whatever its name: `PHOENIX_API_TOKEN`, `GITHUB_PAT`, cloud keys,
`MAKELEVEL`/`MAKEFLAGS` leaking from the `make` that started Phoenix (a repository's make would
think it is a sub-make of ours), `PYTHONPATH`.  As a second
line, `configures_phoenix` and `looks_like_credential` drop a variable even if it matched the list.
A variable the user sets for a repository may look like a credential (that is often why it is
set), but may not configure Phoenix: `PHOENIX_*`, `PREFECT_*`, `LITELLM_*`, `GITHUB_*` and `PORT`
are refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from phoenix.errors import BadInput

BASICS = frozenset(
    {"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TERM", "TZ", "TMPDIR"}
)
TOOLCHAIN_HOMES = frozenset({"CARGO_HOME", "RUSTUP_HOME", "JAVA_HOME", "GOROOT", "GOPATH"})
TRUST = frozenset(
    {"SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"}
)
PROXIES = frozenset(
    name
    for base in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
    for name in (base, base.lower())
)
PHOENIX_PREFIXES = ("PHOENIX_", "PREFECT_", "LITELLM_", "GITHUB_")
RESERVED = frozenset({"PORT"})
# Names whose value is a secret by convention: tokens, passwords, keys, cloud credentials.
CREDENTIAL = re.compile(
    r"TOKEN|SECRET|PASSW(OR)?D|PASSPHRASE|CREDENTIAL|API_?KEY|PRIVATE|(^|_)KEY$|(^|_)AUTH(_|$)"
    r"|^AWS_|^AZURE_|^GOOGLE_|^GCP_|^GCLOUD_|^CLOUDSDK_|^OPENAI_|^ANTHROPIC_|^HF_|^HUGGING",
    re.IGNORECASE,
)
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The one variable Phoenix adds to a service: which instance a process belongs to, so that what a
# service left behind (even a process that left its group) can be found and ended.
SERVICE_MARKER = "PHOENIX_SERVICE_INSTANCE"


def configures_phoenix(name: str) -> bool:
    """Whether `name` configures Phoenix, Prefect, litellm or the forge, or is set by Phoenix for
    the repository (`PORT`)."""
    return name.upper().startswith(PHOENIX_PREFIXES) or name.upper() in RESERVED


def looks_like_credential(name: str) -> bool:
    """Whether a variable's name says its value is a secret (`*TOKEN*`, `*_KEY`, `AWS_*`, ...)."""
    return CREDENTIAL.search(name) is not None


def _allowed(name: str, value: str) -> bool:
    if configures_phoenix(name) or looks_like_credential(name):
        return False
    if name in PROXIES:
        return "@" not in urlsplit(value if "://" in value else f"//{value}").netloc
    return name in BASICS or name in TOOLCHAIN_HOMES or name in TRUST or name.startswith("LC_")


def inherited_environment(source: Mapping[str, str] | None = None) -> dict[str, str]:
    """The allowed part of `source` (this process's environment by default), with Phoenix's own
    virtualenv taken off PATH so that `python` and `pip` are never Phoenix's."""
    environment = {
        name: value
        for name, value in (os.environ if source is None else source).items()
        if _allowed(name, value)
    }
    environment["PATH"] = without_own_virtualenv(environment.get("PATH", os.defpath))
    return environment


def without_own_virtualenv(path: str) -> str:
    """`path` (a PATH value) without Phoenix's own virtualenv's `bin` and without empty entries
    (an empty entry means the current folder)."""
    own_bin = str(Path(sys.prefix) / "bin")
    return os.pathsep.join(entry for entry in path.split(os.pathsep) if entry and entry != own_bin)


def repo_environment(
    repo_path: Path,
    venv: Path | None = None,
    variables: Mapping[str, str] | None = None,
    source: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The whole environment of a repository's build step, command or service.

    Args:
        venv: the repository's own virtualenv; its `bin` goes first on PATH, so `python -m pip`
            installs there and never into Phoenix's environment.
        variables: what the user set for this repository (`read_variables`); they win over the
            inherited basics (a PATH of their own still gets the virtualenv in front).
        source: the environment to take the basics from; this process's by default.
    """
    environment = inherited_environment(source)
    environment.update(variables or {})
    if venv is not None:
        path = [str(venv / "bin"), *environment.get("PATH", "").split(os.pathsep)]
        environment["PATH"] = os.pathsep.join(entry for entry in path if entry)
        environment["VIRTUAL_ENV"] = str(venv)
    environment["PWD"] = str(repo_path)
    return environment


# --- Per-repository variables ----------------------------------------------------------------------


def variables_file(home: Path, repo_id: str) -> Path:
    """Where the variables of repository `repo_id` are kept (ids are hex, so never a path)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", repo_id):
        raise BadInput(f"{repo_id!r} is not a repository id")
    return home / "repo-env" / f"{repo_id}.json"


def read_variables(home: Path, repo_id: str) -> dict[str, str]:
    """The variables set for a repository; none when nothing was set."""
    try:
        data = json.loads(variables_file(home, repo_id).read_text())
    except FileNotFoundError:
        return {}
    except ValueError as error:
        raise BadInput(f"The variables of {repo_id} are unreadable ({error}): set them again") from None
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def parse_assignments(assignments: Iterable[str]) -> dict[str, str | None]:
    """`KEY=VALUE` sets, `KEY=` unsets (None); anything else, or a name Phoenix owns, is BadInput.

    A value never appears in an error message: it may be a secret.
    """
    changes: dict[str, str | None] = {}
    for assignment in assignments:
        name, equals, value = assignment.partition("=")
        if not equals:  # perhaps a value typed alone: not echoed either
            raise BadInput("An argument has no '=': write KEY=VALUE to set a variable, KEY= to unset it")
        if not NAME.fullmatch(name):
            raise BadInput(f"{name!r} is not a variable name (letters, digits and _)")
        if configures_phoenix(name):
            raise BadInput(
                f"{name} configures Phoenix (or is set by it) and cannot be set for a repository"
            )
        if "\0" in value:
            raise BadInput(f"The value of {name} contains a NUL byte")
        changes[name] = value or None
    return changes


def update_variables(home: Path, repo_id: str, assignments: Iterable[str]) -> list[str]:
    """Apply `KEY=VALUE` / `KEY=` to the repository's variables; the names now set, sorted."""
    changes = parse_assignments(assignments)
    variables = read_variables(home, repo_id)
    if not changes:
        return sorted(variables)
    for name, value in changes.items():
        if value is None:
            variables.pop(name, None)
        else:
            variables[name] = value
    _write_private(variables_file(home, repo_id), json.dumps(variables, sort_keys=True))
    return sorted(variables)


def delete_variables(home: Path, repo_id: str) -> None:
    """Forget a repository's variables (on `remove`)."""
    variables_file(home, repo_id).unlink(missing_ok=True)


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable by its owner only, atomically: the file is made 0600 before
    a byte is written, and replaces the old one in a single rename."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:  # mkstemp creates the file 0600
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise
