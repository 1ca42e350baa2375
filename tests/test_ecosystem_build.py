"""Building imported repositories and running their commands, for real, with nothing faked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows import run_flow
from phoenix.errors import NotFound
from tests.test_ecosystem_import import git


def make_repo(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", ".")
    git(folder, "commit", "-q", "-m", "init")
    return folder


def imported(folder: Path) -> dict:
    return run_flow("import-and-build-repo", {"source": str(folder)})


def ecosystem(repo_id: str, command: str, *args: str) -> dict:
    return run_flow("ecosystem-command", {"command": command, "repo_id": repo_id, "args": list(args)})


PRINT_ARGS = "import json, sys\nprint(json.dumps(sys.argv[1:]))\n"
RUST_MAIN = 'fn main() {\n    println!("hello {:?}", std::env::args().skip(1).collect::<Vec<_>>());\n}\n'


def test_a_makefile_project_builds_and_runs_its_targets(phoenix_home: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "tool", {
        "Makefile": "all: build\n\nbuild:\n\t@echo compiled > out.txt\n\t@echo building\n\n"
                    "check: build\n\t@echo all fine\n",
    })  # fmt: skip
    record = imported(repo)
    assert record["build_system"] == "make"
    built = ecosystem(record["id"], "build")
    assert built["build_status"] == "Built" and built["last_built"]
    assert "building" in built["build_log_tail"]
    assert (Path(record["local_path"]) / "out.txt").read_text().strip() == "compiled"
    assert (phoenix_home / "logs" / record["id"] / "build.log").exists()
    ran = ecosystem(record["id"], "check")
    assert ran["exit_code"] == 0 and "all fine" in ran["stdout"]


def test_a_failing_build_is_build_failed_with_its_reason(phoenix_home: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "broken", {"Makefile": "all:\n\t@echo no compiler >&2; exit 3\n"})
    record = imported(repo)
    built = ecosystem(record["id"], "build")
    assert built["build_status"] == "BuildFailed"
    assert "`make` exited with 2" in built["build_error"]
    assert "no compiler" in built["build_log_tail"]
    assert ecosystem(record["id"], "status")["build_status"] == "BuildFailed"


def test_a_missing_tool_is_build_failed_not_a_crash(
    phoenix_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "gosvc", {"go.mod": "module example.com/x\n\ngo 1.22\n",
                                          "main.go": "package main\nfunc main() {}\n"})  # fmt: skip
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    record = imported(repo)
    built = ecosystem(record["id"], "build")
    assert built["build_status"] == "BuildFailed"
    assert "go is not installed" in built["build_error"]


def test_a_python_project_builds_into_its_own_virtualenv(phoenix_home: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "pyapp", {"requirements.txt": "\n", "main.py": PRINT_ARGS})
    record = imported(repo)
    assert record["build_system"] == "python"
    built = ecosystem(record["id"], "build")
    assert built["build_status"] == "Built", built["build_error"]
    venv = phoenix_home / "venvs" / record["id"]
    assert (venv / "bin" / "python").exists()


def test_a_cargo_project_builds_offline_and_runs(phoenix_home: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "hello", {
        "Cargo.toml": '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n',
        "src/main.rs": RUST_MAIN,
    })  # fmt: skip
    record = imported(repo)
    assert record["build_system"] == "cargo"
    built = ecosystem(record["id"], "build")
    assert built["build_status"] == "Built", built["build_error"]
    ran = ecosystem(record["id"], "run", "a b", "--flag")
    assert ran["exit_code"] == 0
    assert 'hello ["a b", "--flag"]' in ran["stdout"]


def test_arguments_are_argv_never_a_shell(phoenix_home: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "echo", {"Procfile": "echo: python3 print_args.py\n",
                                         "print_args.py": PRINT_ARGS})  # fmt: skip
    record = imported(repo)
    hostile = ["; touch pwned", "$(touch pwned2)", "`touch pwned3`", "../../etc/passwd", "&& ls"]
    ran = ecosystem(record["id"], "echo", *hostile)
    assert ran["exit_code"] == 0
    assert json.loads(ran["stdout"]) == hostile
    clone = Path(record["local_path"])
    assert not any((clone / name).exists() for name in ("pwned", "pwned2", "pwned3"))


def test_unknown_commands_and_ids_are_clear_errors(phoenix_home: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "small", {"Makefile": "all:\n\t@true\n"})
    record = imported(repo)
    with pytest.raises(NotFound, match="unknown command 'deploy'"):
        ecosystem(record["id"], "deploy")
    with pytest.raises(NotFound):
        ecosystem("no-such-id", "build")


def test_the_router_runs_repository_commands(phoenix_home: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "routed", {"Procfile": "echo: python3 print_args.py\n",
                                           "print_args.py": PRINT_ARGS})  # fmt: skip
    record = imported(repo)
    reply = run_flow("router", {"command": f"ecosystem {record['id']} echo 'two words' x"})
    assert reply["type"] == "ecosystem" and reply["exit_code"] == 0
    assert json.loads(reply["stdout"]) == ["two words", "x"]


def test_a_docker_repo_without_an_engine_fails_with_a_clear_reason(
    phoenix_home: Path, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "boxed", {"Dockerfile": "FROM scratch\nEXPOSE 8080\n"})
    record = imported(repo)
    assert record["build_system"] == "docker"
    built = ecosystem(record["id"], "build")
    assert built["build_status"] == "BuildFailed"
    assert "docker" in built["build_error"]
