"""The commands a repository declares, read from its build files — never guessed.

`analyze_repo(path)` detects the build systems (`detect.py`) and asks each for its commands:

    cargo    build, test, check; run:<bin> for every binary target ([[bin]], src/main.rs,
             src/bin/*.rs, src/bin/<name>/main.rs); run = default-run or the single binary
    npm      install; every script of package.json by its own name, run with the detected package
             manager; start = the `start` script, else `node server.js` or `node <main>`
    go       build, test; run (`go run .` when the root is package main); run:<name> per cmd/<name>
    maven    validate compile test package verify install clean (./mvnw when present);
             spring-boot:run when the Spring Boot plugin is in pom.xml
    gradle   `tasks`, plus the tasks of the plugins applied in the root build file (./gradlew when
             present): base/java/application/war/Spring Boot, JVM languages counting as java
    python   install (pip -r requirements.txt, else pip -e .), install-package (pip -e . when a
             requirements.txt is there too; `.[test]` with the extras the tests need), test
             (pytest, when tests or a pytest configuration exist), run (main.py, app.py or
             `manage.py runserver`), [project.scripts] by name; the build also installs pytest
             when there are tests and nothing the build installs names it
    make     every target of the Makefile, as ["make", target]
    docker   build, run
    procfile every process type by its own name

Names: every command is named `<system>:<name>` (`cargo:build`, `npm:lint:css`, `make:all`,
`procfile:web`), so names are unique across systems by construction.  Within a system, the names
listed above are reserved; a declared name that collides with one (an npm script called `install`, a
console script called `test`) is kept as `<system>:script:<name>`.  `RepoAnalysis.resolve` also
accepts a bare name and picks the system earliest in priority order that has it (the primary first,
the Procfile last), so `test` means the primary system's tests.

Argv, never shell text: commands run without a shell.  A person's arguments are placed after
`argv` by `arguments.command_argv`, as data and never as the tool's options; commands that always
need a separator before a program's own arguments end with it here (`npm run x --`,
`cargo run --bin x --`).  An argv element may contain `$PORT`, left for the service runner to
substitute with the port it chose (Procfile commands, `manage.py runserver $PORT`, docker's `-p`).

Build steps and start command: the primary system's build steps (install, then build); the start
command is the Procfile's `web` process when there is one, else the first system in priority order
that has a start command.  A repository with no build system gets an empty analysis, not an error.

Malformed build files: a system whose manifest cannot be parsed (invalid JSON or TOML, not an
object, a Cargo package without a name) is still reported as detected — its marker is there and a
build will say so — but contributes no commands; the reason is in `problems`.  One bad file never
hides the commands of the other systems.
"""

from __future__ import annotations

import configparser
import contextlib
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from phoenix.ecosystem.detect import (
    PRIMARY_ORDER,
    BuildSystem,
    ManifestError,
    RepoFiles,
    SystemName,
    choose_primary,
    detect_build_systems,
)
from phoenix.ecosystem.gradle import GRADLE_PLUGIN_TASKS, gradle_plugins
from phoenix.ecosystem.makefile import parse_makefile
from phoenix.errors import NotFound


class UnknownCommand(NotFound):
    """A command name the repository does not declare."""

    code = "unknown_command"


class Command(BaseModel):
    """One runnable command of a repository."""

    name: str = Field(description="Unique name, `<system>:<name>`.")
    system: SystemName
    argv: list[str] = Field(description="Program and arguments, run from the root without a shell.")
    source: str = Field(description="The file (or folder) the command was read from.")
    description: str = Field(default="", description="What it runs: a script body, a recipe.")


class RepoAnalysis(BaseModel):
    """What Phoenix knows about how a repository is built, tested and run."""

    systems: list[BuildSystem] = Field(description="Every detection, priority order, Procfile last.")
    build_systems: list[SystemName] = Field(description="Names of the build systems, priority order.")
    primary: SystemName | None
    commands: dict[str, Command]
    build_steps: list[Command] = Field(description="The primary system's build, in order.")
    start_command: list[str] | None
    start_from: str | None = Field(description="The command `start_command` comes from.")
    problems: list[str] = Field(description="Build files that could not be used, and why.")

    def resolve(self, name: str) -> Command:
        """The command called `name`: a full `<system>:<name>`, or a bare name looked up in the
        systems by priority (primary first, Procfile last)."""
        if name in self.commands:
            return self.commands[name]
        for system in (*self.build_systems, "procfile"):
            command = self.commands.get(f"{system}:{name}")
            if command is not None:
                return command
        known = ", ".join(list(self.commands)[:20]) or "none"
        more = " …" if len(self.commands) > 20 else ""
        raise UnknownCommand(f"unknown command {name!r}; this repository declares: {known}{more}")


@dataclass
class Discovery:
    """What one build system contributes to the analysis."""

    system: SystemName
    commands: dict[str, Command] = field(default_factory=dict)
    build: list[Command] = field(default_factory=list)
    start: Command | None = None

    def add(self, name: str, argv: list[str], source: str, description: str = "") -> Command:
        """A command under a reserved (built-in) name of this system."""
        command = Command(
            name=f"{self.system}:{name}",
            system=self.system,
            argv=argv,
            source=source,
            description=description,
        )
        self.commands[command.name] = command
        return command

    def add_declared(self, name: str, argv: list[str], source: str, description: str = "") -> Command:
        """A command named by the repository (a script, a target); `script:` prefixed on collision."""
        if f"{self.system}:{name}" in self.commands:
            name = f"script:{name}"
        return self.add(name, argv, source, description)


def _table(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    """`mapping[key]` when it is a table (dict), else empty: a manifest of the wrong shape gives
    nothing rather than a TypeError deep in discovery."""
    value = mapping.get(key)
    return value if isinstance(value, dict) else {}


def _inside(relative: str) -> bool:
    """Whether a path a manifest names stays inside the repository (no `/x`, no `..`)."""
    return not relative.startswith(("/", "\\")) and ".." not in Path(relative).parts


# --- Cargo -----------------------------------------------------------------------------------------


def cargo_binaries(files: RepoFiles, manifest: dict[str, Any]) -> list[str]:
    """Binary targets as Cargo sees them: explicit [[bin]] first, then auto-discovered ones
    (src/main.rs named after the package, src/bin/*.rs, src/bin/<name>/main.rs) unless
    `autobins = false` or an explicit target already claims the name or the path."""
    package = _table(manifest, "package")
    targets = manifest.get("bin", [])
    names: list[str] = []
    claimed_paths: set[str] = set()
    for target in targets if isinstance(targets, list) else []:
        if isinstance(target, dict) and isinstance(target.get("name"), str):
            names.append(target["name"])
            if isinstance(target.get("path"), str):
                claimed_paths.add(target["path"].removeprefix("./"))
    if package.get("autobins", True) is False:
        return names
    candidates: list[tuple[str, str]] = []
    if files.is_file("src/main.rs"):
        candidates.append((package["name"], "src/main.rs"))
    bin_files, bin_dirs = files.list_folder("src/bin")
    in_bin = [(f[:-3], f"src/bin/{f}") for f in bin_files if f.endswith(".rs")]
    in_bin += [(d, f"src/bin/{d}/main.rs") for d in bin_dirs]
    candidates += sorted(in_bin)
    for name, path in candidates:
        if name not in names and path not in claimed_paths and files.is_file(path):
            names.append(name)
    return names


def discover_cargo(files: RepoFiles, system: BuildSystem) -> Discovery:
    """Cargo's build, test and check, and one run command per binary target."""
    found = Discovery("cargo")
    manifest = files.toml("Cargo.toml")
    package = manifest.get("package")
    if package is not None and not (isinstance(package, dict) and isinstance(package.get("name"), str)):
        raise files.problem("Cargo.toml", "[package] has no name")
    build = found.add("build", ["cargo", "build"], "Cargo.toml")
    found.add("test", ["cargo", "test"], "Cargo.toml")
    found.add("check", ["cargo", "check"], "Cargo.toml")
    found.build = [build]
    if package is None:  # a virtual workspace: members build together, binaries are theirs
        return found
    binaries = cargo_binaries(files, manifest)
    for name in binaries:
        found.add(f"run:{name}", ["cargo", "run", "--bin", name, "--"], "Cargo.toml", f"binary {name}")
    default = package.get("default-run")
    chosen = default if isinstance(default, str) else (binaries[0] if len(binaries) == 1 else None)
    if chosen is not None:
        reason = "default-run" if isinstance(default, str) else "the only binary"
        found.start = found.add(
            "run", ["cargo", "run", "--bin", chosen, "--"], "Cargo.toml", f"{chosen} ({reason})"
        )
    return found


# --- npm -------------------------------------------------------------------------------------------


def npm_script_argv(manager: str, script: str) -> list[str]:
    """How the package manager runs a script, ready for appended arguments.

    `yarn run x` rather than `yarn x`: the short form runs yarn's own command when a script shares
    its name (`install`, `info`).  npm needs `--` or it takes the script's flags for its own.
    """
    if manager == "npm":
        return ["npm", "run", script, "--"]
    return [manager, "run", script]


def discover_npm(files: RepoFiles, system: BuildSystem) -> Discovery:
    """Install, every script, and npm's own start convention."""
    found = Discovery("npm")
    manifest = files.json("package.json")
    if not isinstance(manifest, dict):
        raise files.problem("package.json", "must hold a JSON object")
    scripts = manifest.get("scripts", {})
    if not isinstance(scripts, dict):
        raise files.problem("package.json", '"scripts" must be an object')
    manager = system.package_manager or "npm"
    install = found.add("install", [manager, "install"], "package.json")
    found.build = [install]
    for name, body in scripts.items():
        if isinstance(body, str):
            command = found.add_declared(name, npm_script_argv(manager, name), "package.json", body)
            if name == "build":
                found.build.append(command)
            elif name == "start":
                found.start = command
    if found.start is None:
        # What `npm start` itself does without a start script, then the package's declared entry.
        main = manifest.get("main")
        entry = "server.js" if files.has("server.js") else main if isinstance(main, str) else None
        if entry is not None and _inside(entry) and files.is_file(entry):
            found.start = found.add("start", ["node", entry], "package.json", f"node {entry}")
    return found


# --- Go --------------------------------------------------------------------------------------------

_GO_PACKAGE_MAIN = re.compile(r"^package\s+main\b", re.MULTILINE)


def discover_go(files: RepoFiles, system: BuildSystem) -> Discovery:
    """Go's build and test of every package, and `go run` for each main package: the root and
    each cmd/<name> folder (the layout the Go project recommends)."""
    found = Discovery("go")
    found.build = [found.add("build", ["go", "build", "./..."], "go.mod")]
    found.add("test", ["go", "test", "./..."], "go.mod")
    sources = sorted(f for f in files.files if f.endswith(".go") and not f.endswith("_test.go"))
    if any(_GO_PACKAGE_MAIN.search(files.head(name)) for name in sources):
        found.start = found.add("run", ["go", "run", "."], "go.mod", "the root's package main")
    commands = sorted(files.list_folder("cmd")[1])
    for name in commands:
        if any(f.endswith(".go") for f in files.list_folder(f"cmd/{name}")[0]):
            found.add(f"run:{name}", ["go", "run", f"./cmd/{name}"], f"cmd/{name}")
    programs = [c for c in found.commands.values() if c.name.startswith("go:run:")]
    if found.start is None and len(programs) == 1:
        found.start = programs[0]
    return found


# --- Maven -----------------------------------------------------------------------------------------

MAVEN_PHASES = ("validate", "compile", "test", "package", "verify", "install", "clean")


def discover_maven(files: RepoFiles, system: BuildSystem) -> Discovery:
    """Maven's lifecycle phases, which every pom has.  pom.xml is only scanned for the Spring Boot
    plugin (a start convention), not parsed: a broken pom fails at build time with Maven's message."""
    found = Discovery("maven")
    maven = "./mvnw" if files.has("mvnw") else "mvn"
    for phase in MAVEN_PHASES:
        command = found.add(phase, [maven, phase], "pom.xml")
        if phase == "package":
            found.build = [command]
    if "spring-boot-maven-plugin" in files.text("pom.xml", strict=False):
        found.start = found.add("spring-boot:run", [maven, "spring-boot:run"], "pom.xml")
    return found


# --- Gradle ----------------------------------------------------------------------------------------


def discover_gradle(files: RepoFiles, system: BuildSystem) -> Discovery:
    """The tasks of the plugins the root build script applies, run through the wrapper when the
    repository has one.  Subprojects' plugins (settings.gradle `include`) are not read."""
    found = Discovery("gradle")
    gradle = "./gradlew" if files.has("gradlew") else "gradle"
    scripts = [name for name in ("build.gradle.kts", "build.gradle") if files.has(name)]
    source = scripts[0] if scripts else "gradlew"
    tasks: dict[str, None] = {}
    for name in scripts:
        for plugin in gradle_plugins(files.text(name, strict=False)):
            tasks.update(dict.fromkeys(GRADLE_PLUGIN_TASKS.get(plugin, ())))
    tasks["tasks"] = None  # built into Gradle itself, whatever the plugins
    for task in tasks:
        command = found.add(task, [gradle, task], source)
        if task == "build":
            found.build = [command]
    found.start = found.commands.get("gradle:run") or found.commands.get("gradle:bootRun")
    return found


# --- Python ----------------------------------------------------------------------------------------

_PYTHON_STARTS = (
    ("main.py", ["python", "main.py"]),
    ("app.py", ["python", "app.py"]),
    ("manage.py", ["python", "manage.py", "runserver", "$PORT"]),
)


def python_test_source(files: RepoFiles, pyproject: dict[str, Any]) -> str | None:
    """Where pytest's presence shows (a tests folder, test files, a pytest configuration), or None
    when the repository has no tests to run."""
    for folder in ("tests", "test"):
        if files.has_dir(folder):
            return f"{folder}/"
    if "pytest" in _table(pyproject, "tool"):
        return "pyproject.toml"
    for name in ("pytest.ini", "conftest.py"):
        if files.has(name):
            return name
    for name, section in (("setup.cfg", "[tool:pytest]"), ("tox.ini", "[pytest]")):
        if files.has(name) and section in files.text(name, strict=False):
            return name
    tests = sorted(f for f in files.files if f.endswith(".py") and f.startswith("test_"))
    tests += sorted(f for f in files.files if f.endswith("_test.py"))
    return tests[0] if tests else None


TEST_EXTRAS = ("test", "tests", "testing")
_PYTEST_REQUIREMENT = re.compile(r"\s*pytest\s*(?:$|[\[<>=!~;@\s])", re.IGNORECASE)


def python_extras(files: RepoFiles, pyproject: dict[str, Any]) -> dict[str, list[str]]:
    """The optional dependencies a project declares: pyproject's `[project.optional-dependencies]`,
    else setup.cfg's `[options.extras_require]` (one requirement per line).  setup.py is not run."""
    declared = _table(_table(pyproject, "project"), "optional-dependencies")
    if declared:
        return {
            str(name): [r for r in reqs if isinstance(r, str)] if isinstance(reqs, list) else []
            for name, reqs in declared.items()
        }
    if not files.has("setup.cfg"):
        return {}
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(files.text("setup.cfg", strict=False))
    except configparser.Error:
        return {}
    if not parser.has_section("options.extras_require"):
        return {}
    return {
        name: [line.strip() for line in value.splitlines() if line.strip()]
        for name, value in parser.items("options.extras_require")
    }


def python_test_extras(extras: dict[str, list[str]]) -> list[str]:
    """The extras the test command needs: those named test/tests/testing, else `dev` (a dev extra
    often carries linters and docs tools too, so it is the fallback, not the first choice)."""
    chosen = [name for name in extras if name.lower() in TEST_EXTRAS]
    return chosen or [name for name in extras if name.lower() == "dev"]


def declares_pytest(requirements: list[str]) -> bool:
    """Whether one of `requirements` is pytest itself (a pytest plugin does not count)."""
    return any(_PYTEST_REQUIREMENT.match(line) for line in requirements)


def discover_python(files: RepoFiles, system: BuildSystem) -> Discovery:
    """pip installs, pytest, the conventional entry script, and pyproject's console scripts.

    Commands say `python`, not a path: the builder runs them with the repository's own virtual
    environment first on PATH, never Phoenix's.  A malformed pyproject.toml costs only what it would
    have told (installability, scripts, pytest settings); requirements.txt still counts.

    The build installs what the test command needs, so `test` works right after `build`: the
    package with its test extras (`pip install -e .[test]`), and pytest itself when the repository
    has tests but neither those extras nor requirements.txt name it.
    """
    found = Discovery("python")
    pyproject: dict[str, Any] = {}
    if files.has("pyproject.toml"):
        with contextlib.suppress(ManifestError):  # recorded in files.problems
            pyproject = files.toml("pyproject.toml")
    pip = ["python", "-m", "pip", "install"]
    test_source = python_test_source(files, pyproject)
    provided: list[str] = []  # requirements the build installs, to see whether pytest is among them
    if files.has("requirements.txt"):
        found.build.append(found.add("install", [*pip, "-r", "requirements.txt"], "requirements.txt"))
        provided += files.text("requirements.txt", strict=False).splitlines()
    package_file = "setup.py" if files.has("setup.py") else "pyproject.toml"
    if files.has("setup.py") or "project" in pyproject or "build-system" in pyproject:
        name = "install-package" if found.build else "install"
        extras = python_extras(files, pyproject) if test_source is not None else {}
        wanted = python_test_extras(extras)
        target = f".[{','.join(wanted)}]" if wanted else "."
        provided += [requirement for extra in wanted for requirement in extras[extra]]
        found.build.append(found.add(name, [*pip, "-e", target], package_file))
    if test_source is not None:
        found.add("test", ["python", "-m", "pytest"], test_source)
        if not declares_pytest(provided):
            found.build.append(
                Command(name="python:install-pytest", system="python", argv=[*pip, "pytest"],
                        source=test_source, description="pytest, for the test command")
            )  # fmt: skip
    for entry, argv in _PYTHON_STARTS:
        if files.has(entry):
            found.start = found.add("run", argv, entry, " ".join(argv))
            break
    for name, target in _table(_table(pyproject, "project"), "scripts").items():
        found.add_declared(name, [name], "pyproject.toml", f"console script → {target}")
    return found


# --- Make ------------------------------------------------------------------------------------------


def discover_make(files: RepoFiles, system: BuildSystem) -> Discovery:
    """Every target as ["make", target]; the build is plain `make` (the Makefile's default goal,
    whatever `.DEFAULT_GOAL` or the first rule makes it); start is a `start` or `run` target."""
    found = Discovery("make")
    makefile = system.markers[0]  # the one make itself reads: GNUmakefile, makefile, Makefile
    for target in parse_makefile(files.text(makefile, strict=False)):
        description = "\n".join(target.recipe) or ("(phony)" if target.phony else "")
        found.add_declared(target.name, ["make", target.name], makefile, description)
    found.build = [
        Command(name="make", system="make", argv=["make"], source=makefile, description="default goal")
    ]
    found.start = found.commands.get("make:start") or found.commands.get("make:run")
    return found


# --- Docker ----------------------------------------------------------------------------------------

_DOCKER_EXPOSE = re.compile(r"^\s*EXPOSE\s+(\d+)", re.MULTILINE | re.IGNORECASE)


def docker_image_tag(root: Path) -> str:
    """A valid image name for the repository: `phoenix/<folder name, lowercased and cleaned>`."""
    slug = re.sub(r"[^a-z0-9_.-]+", "-", root.name.lower()).strip("-_.")
    return f"phoenix/{slug or 'app'}"


def discover_docker(files: RepoFiles, system: BuildSystem) -> Discovery:
    """docker build and run.  The container gets `PORT` from the runner's environment and the host's
    `$PORT` is published to the first EXPOSEd port, or to the same port when none is exposed."""
    found = Discovery("docker")
    tag = docker_image_tag(files.root)
    exposed = _DOCKER_EXPOSE.search(files.text("Dockerfile", strict=False))
    inner = exposed.group(1) if exposed else "$PORT"
    found.build = [found.add("build", ["docker", "build", "-t", tag, "."], "Dockerfile")]
    run = ["docker", "run", "--rm", "-e", "PORT", "-p", f"$PORT:{inner}", tag]
    found.start = found.add("run", run, "Dockerfile")
    return found


# --- Procfile --------------------------------------------------------------------------------------

_PROCFILE_LINE = re.compile(r"^([A-Za-z0-9_-]+)\s*:\s*(.*)$")


def discover_procfile(files: RepoFiles, system: BuildSystem) -> Discovery:
    """Each `name: command` line as a command whose argv is `shlex.split(command)`.

    `$PORT` and other variables are kept literally: the service runner substitutes `$PORT`; shell
    syntax (`&&`, pipes) has no meaning without a shell.  The original line is kept as the
    description.  A line that does not split (an unclosed quote) is reported and skipped.
    """
    found = Discovery("procfile")
    for number, line in enumerate(files.text("Procfile", strict=False).splitlines(), start=1):
        match = _PROCFILE_LINE.match(line.strip())
        if line.lstrip().startswith("#") or not match or f"procfile:{match[1]}" in found.commands:
            continue
        try:
            argv = shlex.split(match[2])
        except ValueError as error:
            files.problem(f"Procfile:{number}", f"cannot be split into arguments ({error})")
            continue
        if argv:
            found.add_declared(match[1], argv, "Procfile", match[2])
    found.start = found.commands.get("procfile:web")
    return found


DISCOVERERS: dict[SystemName, Callable[[RepoFiles, BuildSystem], Discovery]] = {
    "cargo": discover_cargo,
    "npm": discover_npm,
    "go": discover_go,
    "maven": discover_maven,
    "gradle": discover_gradle,
    "python": discover_python,
    "make": discover_make,
    "docker": discover_docker,
    "procfile": discover_procfile,
}


def analyze_repo(path: Path) -> RepoAnalysis:
    """Detect a repository's build systems and discover its commands, build steps and start command.

    Reads only the root folder and a few exact paths below it (src/main.rs, src/bin, cmd/), so the
    cost does not grow with the size of the tree.  Raises `NotFound` when `path` is not a folder;
    malformed build files end up in `problems`, never as an exception.
    """
    root = Path(path)
    if not root.is_dir():
        raise NotFound(f"{root} is not a folder")
    files = RepoFiles(root)
    systems = detect_build_systems(files)
    discoveries: list[Discovery] = []
    for system in systems:
        try:
            discoveries.append(DISCOVERERS[system.name](files, system))
        except ManifestError:
            continue  # recorded in files.problems by whoever raised it
    primary = choose_primary(systems)
    start = _choose_start(discoveries)
    return RepoAnalysis(
        systems=systems,
        build_systems=[s.name for s in systems if s.name in PRIMARY_ORDER],
        primary=primary,
        commands={name: c for d in discoveries for name, c in d.commands.items()},
        build_steps=next((d.build for d in discoveries if d.system == primary), []),
        start_command=list(start.argv) if start else None,
        start_from=start.name if start else None,
        problems=list(files.problems.values()),
    )


def _choose_start(discoveries: list[Discovery]) -> Command | None:
    """The Procfile's web process, else the first start command in priority order."""
    by_system = {d.system: d for d in discoveries}
    procfile = by_system.get("procfile")
    if procfile is not None and procfile.start is not None:
        return procfile.start
    return next((d.start for d in discoveries if d.start is not None), None)
