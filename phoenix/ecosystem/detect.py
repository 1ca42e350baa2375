"""Which build systems a repository uses, judged from the files at its root.

Detection looks at the repository's root folder only — one directory listing, plus package.json for
its `packageManager` field — so it costs the same for a ten-file project and a monorepo.  Every match
is reported; one is chosen as primary (the system whose build steps Phoenix runs and whose start
command it prefers), the first present in this order:

    cargo   Cargo.toml
    npm     package.json                        package manager: npm, yarn or pnpm
    go      go.mod
    maven   pom.xml
    gradle  build.gradle, build.gradle.kts, gradlew
    python  pyproject.toml, setup.py, requirements.txt
    make    GNUmakefile, makefile, Makefile     GNU make's own search order
    docker  Dockerfile

Why this order: a language's own manifest describes the project itself and says exactly how to build
it, so those come first.  Python's markers come after them because they are often incidental — a
requirements.txt for the docs of a JavaScript project, a pyproject.toml holding only tool settings.
Maven goes before Gradle because its lifecycle phases always exist while Gradle's tasks depend on
plugins we can read only in part.  Make usually wraps one of the above (`make test` → `cargo test`),
so it is the primary only when nothing more specific is there.  Docker packages whichever of the above
and needs an engine, which is not always available.

A Procfile is reported too (as the system `procfile`, always last) but is never primary: it does not
build anything, it only names processes, and its `web` process overrides every start command.

`RepoFiles` is how detection and discovery read the root: each manifest is read and parsed at most
once, files that resolve outside the repository (symlinks) or are implausibly large are refused, and
every unreadable or malformed manifest is recorded as a problem instead of crashing the analysis.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from phoenix.errors import BadInput

SystemName = Literal["cargo", "npm", "go", "maven", "gradle", "python", "make", "docker", "procfile"]

PRIMARY_ORDER: tuple[SystemName, ...] = (
    "cargo",
    "npm",
    "go",
    "maven",
    "gradle",
    "python",
    "make",
    "docker",
)
"""Build systems by priority; the first one present is the primary."""

MARKERS: dict[SystemName, tuple[str, ...]] = {
    "cargo": ("Cargo.toml",),
    "npm": ("package.json",),
    "go": ("go.mod",),
    "maven": ("pom.xml",),
    "gradle": ("build.gradle", "build.gradle.kts", "gradlew"),
    "python": ("pyproject.toml", "setup.py", "requirements.txt"),
    "make": ("GNUmakefile", "makefile", "Makefile"),
    "docker": ("Dockerfile",),
    "procfile": ("Procfile",),
}
"""Root files that reveal each system, in the order the system itself looks for them."""

PACKAGE_MANAGERS = ("npm", "yarn", "pnpm")

LOCKFILES: tuple[tuple[str, str], ...] = (
    ("pnpm-lock.yaml", "pnpm"),
    ("yarn.lock", "yarn"),
    ("package-lock.json", "npm"),
    ("npm-shrinkwrap.json", "npm"),
)
"""Lockfile → package manager.  A repo rarely keeps two; when it does, the stale one is usually an
npm package-lock.json left from before a switch, so npm's lockfiles are looked at last."""

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
"""A build file larger than this is refused: no real manifest is, and parsing one must stay cheap."""


class ManifestError(BadInput):
    """A build file that cannot be read or does not mean what its format requires."""

    code = "malformed_manifest"


class BuildSystem(BaseModel):
    """One build system found at a repository's root."""

    name: SystemName
    markers: list[str] = Field(description="The root files that revealed the system.")
    package_manager: str | None = Field(
        default=None, description="npm, yarn or pnpm for an npm project; None for other systems."
    )


class RepoFiles:
    """The repository root as detection and discovery see it.

    One listing of the root is taken up front; anything deeper is looked up by exact path, so the
    size of the tree never matters.  Problems (malformed or unreadable manifests, refused files) are
    collected in `problems`, keyed by file, in the order they were met.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._real_root = root.resolve()
        self.files, self.dirs = _list_folder(root)
        self.problems: dict[str, str] = {}
        self._texts: dict[str, str] = {}
        self._parsed: dict[str, Any] = {}

    def has(self, name: str) -> bool:
        """Whether a regular file of this name is at the root."""
        return name in self.files

    def has_dir(self, name: str) -> bool:
        """Whether a folder of this name is at the root."""
        return name in self.dirs

    def is_file(self, relative: str) -> bool:
        """Whether a regular file exists at a path below the root (one stat, no listing)."""
        return os.path.isfile(self.root / relative)

    def list_folder(self, relative: str) -> tuple[frozenset[str], frozenset[str]]:
        """The files and folders of one subfolder (both empty when it does not exist)."""
        return _list_folder(self.root / relative)

    def problem(self, name: str, message: str) -> ManifestError:
        """Record that `name` is unusable, and return the error for the caller to raise."""
        self.problems.setdefault(name, f"{name}: {message}")
        return ManifestError(f"{name}: {message}")

    def text(self, name: str, *, strict: bool = True) -> str:
        """A file's text, read once.

        Args:
            name: a path relative to the root.
            strict: refuse text that is not UTF-8 (for JSON and TOML, whose formats require it);
                when False, undecodable bytes are replaced, as make and Procfile runners tolerate.
        """
        if name in self._texts:
            return self._texts[name]
        path = self.root / name
        try:
            real = path.resolve()
            if not real.is_relative_to(self._real_root):
                raise self.problem(name, "points outside the repository; not read")
            size = real.stat().st_size
            if size > MAX_MANIFEST_BYTES:
                raise self.problem(name, f"is {size} bytes, more than a build file can be; not read")
            data = real.read_bytes()
        except OSError as error:
            raise self.problem(name, f"cannot be read ({error.strerror or error})") from error
        try:
            text = data.decode("utf-8-sig", errors="strict" if strict else "replace")
        except UnicodeDecodeError as error:
            raise self.problem(name, f"is not UTF-8 text ({error.reason})") from error
        self._texts[name] = text
        return text

    def head(self, name: str, limit: int = 8192) -> str:
        """The first `limit` bytes of a file as text (for files read only for a header line)."""
        try:
            with open(self.root / name, "rb") as handle:
                return handle.read(limit).decode("utf-8", errors="replace")
        except OSError:
            return ""

    def json(self, name: str) -> Any:
        """A JSON file, parsed once."""
        key = f"json:{name}"
        if key not in self._parsed:
            try:
                self._parsed[key] = json.loads(self.text(name))
            except json.JSONDecodeError as error:
                where = f"line {error.lineno} column {error.colno}"
                raise self.problem(name, f"is not valid JSON: {error.msg} at {where}") from error
        return self._parsed[key]

    def toml(self, name: str) -> dict[str, Any]:
        """A TOML file, parsed once with the standard library's tomllib."""
        key = f"toml:{name}"
        if key not in self._parsed:
            try:
                self._parsed[key] = tomllib.loads(self.text(name))
            except tomllib.TOMLDecodeError as error:
                raise self.problem(name, f"is not valid TOML: {error}") from error
        return self._parsed[key]


def _list_folder(folder: Path) -> tuple[frozenset[str], frozenset[str]]:
    """Regular files and folders directly in `folder` (symlinks followed; broken ones left out)."""
    files: list[str] = []
    dirs: list[str] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    if entry.is_file():
                        files.append(entry.name)
                    elif entry.is_dir():
                        dirs.append(entry.name)
                except OSError:
                    continue
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        pass
    return frozenset(files), frozenset(dirs)


def npm_package_manager(files: RepoFiles) -> str:
    """The package manager of an npm project: npm, yarn or pnpm.

    package.json's `packageManager` field wins (corepack enforces it: `"pnpm@9.1.0"`), then the
    lockfile, then npm.  A package.json that does not parse is not this function's to report: the
    discovery of npm commands reads it again and records the problem.
    """
    try:
        manifest = files.json("package.json") if files.has("package.json") else None
    except ManifestError:
        manifest = None
    if isinstance(manifest, dict) and isinstance(manifest.get("packageManager"), str):
        declared = manifest["packageManager"].split("@", 1)[0].strip()
        if declared in PACKAGE_MANAGERS:
            return declared
    for lockfile, manager in LOCKFILES:
        if files.has(lockfile):
            return manager
    return "npm"


def detect_build_systems(repo: Path | RepoFiles) -> list[BuildSystem]:
    """Every build system at the repository root, in `PRIMARY_ORDER`, the Procfile last."""
    files = repo if isinstance(repo, RepoFiles) else RepoFiles(Path(repo))
    found: list[BuildSystem] = []
    for name in (*PRIMARY_ORDER, "procfile"):
        markers = [marker for marker in MARKERS[name] if files.has(marker)]
        if not markers:
            continue
        manager = npm_package_manager(files) if name == "npm" else None
        found.append(BuildSystem(name=name, markers=markers, package_manager=manager))
    return found


def choose_primary(systems: list[BuildSystem]) -> SystemName | None:
    """The first of `systems` in `PRIMARY_ORDER`; None when there is no build system (a Procfile
    alone is not one)."""
    present = {system.name for system in systems}
    return next((name for name in PRIMARY_ORDER if name in present), None)
