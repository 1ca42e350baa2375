"""Building imported repositories and running their commands, for real, with nothing faked."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from flows import run_flow
from phoenix.errors import BadInput, NotFound
from tests.conftest import make_git_repo as make_repo
from tests.conftest import require_tool


def imported(folder: Path) -> dict:
    """Import only: each test builds when it means to."""
    return run_flow("import-and-build-repo", {"source": str(folder), "build": False})


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
    # The record is kept, and the result reads as a failure: the CLI exits 1, the API answers 502.
    assert built["type"] == "error" and built["code"] == "build_failed"
    assert built["message"] == f"Build of broken failed: {built['build_error']}"
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
    require_tool("cargo")
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


def test_a_docker_repo_without_an_engine_fails_with_the_daemons_reason(
    phoenix_home: Path, tmp_path: Path
) -> None:
    """No engine, arranged: the repository's DOCKER_HOST names a socket that does not exist."""
    require_tool("docker")
    repo = make_repo(tmp_path / "boxed", {"Dockerfile": "FROM scratch\nEXPOSE 8080\n"})
    record = imported(repo)
    assert record["build_system"] == "docker"
    socket = tmp_path / "no-engine" / "docker.sock"
    ecosystem(record["id"], "env", f"DOCKER_HOST=unix://{socket}")
    built = ecosystem(record["id"], "build")
    assert built["build_status"] == "BuildFailed" and built["code"] == "build_failed"
    # The client's own words about the daemon it could not reach (the command line never names
    # the socket, so this is not the echo of `docker build`).
    assert str(socket) in built["build_error"]


def test_import_builds_by_default_and_a_failed_build_keeps_the_record(
    phoenix_home: Path, tmp_path: Path
) -> None:
    good = make_repo(tmp_path / "good", {"Makefile": "all:\n\t@echo made > made.txt\n"})
    record = run_flow("import-and-build-repo", {"source": str(good)})
    assert record["build_status"] == "Built" and "type" not in record
    assert (Path(record["local_path"]) / "made.txt").exists()

    bad = make_repo(tmp_path / "bad", {"Makefile": "all:\n\t@echo broken >&2; exit 4\n"})
    failed = run_flow("import-and-build-repo", {"source": str(bad)})
    assert failed["type"] == "error" and failed["code"] == "build_failed"
    assert failed["build_status"] == "BuildFailed" and "`make` exited with 2" in failed["message"]
    kept = ecosystem(failed["id"], "show")
    assert kept["build_status"] == "BuildFailed" and kept["commit"] == failed["commit"]


def test_a_command_that_exits_non_zero_is_command_failed_with_its_output(
    phoenix_home: Path, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "cmd", {"Makefile": "check:\n\t@echo checking; echo bad >&2; exit 6\n"})
    record = imported(repo)
    ran = ecosystem(record["id"], "check")
    assert ran["type"] == "error" and ran["code"] == "command_failed"
    assert ran["message"] == "make:check exited with 2"
    assert ran["exit_code"] == 2 and "checking" in ran["stdout"] and "bad" in ran["stderr"]
    routed = run_flow("router", {"command": f"ecosystem {record['id']} check"})
    assert routed["type"] == "error" and routed["code"] == "command_failed"


def test_make_options_in_arguments_never_reach_make(phoenix_home: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "opts", {"Makefile": "echo:\n\t@echo echoed\n"})
    record = imported(repo)
    clone = Path(record["local_path"])
    with pytest.raises(BadInput, match="make variable"):
        ecosystem(record["id"], "echo", "--eval=$(shell touch pwned)")
    with pytest.raises(BadInput, match="make variable"):
        ecosystem(record["id"], "echo", "MAKEFLAGS=--eval=$(shell touch pwned)")
    assert not (clone / "pwned").exists()
    # After `--`, `-n` is a goal make has no rule for, not a dry run.
    ran = ecosystem(record["id"], "echo", "-n")
    assert ran["argv"] == ["make", "echo", "--", "-n"]
    assert ran["exit_code"] == 2 and "No rule to make target '-n'" in ran["stderr"]
    assert "echoed" in ran["stdout"]


def test_a_python_projects_tests_run_right_after_its_build(phoenix_home: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "pylib", {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\n'
                          'build-backend = "setuptools.build_meta"\n\n'
                          '[project]\nname = "pylib"\nversion = "0.1"\n\n'
                          '[project.optional-dependencies]\ntest = ["pytest"]\n\n'
                          '[tool.setuptools]\npy-modules = ["pylib"]\n',
        "pylib.py": "def double(x):\n    return 2 * x\n",
        "tests/test_pylib.py": "import pytest\nfrom pylib import double\n\n"
                               "def test_double():\n    assert double(2) == 4\n",
    })  # fmt: skip
    record = imported(repo)
    built = ecosystem(record["id"], "build")
    assert built["build_status"] == "Built", built["build_error"]
    ran = ecosystem(record["id"], "test", "-q")
    assert ran["exit_code"] == 0, ran["stdout"] + ran["stderr"]
    assert "1 passed" in ran["stdout"]


SECRETS = {
    "PHOENIX_API_TOKEN": "phx-api-secret",
    "GITHUB_PAT": "ghp-secret",
    "PHOENIX_LLM_API_KEY": "llm-secret",
    "OPENAI_API_KEY": "sk-openai-secret",
    "AWS_SECRET_ACCESS_KEY": "aws-secret",
    "PGPASSWORD": "pg-secret",  # the shared store's catalog password reaches Phoenix, not repos
    "MAKELEVEL": "7",
}
DUMP_ENV = "import json, os, sys\nopen(sys.argv[1], 'w').write(json.dumps(dict(os.environ)))\n"


def test_repository_code_never_sees_phoenixs_secrets(
    phoenix_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its build, a command and its service each dump their environment: no secret of the starting
    process is there, the variable set for the repository is."""
    from tests.conftest import wait_for

    repo = make_repo(tmp_path / "dumper", {
        "Makefile": "all:\n\tpython3 dump_env.py build.json\n",
        "Procfile": "web: python3 dump_env.py service.json\ndump: python3 dump_env.py\n",
        "dump_env.py": DUMP_ENV,
    })  # fmt: skip
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    record = imported(repo)
    clone = Path(record["local_path"])
    assert ecosystem(record["id"], "env", "REPO_DB_PASSWORD=for-the-repo")["variables"] == [
        "REPO_DB_PASSWORD"
    ]
    assert ecosystem(record["id"], "build")["build_status"] == "Built"
    assert ecosystem(record["id"], "dump", str(clone / "command.json"))["exit_code"] == 0
    started = ecosystem(record["id"], "start")
    try:
        wait_for(lambda: (clone / "service.json").exists() and (clone / "service.json").stat().st_size)
    finally:
        ecosystem(record["id"], "stop")
    for dump in ("build.json", "command.json", "service.json"):
        environment = json.loads((clone / dump).read_text())
        text = json.dumps(environment)
        assert not set(SECRETS) - {"MAKELEVEL"} & set(environment), dump
        assert not any(value in text for name, value in SECRETS.items() if name != "MAKELEVEL")
        # The repository's own make sets MAKELEVEL=1 for its recipe; ours (7) would have made it 8.
        assert environment.get("MAKELEVEL") in (None, "1"), dump
        assert not [n for n in environment if n.startswith(("PHOENIX_", "PREFECT_", "GITHUB_"))
                    and n != "PHOENIX_SERVICE_INSTANCE"], dump  # fmt: skip
        assert environment["REPO_DB_PASSWORD"] == "for-the-repo", dump
        assert environment["HOME"] and environment["PATH"], dump
    assert json.loads((clone / "service.json").read_text())["PORT"] == str(started["port"])


def test_repository_variables_are_set_listed_unset_and_kept_private(
    phoenix_home: Path, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "vars", {"Makefile": "all:\n\t@true\n"})
    repo_id = imported(repo)["id"]
    result = ecosystem(repo_id, "env", "DATABASE_URL=postgres://u:pw-123@db/x", "MODE=a=b")
    assert result == {"id": repo_id, "variables": ["DATABASE_URL", "MODE"]}
    stored = phoenix_home / "repo-env" / f"{repo_id}.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert json.loads(stored.read_text())["MODE"] == "a=b"
    assert ecosystem(repo_id, "env") == result  # no arguments: the names, never the values
    assert ecosystem(repo_id, "env", "MODE=")["variables"] == ["DATABASE_URL"]
    names = ("PHOENIX_HOME", "PREFECT_API_URL", "LITELLM_LOG", "GITHUB_PAT", "PORT", "1X", "A-B")
    for refused in [f"{name}=s3cr3t" for name in names] + ["NOEQUALS"]:
        with pytest.raises(BadInput) as raised:
            ecosystem(repo_id, "env", refused)
        assert "s3cr3t" not in raised.value.message  # a value is never echoed
    assert sorted(json.loads(stored.read_text())) == ["DATABASE_URL"]
    assert not [p for p in stored.parent.iterdir() if p.name.endswith(".tmp")]
    # The value went through a flow run: Prefect keeps its parameters, masked.
    assert "pw-123" not in json.dumps(_flow_run_parameters("ecosystem-command"))
    ecosystem(repo_id, "remove")
    assert not stored.exists()


def _flow_run_parameters(flow_name: str) -> list[dict]:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])))
    return [run.parameters for run in runs]
