"""Build-system detection and command discovery on small real repositories written to disk."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from phoenix.ecosystem import (
    RepoAnalysis,
    UnknownCommand,
    analyze_repo,
    detect_build_systems,
    gradle_plugins,
    parse_makefile,
)
from phoenix.ecosystem.arguments import command_argv
from phoenix.errors import BadInput, NotFound


def make_repo(root: Path, files: dict[str, str]) -> Path:
    """Write `files` (relative path → text, dedented) under `root` and return it."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def argvs(analysis: RepoAnalysis) -> dict[str, list[str]]:
    return {name: command.argv for name, command in analysis.commands.items()}


# --- Cargo -----------------------------------------------------------------------------------------


def test_cargo_lists_every_binary_and_starts_the_default_run(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path,
        {
            "Cargo.toml": """
                [package]
                name = "svc"
                version = "0.1.0"
                edition = "2021"
                default-run = "server"

                [[bin]]
                name = "server"
                path = "src/server.rs"

                [[bin]]
                name = "admin"
                path = "src/admin.rs"
            """,
            "src/server.rs": "fn main() {}\n",
            "src/admin.rs": "fn main() {}\n",
            "src/main.rs": "fn main() {}\n",
            "src/bin/tool.rs": "fn main() {}\n",
            "src/bin/multi/main.rs": "fn main() {}\n",
            "src/bin/README.md": "not a binary\n",
        },
    )
    analysis = analyze_repo(repo)
    assert analysis.build_systems == ["cargo"] and analysis.primary == "cargo"
    commands = argvs(analysis)
    assert commands["cargo:build"] == ["cargo", "build"]
    assert commands["cargo:test"] == ["cargo", "test"]
    assert commands["cargo:check"] == ["cargo", "check"]
    runs = [name for name in commands if name.startswith("cargo:run:")]
    assert runs == [
        "cargo:run:server",
        "cargo:run:admin",
        "cargo:run:svc",
        "cargo:run:multi",
        "cargo:run:tool",
    ]
    assert analysis.start_command == ["cargo", "run", "--bin", "server", "--"]
    assert analysis.start_from == "cargo:run"
    assert [step.name for step in analysis.build_steps] == ["cargo:build"]


def test_cargo_single_binary_is_the_start_and_several_without_default_give_none(tmp_path: Path) -> None:
    single = make_repo(
        tmp_path / "single",
        {
            "Cargo.toml": '[package]\nname = "hello"\nversion = "0.1.0"\n',
            "src/main.rs": "fn main() {}\n",
        },
    )
    assert analyze_repo(single).start_command == ["cargo", "run", "--bin", "hello", "--"]

    several = make_repo(
        tmp_path / "several",
        {
            "Cargo.toml": '[package]\nname = "two"\nversion = "0.1.0"\n',
            "src/bin/a.rs": "fn main() {}\n",
            "src/bin/b.rs": "fn main() {}\n",
        },
    )
    analysis = analyze_repo(several)
    assert {"cargo:run:a", "cargo:run:b"} <= analysis.commands.keys()
    assert "cargo:run" not in analysis.commands
    assert analysis.start_command is None


def test_cargo_autobins_false_keeps_only_declared_binaries(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path,
        {
            "Cargo.toml": """
                [package]
                name = "lib-only"
                version = "0.1.0"
                autobins = false

                [[bin]]
                name = "declared"
                path = "src/declared.rs"
            """,
            "src/main.rs": "fn main() {}\n",
            "src/bin/auto.rs": "fn main() {}\n",
        },
    )
    runs = [name for name in analyze_repo(repo).commands if name.startswith("cargo:run:")]
    assert runs == ["cargo:run:declared"]


def test_cargo_virtual_workspace_builds_without_binaries(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"Cargo.toml": '[workspace]\nmembers = ["a", "b"]\n'})
    analysis = analyze_repo(repo)
    assert sorted(analysis.commands) == ["cargo:build", "cargo:check", "cargo:test"]
    assert analysis.start_command is None and analysis.problems == []


# --- npm -------------------------------------------------------------------------------------------


def test_npm_scripts_run_with_yarn_when_yarn_lock_is_there(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path,
        {
            "package.json": json.dumps(
                {
                    "name": "web",
                    "scripts": {
                        "start": "node server.js",
                        "build": "tsc -p .",
                        "test": "jest",
                        "lint:css": "stylelint '**/*.css'",
                    },
                }
            ),
            "yarn.lock": "# yarn lockfile v1\n",
        },
    )
    analysis = analyze_repo(repo)
    (npm,) = analysis.systems
    assert npm.package_manager == "yarn" and npm.markers == ["package.json"]
    commands = argvs(analysis)
    assert commands["npm:install"] == ["yarn", "install"]
    assert commands["npm:lint:css"] == ["yarn", "run", "lint:css"]
    assert analysis.commands["npm:lint:css"].description == "stylelint '**/*.css'"
    assert [s.name for s in analysis.build_steps] == ["npm:install", "npm:build"]
    assert analysis.start_command == ["yarn", "run", "start"]
    assert analysis.resolve("lint:css").name == "npm:lint:css"


def test_package_manager_field_wins_over_lockfiles(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path,
        {
            "package.json": json.dumps({"packageManager": "pnpm@9.1.0", "scripts": {"dev": "vite"}}),
            "package-lock.json": "{}",
        },
    )
    analysis = analyze_repo(repo)
    assert analysis.systems[0].package_manager == "pnpm"
    assert argvs(analysis)["npm:dev"] == ["pnpm", "run", "dev"]
    assert argvs(analysis)["npm:install"] == ["pnpm", "install"]


def test_plain_npm_separates_appended_arguments_and_falls_back_to_server_js(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path,
        {
            "package.json": json.dumps(
                {"scripts": {"test": "node --test", "install": "node-gyp rebuild"}}
            ),
            "server.js": "require('http').createServer().listen(process.env.PORT)\n",
        },
    )
    analysis = analyze_repo(repo)
    commands = argvs(analysis)
    assert analysis.systems[0].package_manager == "npm"
    assert commands["npm:test"] == ["npm", "run", "test", "--"]
    assert commands["npm:install"] == ["npm", "install"]
    assert commands["npm:script:install"] == ["npm", "run", "install", "--"]
    assert analysis.start_command == ["node", "server.js"]


def test_npm_main_is_started_only_when_it_exists_inside_the_repo(tmp_path: Path) -> None:
    present = make_repo(
        tmp_path / "present", {"package.json": '{"main": "lib/app.js"}', "lib/app.js": ""}
    )
    assert analyze_repo(present).start_command == ["node", "lib/app.js"]
    outside = make_repo(tmp_path / "outside", {"package.json": '{"main": "../present/lib/app.js"}'})
    assert analyze_repo(outside).start_command is None


# --- Python ----------------------------------------------------------------------------------------


def test_python_requirements_main_py_and_tests(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path,
        {
            "requirements.txt": "flask\n",
            "main.py": "print('hi')\n",
            "app.py": "",
            "tests/test_main.py": "def test_ok(): pass\n",
        },
    )
    analysis = analyze_repo(repo)
    assert analysis.primary == "python"
    assert analysis.systems[0].markers == ["requirements.txt"]
    commands = argvs(analysis)
    assert commands["python:install"] == ["python", "-m", "pip", "install", "-r", "requirements.txt"]
    assert commands["python:test"] == ["python", "-m", "pytest"]
    assert analysis.start_command == ["python", "main.py"]
    # Nothing the build installs names pytest, so the build adds it for the test command.
    assert [s.name for s in analysis.build_steps] == ["python:install", "python:install-pytest"]
    assert analysis.build_steps[-1].argv == ["python", "-m", "pip", "install", "pytest"]


def test_python_pyproject_console_scripts_and_pytest_configuration(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path,
        {
            "pyproject.toml": """
                [project]
                name = "tool"
                version = "1.0"

                [project.scripts]
                tool = "tool.cli:main"
                test = "tool.cli:selftest"

                [tool.pytest.ini_options]
                testpaths = ["src"]
            """,
            "requirements.txt": "rich\n",
        },
    )
    analysis = analyze_repo(repo)
    commands = argvs(analysis)
    assert commands["python:install"][-2:] == ["-r", "requirements.txt"]
    assert commands["python:install-package"] == ["python", "-m", "pip", "install", "-e", "."]
    assert commands["python:test"] == ["python", "-m", "pytest"]
    assert analysis.commands["python:test"].source == "pyproject.toml"
    assert commands["python:tool"] == ["tool"]
    assert commands["python:script:test"] == ["test"]
    assert analysis.commands["python:tool"].description == "console script → tool.cli:main"
    assert [s.name for s in analysis.build_steps] == [
        "python:install", "python:install-package", "python:install-pytest",
    ]  # fmt: skip
    assert analysis.start_command is None


def test_the_build_installs_the_test_extras_and_adds_pytest_only_when_nothing_names_it(
    tmp_path: Path,
) -> None:
    extras = """
        [project]
        name = "lib"
        version = "1.0"
        [project.optional-dependencies]
        dev = ["ruff"]
        Test = ["pytest>=8", "hypothesis"]
        docs = ["sphinx"]
    """
    with_extras = analyze_repo(make_repo(tmp_path / "a", {"pyproject.toml": extras, "tests/t.py": ""}))
    assert [s.argv[-1] for s in with_extras.build_steps] == [".[Test]"]
    assert argvs(with_extras)["python:install"][-1] == ".[Test]"

    only_dev = extras.replace('Test = ["pytest>=8", "hypothesis"]', "")
    dev = analyze_repo(make_repo(tmp_path / "b", {"pyproject.toml": only_dev, "tests/t.py": ""}))
    assert [s.argv[-1] for s in dev.build_steps] == [".[dev]", "pytest"]  # ruff is not pytest

    setup_cfg = """
        [metadata]
        name = lib
        [options.extras_require]
        tests =
            pytest
            pytest-cov
    """
    cfg = analyze_repo(
        make_repo(tmp_path / "c", {"setup.py": "", "setup.cfg": setup_cfg, "test_x.py": ""})
    )
    assert [s.argv[-1] for s in cfg.build_steps] == [".[tests]"]

    plugin_only = {"requirements.txt": "pytest-cov\n", "tests/t.py": ""}
    assert analyze_repo(make_repo(tmp_path / "d", plugin_only)).build_steps[-1].argv[-1] == "pytest"
    pinned = {"requirements.txt": "flask\nPyTest==8.1 ; python_version>'3'\n", "tests/t.py": ""}
    assert [s.name for s in analyze_repo(make_repo(tmp_path / "e", pinned)).build_steps] == [
        "python:install"
    ]
    untested = analyze_repo(make_repo(tmp_path / "f", {"pyproject.toml": extras}))
    assert [s.argv[-1] for s in untested.build_steps] == ["."]  # no tests: no test extras


def test_python_without_tests_has_no_test_command_and_django_runs_on_port(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"requirements.txt": "django\n", "manage.py": ""})
    analysis = analyze_repo(repo)
    assert "python:test" not in analysis.commands
    assert analysis.start_command == ["python", "manage.py", "runserver", "$PORT"]


def test_a_pyproject_with_only_tool_settings_is_not_installed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"pyproject.toml": "[tool.ruff]\nline-length = 100\n"})
    analysis = analyze_repo(repo)
    assert analysis.build_systems == ["python"]
    assert analysis.commands == {} and analysis.build_steps == []


# --- Make ------------------------------------------------------------------------------------------

TRICKY_MAKEFILE = """\
# A comment: with a colon, not a target
CC := gcc
CFLAGS = -O2
PREFIX ?= /usr/local
LDFLAGS += -lm
NOW != date
export PATH := $(PATH):/opt/bin
.PHONY: all clean test
.DEFAULT_GOAL := all

all: app docs  # trailing comment
app docs: main.o
\t$(CC) -o app main.o
\techo "done: app"

%.o: %.c
\t$(CC) -c $<

.c.h:
\ttouch $@

clean::
\trm -f app *.o
clean::
\trm -rf build

test: all ; ./app --self-test
$(BUILD)/out: app
$(OBJS:.c=.o): gen
debug: CFLAGS += -g

define RECIPE
fake: target
endef

ifeq ($(OS),Windows_NT)
windows:
\tcl app.c
endif
include other.mk
-include deps.mk

install: all \\
    docs
\tinstall -m 755 app $(PREFIX)/bin

x.o y.o &: gen.c
\t./gen
"""


def test_makefile_targets_are_parsed_not_guessed() -> None:
    targets = {t.name: t for t in parse_makefile(TRICKY_MAKEFILE)}
    assert list(targets) == ["all", "app", "docs", "clean", "test", "windows", "install", "x.o", "y.o"]
    assert targets["app"].recipe == ["$(CC) -o app main.o", 'echo "done: app"']
    assert targets["app"].recipe == targets["docs"].recipe
    assert targets["clean"].recipe == ["rm -f app *.o", "rm -rf build"]
    assert targets["test"].recipe == ["./app --self-test"]
    assert [t for t in targets if targets[t].phony] == ["all", "clean", "test"]


def test_makefile_commands_are_make_and_the_target(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"Makefile": TRICKY_MAKEFILE})
    analysis = analyze_repo(repo)
    assert analysis.primary == "make"
    assert argvs(analysis)["make:install"] == ["make", "install"]
    assert "make:CC" not in analysis.commands and "make:.PHONY" not in analysis.commands
    assert analysis.commands["make:all"].description == "(phony)"
    assert [step.argv for step in analysis.build_steps] == [["make"]]
    assert analysis.start_command is None


def test_makefile_run_target_starts_and_gnumakefile_is_read_first(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path,
        {"GNUmakefile": "run:\n\t./serve\n", "Makefile": "other:\n\ttrue\n"},
    )
    analysis = analyze_repo(repo)
    assert analysis.systems[0].markers == ["GNUmakefile", "Makefile"]
    assert list(analysis.commands) == ["make:run"]
    assert analysis.commands["make:run"].source == "GNUmakefile"
    assert analysis.start_command == ["make", "run"]


# --- Maven, Gradle, Go, Docker ---------------------------------------------------------------------


def test_maven_lifecycle_phases_through_the_wrapper_and_spring_boot_start(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path,
        {
            "pom.xml": """
                <project><modelVersion>4.0.0</modelVersion><artifactId>demo</artifactId>
                <build><plugins><plugin><groupId>org.springframework.boot</groupId>
                <artifactId>spring-boot-maven-plugin</artifactId></plugin></plugins></build>
                </project>
            """,
            "mvnw": "#!/bin/sh\n",
        },
    )
    analysis = analyze_repo(repo)
    commands = argvs(analysis)
    for phase in ("validate", "compile", "test", "package", "verify", "install"):
        assert commands[f"maven:{phase}"] == ["./mvnw", phase]
    assert [s.name for s in analysis.build_steps] == ["maven:package"]
    assert analysis.start_command == ["./mvnw", "spring-boot:run"]


def test_plain_maven_has_no_start(tmp_path: Path) -> None:
    analysis = analyze_repo(make_repo(tmp_path, {"pom.xml": "<project/>"}))
    assert argvs(analysis)["maven:package"] == ["mvn", "package"]
    assert analysis.start_command is None


def test_gradle_java_and_application_plugins_through_gradlew(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path,
        {
            "build.gradle": """
                // id 'war' is commented out
                plugins {
                    id 'java'
                    id "application"
                }
                repositories { maven { url 'https://repo.example/m2' } }
                application { mainClass = 'demo.App' }
            """,
            "gradlew": "#!/bin/sh\n",
            "settings.gradle": "rootProject.name = 'demo'\n",
        },
    )
    analysis = analyze_repo(repo)
    assert analysis.systems[0].markers == ["build.gradle", "gradlew"]
    commands = argvs(analysis)
    for task in ("build", "test", "jar", "classes", "clean", "run", "installDist", "tasks"):
        assert commands[f"gradle:{task}"] == ["./gradlew", task]
    assert "gradle:war" not in commands
    assert analysis.start_command == ["./gradlew", "run"]
    assert [s.name for s in analysis.build_steps] == ["gradle:build"]


def test_gradle_plugin_spellings() -> None:
    kotlin_dsl = 'plugins {\n    application\n    kotlin("jvm") version "1.9.0"\n    `java-library`\n}\n'
    assert gradle_plugins(kotlin_dsl) == ["org.jetbrains.kotlin.jvm", "application", "java-library"]
    assert gradle_plugins("apply plugin: 'java'\napply(plugin = \"war\")\n") == ["java", "war"]
    assert gradle_plugins('plugins { id("org.springframework.boot") version "3.2.0" }') == [
        "org.springframework.boot"
    ]


def test_gradle_without_known_plugins_offers_only_builtin_tasks(tmp_path: Path) -> None:
    analysis = analyze_repo(make_repo(tmp_path, {"build.gradle.kts": 'plugins { id("com.example.x") }'}))
    assert list(analysis.commands) == ["gradle:tasks"]
    assert argvs(analysis)["gradle:tasks"] == ["gradle", "tasks"]


def test_go_root_main_package_runs_with_go_run_dot(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path,
        {
            "go.mod": "module example.com/svc\n\ngo 1.22\n",
            "main.go": "// Command svc.\npackage main\n\nfunc main() {}\n",
            "util_test.go": "package main\n",
        },
    )
    analysis = analyze_repo(repo)
    commands = argvs(analysis)
    assert commands["go:build"] == ["go", "build", "./..."]
    assert commands["go:test"] == ["go", "test", "./..."]
    assert analysis.start_command == ["go", "run", "."]


def test_go_library_with_cmd_programs(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path,
        {
            "go.mod": "module example.com/lib\n",
            "lib.go": "package lib\n",
            "cmd/api/main.go": "package main\n",
            "cmd/worker/main.go": "package main\n",
            "cmd/docs/README.md": "",
        },
    )
    analysis = analyze_repo(repo)
    assert argvs(analysis)["go:run:api"] == ["go", "run", "./cmd/api"]
    assert "go:run:worker" in analysis.commands and "go:run:docs" not in analysis.commands
    assert "go:run" not in analysis.commands
    assert analysis.start_command is None


def test_dockerfile_build_and_run_publish_the_exposed_port(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "My App", {"Dockerfile": "FROM python:3.12\nEXPOSE 8080\n"})
    analysis = analyze_repo(repo)
    commands = argvs(analysis)
    assert commands["docker:build"] == ["docker", "build", "-t", "phoenix/my-app", "."]
    assert commands["docker:run"] == [
        "docker",
        "run",
        "--rm",
        "-e",
        "PORT",
        "-p",
        "$PORT:8080",
        "phoenix/my-app",
    ]
    assert analysis.start_command == commands["docker:run"]


# --- Procfile, several systems, edge cases ---------------------------------------------------------


def test_procfile_web_overrides_the_start_command(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path,
        {
            "package.json": json.dumps({"scripts": {"start": "node index.js"}}),
            "Procfile": """
                # processes
                web: gunicorn app:app --bind "0.0.0.0:$PORT"
                worker: python worker.py --queue 'high prio'
                broken: echo "unclosed
                web: ignored duplicate
            """,
        },
    )
    analysis = analyze_repo(repo)
    assert analysis.build_systems == ["npm"] and analysis.primary == "npm"
    assert [s.name for s in analysis.systems] == ["npm", "procfile"]
    commands = argvs(analysis)
    assert commands["procfile:web"] == ["gunicorn", "app:app", "--bind", "0.0.0.0:$PORT"]
    assert commands["procfile:worker"] == ["python", "worker.py", "--queue", "high prio"]
    assert "procfile:broken" not in commands
    assert analysis.commands["procfile:web"].description == 'gunicorn app:app --bind "0.0.0.0:$PORT"'
    assert analysis.start_command == commands["procfile:web"]
    assert analysis.start_from == "procfile:web"
    assert analysis.problems == ["Procfile:5: cannot be split into arguments (No closing quotation)"]


def test_procfile_without_web_leaves_the_start_to_the_build_system(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path, {"Procfile": "worker: ./work\n", "go.mod": "module x\n", "main.go": "package main\n"}
    )
    analysis = analyze_repo(repo)
    assert analysis.start_command == ["go", "run", "."]
    assert analysis.resolve("worker").argv == ["./work"]


def test_a_repo_matching_several_systems_reports_all_in_priority_order(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path,
        {
            "Dockerfile": "FROM rust\n",
            "Makefile": "build:\n\tcargo build --release\ntest:\n\tcargo test\n",
            "requirements.txt": "maturin\n",
            "package.json": json.dumps({"scripts": {"test": "vitest", "start": "vite"}}),
            "Cargo.toml": '[package]\nname = "core"\nversion = "0.1.0"\n',
            "src/main.rs": "fn main() {}\n",
            "go.mod": "module x\n",
            "pom.xml": "<project/>",
            "build.gradle": "plugins { id 'java' }\n",
        },
    )
    analysis = analyze_repo(repo)
    assert analysis.build_systems == [
        "cargo",
        "npm",
        "go",
        "maven",
        "gradle",
        "python",
        "make",
        "docker",
    ]
    assert analysis.primary == "cargo"
    assert [s.name for s in analysis.build_steps] == ["cargo:build"]
    assert analysis.start_command == ["cargo", "run", "--bin", "core", "--"]
    # A bare name means the highest-priority system that has it; a full name is exact.
    assert analysis.resolve("test").name == "cargo:test"
    assert analysis.resolve("make:test").argv == ["make", "test"]
    assert analysis.resolve("start").name == "npm:start"
    with pytest.raises(UnknownCommand, match="'deploy'"):
        analysis.resolve("deploy")
    assert len({c.name for c in analysis.commands.values()}) == len(analysis.commands)
    assert all(name == c.name for name, c in analysis.commands.items())


def test_an_empty_repo_has_no_build_system(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("nothing to build\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "package.json").write_text("{}")  # not at the root: not detected
    analysis = analyze_repo(tmp_path)
    assert analysis.systems == [] and analysis.build_systems == [] and analysis.primary is None
    assert analysis.commands == {} and analysis.build_steps == []
    assert analysis.start_command is None and analysis.start_from is None and analysis.problems == []


def test_a_missing_folder_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        analyze_repo(tmp_path / "nowhere")
    (tmp_path / "file").write_text("")
    with pytest.raises(NotFound):
        analyze_repo(tmp_path / "file")


def test_malformed_manifests_are_reported_and_skipped_not_fatal(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path,
        {
            "package.json": '{"scripts": {"start": "node x.js",}}',
            "Cargo.toml": '[package\nname = "x"\n',
            "Makefile": "all:\n\techo ok\n",
        },
    )
    analysis = analyze_repo(repo)
    # Still detected (the markers are there, and a build will fail on them), but contribute nothing.
    assert analysis.build_systems == ["cargo", "npm", "make"] and analysis.primary == "cargo"
    assert list(analysis.commands) == ["make:all"]
    assert analysis.build_steps == [] and analysis.start_command is None
    npm_problem, cargo_problem = analysis.problems  # in the order they were met
    assert cargo_problem.startswith("Cargo.toml: is not valid TOML")
    assert npm_problem.startswith("package.json: is not valid JSON") and "line 1" in npm_problem
    assert analysis.systems[1].package_manager == "npm"


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({"package.json": "[1, 2]"}, "package.json: must hold a JSON object"),
        ({"package.json": '{"scripts": ["build"]}'}, 'package.json: "scripts" must be an object'),
        ({"Cargo.toml": '[package]\nversion = "1"\n'}, "Cargo.toml: [package] has no name"),
        (
            {"pyproject.toml": "[project\n", "requirements.txt": "x\n"},
            "pyproject.toml: is not valid TOML",
        ),
    ],
)
def test_manifests_of_the_wrong_shape_are_reported(
    tmp_path: Path, files: dict[str, str], problem: str
) -> None:
    analysis = analyze_repo(make_repo(tmp_path, files))
    assert len(analysis.problems) == 1 and analysis.problems[0].startswith(problem)


def test_a_broken_pyproject_keeps_the_requirements_install(tmp_path: Path) -> None:
    analysis = analyze_repo(
        make_repo(tmp_path, {"pyproject.toml": "[project\n", "requirements.txt": "x\n"})
    )
    assert [s.name for s in analysis.build_steps] == ["python:install"]


def test_a_manifest_symlinked_outside_the_repo_is_not_read(tmp_path: Path) -> None:
    secret = make_repo(tmp_path / "outside", {"secret.json": '{"scripts": {"leak": "s3cr3t"}}'})
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "package.json").symlink_to(secret / "secret.json")
    analysis = analyze_repo(repo)
    assert analysis.build_systems == ["npm"]
    assert analysis.commands == {}
    assert analysis.problems == ["package.json: points outside the repository; not read"]
    assert "s3cr3t" not in analysis.model_dump_json()


def test_detection_alone_and_the_analysis_round_trips_as_json(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"pnpm-lock.yaml": "", "package.json": "{}", "Procfile": "web: ./run\n"})
    systems = detect_build_systems(repo)
    assert [(s.name, s.package_manager) for s in systems] == [("npm", "pnpm"), ("procfile", None)]
    analysis = analyze_repo(repo)
    assert RepoAnalysis.model_validate_json(analysis.model_dump_json()) == analysis
    assert all(isinstance(arg, str) for c in analysis.commands.values() for arg in c.argv)


# --- Arguments to a discovered command -------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "args", "expected"),
    [
        (["make", "echo"], ["-n", "--eval=x"], None),  # `=` would set a make variable
        (["make", "echo"], ["-B", "other"], ["make", "echo", "--", "-B", "other"]),
        (["npm", "run", "lint", "--"], ["--fix"], ["npm", "run", "lint", "--", "--fix"]),
        (["yarn", "run", "lint"], ["--fix"], ["yarn", "run", "lint", "--fix"]),
        (["cargo", "test"], ["--nocapture"], ["cargo", "test", "--", "--nocapture"]),
        (["cargo", "build"], ["--release"], None),
        (["cargo", "build"], ["x"], ["cargo", "build", "x"]),
        (["go", "test", "./..."], ["-v"], ["go", "test", "./...", "-args", "-v"]),
        (["go", "run", "./cmd/x"], ["-v"], ["go", "run", "./cmd/x", "-v"]),
        (["go", "build", "./..."], ["-o=/tmp/x"], None),
        (["python", "-m", "pytest"], ["-k", "fast"], ["python", "-m", "pytest", "-k", "fast"]),
        (["python", "main.py"], ["--port", "1"], ["python", "main.py", "--port", "1"]),
        (["python", "-m", "pip", "install", "-e", "."], ["--index-url=x"], None),
        (["./mvnw", "test"], ["-Dexec=x"], None),
        (["gradle", "build"], ["--init-script", "x"], None),
        (["docker", "run", "img"], ["--privileged"], ["docker", "run", "img", "--privileged"]),
        (["docker", "build", "-t", "t", "."], ["--network=host"], None),
        (["./server", "$PORT"], ["--debug"], ["./server", "$PORT", "--debug"]),
        (["make", "echo"], [], ["make", "echo"]),
    ],
)  # fmt: skip
def test_arguments_are_the_commands_data_never_the_build_tools_options(
    argv: list[str], args: list[str], expected: list[str] | None
) -> None:
    if expected is None:
        with pytest.raises(BadInput):
            command_argv(argv, args)
    else:
        assert command_argv(argv, args) == expected
