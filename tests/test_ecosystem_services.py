"""Supervised services: real processes started, reached over HTTP, crashed, stopped and reconciled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from phoenix.ecosystem.services import (
    ServiceAlreadyRunning,
    ServiceProcess,
    ServiceStartFailed,
    ensure_not_running,
    exit_file_for,
    free_port,
    service_state,
    start_service,
    stop_service,
    tail,
)
from phoenix.errors import Conflict, OperationFailed
from tests.conftest import wait_for

PY = sys.executable


def gone(pid: int) -> bool:
    """The pid no longer names a live process (absent, or a zombie nobody reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[ServiceProcess]]:
    """Services a test started; whatever is still running is stopped afterwards."""
    services: list[ServiceProcess] = []
    yield services
    for service in services:
        stop_service(service.pid, service.pgid, 1.0, start_ticks=service.start_ticks)


def start(
    started: list[ServiceProcess], argv: list[str], cwd: Path, port: int | None = None
) -> ServiceProcess:
    service = start_service(argv, cwd, cwd / "logs" / "service.log", port=port)
    started.append(service)
    return service


def start_from_exiting_process(argv: list[str], cwd: Path, log_path: Path) -> ServiceProcess:
    """Start a service the way the CLI does: from a process that exits right afterwards."""
    code = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from phoenix.ecosystem.services import start_service
        argv, cwd, log = json.loads(sys.argv[1])
        print(start_service(argv, Path(cwd), Path(log)).model_dump_json())
        """
    )
    payload = json.dumps([argv, str(cwd), str(log_path)])
    done = subprocess.run([PY, "-c", code, payload], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return ServiceProcess.model_validate_json(done.stdout)


def state(service: ServiceProcess) -> tuple[str, int | None]:
    current = service_state(service.pid, service.start_ticks, service.log_path)
    return current.status, current.exit_code


def test_http_service_answers_on_the_port_it_was_given(tmp_path: Path, started: list) -> None:
    (tmp_path / "index.html").write_text("hello from the service")
    service = start(started, [PY, "-m", "http.server", "$PORT", "--bind", "127.0.0.1"], tmp_path)

    def fetch() -> str | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{service.port}/", timeout=2) as response:
                return response.read().decode()
        except OSError:
            return None

    assert wait_for(fetch, 15) == "hello from the service"
    assert state(service) == ("Running", None)
    assert stop_service(service.pid, service.pgid, 5, log_path=service.log_path) == 143
    assert state(service) == ("Stopped", 143)
    assert fetch() is None


def test_port_is_substituted_in_argv_and_set_in_the_environment(tmp_path: Path, started: list) -> None:
    port = free_port()
    script = "import os, sys; print('ARGS', sys.argv[1:], os.environ['PORT'], flush=True)"
    argv = [PY, "-c", script, "$PORT", "--port=${PORT}", "$PORTS"]
    service = start(started, argv, tmp_path, port=port)
    assert service.port == port
    assert service.argv[3:] == [str(port), f"--port={port}", "$PORTS"]
    wait_for(lambda: state(service) == ("Exited", 0))
    assert f"ARGS ['{port}', '--port={port}', '$PORTS'] {port}" in tail(service.log_path)


def test_a_free_port_is_chosen_when_none_is_given(tmp_path: Path, started: list) -> None:
    script = "import os; print('PORT', os.environ['PORT'], flush=True)"
    service = start(started, [PY, "-c", script], tmp_path)
    wait_for(lambda: state(service) == ("Exited", 0))
    assert 0 < service.port < 65536
    assert f"PORT {service.port}" in tail(service.log_path)


def test_stop_kills_the_services_children_too(tmp_path: Path, started: list) -> None:
    script = textwrap.dedent(
        f"""
        import subprocess, time
        child = subprocess.Popen([{PY!r}, "-c", "import time; time.sleep(120)"])
        open("grandchild.pid", "w").write(str(child.pid))
        time.sleep(120)
        """
    )
    service = start(started, [PY, "-c", script], tmp_path)
    pid_file = tmp_path / "grandchild.pid"
    grandchild = int(wait_for(lambda: pid_file.exists() and pid_file.read_text(), 15))
    assert not gone(grandchild)

    stop_service(service.pid, service.pgid, 5)
    assert gone(grandchild)
    assert gone(service.pid)


def test_a_service_ignoring_sigterm_is_killed_after_the_grace_period(
    tmp_path: Path, started: list
) -> None:
    script = textwrap.dedent(
        """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ready", flush=True)
        time.sleep(120)
        """
    )
    service = start(started, [PY, "-c", script], tmp_path)
    wait_for(lambda: "\nready\n" in tail(service.log_path), 15)  # the line, not the argv echo
    code = stop_service(service.pid, service.pgid, 0.5, log_path=service.log_path)
    assert code == 137  # SIGKILL, reported the way shells do (128 + 9), and recorded by the supervisor
    assert state(service) == ("Stopped", 137)


def test_service_outlives_the_process_that_started_it(tmp_path: Path) -> None:
    log = tmp_path / "service.log"
    service = start_from_exiting_process([PY, "-c", "import time; time.sleep(120)"], tmp_path, log)
    try:
        assert state(service) == ("Running", None)
        assert stop_service(service.pid, service.pgid, 5, log_path=log) == 143
        assert state(service) == ("Stopped", 143)
    finally:
        stop_service(service.pid, service.pgid, 1.0, start_ticks=service.start_ticks)


def test_crash_shows_exited_with_its_code_in_another_process(tmp_path: Path) -> None:
    log = tmp_path / "service.log"
    script = "import sys; print('about to crash', flush=True); sys.exit(3)"
    service = start_from_exiting_process([PY, "-c", script], tmp_path, log)
    wait_for(lambda: state(service)[0] != "Running", 15)
    assert state(service) == ("Exited", 3)
    assert "about to crash" in tail(log)
    # Stopping a service that already ended is not an error, and still tells how it ended.
    assert stop_service(service.pid, service.pgid, 1.0, log_path=log) == 3


def test_unknown_or_reused_pid_is_not_running(tmp_path: Path) -> None:
    finished = subprocess.run([PY, "-c", "pass"], check=True)
    assert finished.returncode == 0
    unused = max(int(name) for name in os.listdir("/proc") if name.isdigit()) + 100_000
    assert service_state(unused, None).status == "Exited"
    assert service_state(-1, None).status == "Exited"

    me = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    assert service_state(os.getpid(), me).status == "Running"
    assert service_state(os.getpid(), me + 1).status == "Exited"  # same pid, another process
    assert stop_service(os.getpid(), os.getpgid(0), 0.1, start_ticks=me + 1) is None  # nothing killed
    ensure_not_running(os.getpid(), me + 1)
    ensure_not_running(None, None)
    with pytest.raises(ServiceAlreadyRunning) as raised:
        ensure_not_running(os.getpid(), me, "service web")
    assert isinstance(raised.value, Conflict)


def test_shell_metacharacters_in_argv_are_passed_literally(tmp_path: Path, started: list) -> None:
    (tmp_path / "x").write_text("keep me")
    hostile = ["; rm -rf x", "$(touch y)", "`touch z`", "&& touch w", "| touch v", "../../etc/passwd"]
    script = "import sys; print('ARGS', sys.argv[1:], flush=True)"
    service = start(started, [PY, "-c", script, *hostile], tmp_path)
    wait_for(lambda: state(service) == ("Exited", 0), 15)
    assert f"ARGS {hostile!r}" in tail(service.log_path)
    assert (tmp_path / "x").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs", "x"]

    with pytest.raises(ServiceStartFailed):
        start_service(["true; touch y"], tmp_path, tmp_path / "logs" / "other.log")
    assert not (tmp_path / "y").exists()


def test_missing_executable_raises_service_start_failed(tmp_path: Path) -> None:
    log = tmp_path / "service.log"
    with pytest.raises(ServiceStartFailed, match="not installed"):
        start_service(["phoenix-no-such-program-xyz", "--serve"], tmp_path, log)
    with pytest.raises(ServiceStartFailed, match="does not exist"):
        start_service(["./bin/missing-server"], tmp_path, log)
    with pytest.raises(ServiceStartFailed, match="does not exist"):
        start_service([PY, "-c", "pass"], tmp_path / "no-such-folder", log)
    assert issubclass(ServiceStartFailed, OperationFailed)


def test_tail_reads_the_end_of_a_long_log(tmp_path: Path) -> None:
    log = tmp_path / "long.log"
    log.write_text("".join(f"line {i}\n" for i in range(200_000)))
    assert tail(log, 3) == "line 199997\nline 199998\nline 199999\n"
    assert tail(log, 1) == "line 199999\n"
    assert tail(log, 0) == ""
    assert tail(log).count("\n") == 100

    unfinished = tmp_path / "unfinished.log"
    unfinished.write_text("a\nb\nc")
    assert tail(unfinished, 2) == "b\nc"
    assert tail(unfinished, 10) == "a\nb\nc"
    assert tail(tmp_path / "never-written.log") == ""

    # A 1 GB log (sparse, so the test stays cheap) is tailed from its end, not read whole.
    huge = tmp_path / "huge.log"
    with huge.open("wb") as handle:
        handle.truncate(1 << 30)
        handle.seek(0, os.SEEK_END)
        handle.write(b"first\nsecond\nthird\n")
    assert tail(huge, 2) == "second\nthird\n"


def test_stop_right_after_start_leaves_nothing_running(tmp_path: Path, started: list) -> None:
    service = start(started, [PY, "-c", "import time; time.sleep(120)"], tmp_path)
    stop_service(
        service.pid, service.pgid, 5, start_ticks=service.start_ticks, log_path=service.log_path
    )
    assert state(service)[0] == "Stopped"
    assert gone(service.pid)


def leaves_a_child(tmp_path: Path, exit_code: int, leave_group: bool) -> list[str]:
    """A service that starts a long-running child (in its group, or in a session of its own), notes
    its pid in child.pid and then exits with `exit_code` (0: a normal end, else a crash)."""
    script = textwrap.dedent(
        f"""
        import subprocess, sys
        child = subprocess.Popen([{PY!r}, "-c", "import time; time.sleep(120)"],
                                 start_new_session={leave_group})
        open("child.pid", "w").write(str(child.pid))
        sys.exit({exit_code})
        """
    )
    return [PY, "-c", script]


@pytest.mark.parametrize(
    ("exit_code", "leave_group"), [(0, False), (3, False), (0, True), (5, True)]
)  # fmt: skip
def test_nothing_a_service_started_outlives_it_when_it_exits_by_itself(
    tmp_path: Path, started: list, exit_code: int, leave_group: bool
) -> None:
    service = start(started, leaves_a_child(tmp_path, exit_code, leave_group), tmp_path)
    pid_file = tmp_path / "child.pid"
    child = int(wait_for(lambda: pid_file.exists() and pid_file.read_text(), 15))
    # The supervisor ends the child itself, before it records the exit: no status read needed.
    wait_for(lambda: exit_file_for(service.log_path).exists(), 15)
    assert gone(child), "the service's child outlived it"
    wait_for(lambda: state(service)[0] != "Running", 15)  # the supervisor exits right after
    assert state(service) == ("Exited", exit_code)


def test_reading_the_status_ends_what_a_killed_supervisor_left_behind(
    tmp_path: Path, started: list
) -> None:
    """The supervisor itself is SIGKILLed, so it cannot end anything: the main process keeps running
    in the group and its child, which left the group, is adopted by init.  Reading the status finds
    both (by group, and by the instance's marker in the environment) and ends them."""
    script = textwrap.dedent(
        f"""
        import subprocess, time
        child = subprocess.Popen([{PY!r}, "-c", "import time; time.sleep(120)"],
                                 start_new_session=True)
        open("child.pid", "w").write(str(child.pid))
        time.sleep(120)
        """
    )
    service = start(started, [PY, "-c", script], tmp_path)
    pid_file = tmp_path / "child.pid"
    child = int(wait_for(lambda: pid_file.exists() and pid_file.read_text(), 15))
    main = [p.pid for p in psutil.Process(service.pid).children()]
    assert len(main) == 1 and not gone(child)
    os.kill(service.pid, signal.SIGKILL)
    wait_for(lambda: gone(service.pid), 10)
    assert not gone(child) and not gone(main[0]), "nothing has swept yet"
    assert state(service) == ("Exited", None)
    assert gone(child) and gone(main[0])


def test_a_service_gets_the_allow_listed_environment_not_phoenixs(
    tmp_path: Path, started: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PHOENIX_API_TOKEN", "GITHUB_PAT", "OPENAI_API_KEY", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, f"secret-{name}")
    monkeypatch.setenv("MAKELEVEL", "1")
    script = "import json, os; print('ENV', json.dumps(dict(os.environ)), flush=True)"
    service = start(started, [PY, "-c", script], tmp_path)
    wait_for(lambda: state(service) == ("Exited", 0), 15)
    line = next(x for x in tail(service.log_path).splitlines() if x.startswith("ENV "))
    environment = json.loads(line[4:])
    assert "secret-" not in line and "MAKELEVEL" not in environment
    assert environment["PORT"] == str(service.port) and environment["PATH"]
    assert environment["PHOENIX_SERVICE_INSTANCE"] == f"{service.pid}:{service.start_ticks}"
