"""Running untrusted code: one program in a separate, confined, time-limited process.

`run_sandboxed(argv, workdir, limits)` is what the code interpreter and the terminal use.  The
program runs through `_confine.py` (its docstring lists the steps) and gets, where the machine
allows:

* **its own process, session and process group**, killed as a whole (SIGKILL) at the wall
  timeout or when its output passes the cap; RLIMIT_CPU stops a busy loop even if the wall clock
  were missed;
* **RLIMIT_AS** (a 1 GB allocation becomes MemoryError), RLIMIT_FSIZE, RLIMIT_NOFILE, no core;
* **a process limit**: as root, a user id of its own (RLIMIT_NPROC never applies to root), so a
  fork bomb meets the limit; as another user, the limit counts that user's processes too;
* **no network**: a new network namespace without interfaces (connect → ENETUNREACH, even to
  127.0.0.1, so Phoenix's own API is out of reach);
* **a read-only filesystem but its scratch folder** (a mount namespace): nothing outside
  `workdir` can be written, not PHOENIX_HOME, not /tmp, not /dev/shm;
* **no host socket, no host secret**: an empty read-only tmpfs over /run, /tmp, /var/tmp,
  /dev/shm, Phoenix's home folder and PHOENIX_HOME (`hidden_folders`), the scratch folder and
  Python's installation bound back — a read-only mount does not stop connect() to a Unix socket
  (D-Bus, a 0777 socket in /tmp), and without root the program has Phoenix's own user id;
* **a PID namespace** with its own /proc: it cannot see or signal Phoenix's processes, and when it
  ends, everything it started ends;
* **an environment built from an allow-list** (`sandbox_environment`), never Phoenix's own: no
  PHOENIX_*, GITHUB_*, *_KEY, *TOKEN* ... (the model is `phoenix.ecosystem.environment`).

What applied is returned in `SandboxResult.isolation`; a machine without namespaces (a user
without unprivileged user namespaces, say) still gets the process, limits and environment, and
the list says so — nothing degrades silently.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from phoenix.ecosystem.environment import inherited_environment

if TYPE_CHECKING:
    from phoenix.tools.settings import ToolSettings

LAUNCHER = Path(__file__).with_name("_confine.py")
SANDBOX_UID_BASE = 0x5A000000
"""As root, each run drops to a user id of its own in [BASE, BASE + 2**20): no other process has
it, so its process limit counts only its own processes, and no file on the machine is its own."""


HOST_SOCKET_FOLDERS = ("/run", "/var/run", "/dev/shm", "/var/tmp", "/tmp")  # noqa: S108 - hidden
"""Where host Unix sockets live; the sandbox sees each as an empty read-only folder."""


class SandboxLimits(BaseModel):
    """How much one sandboxed run may take."""

    timeout_s: float = Field(default=10.0, gt=0, description="Wall-clock seconds.")
    memory_mb: int = Field(default=512, ge=16, description="Address space (RLIMIT_AS), MB.")
    processes: int = Field(default=32, ge=1, description="Most processes (RLIMIT_NPROC).")
    output_bytes: int = Field(default=65536, ge=1, description="Most bytes kept of each stream.")
    file_mb: int = Field(default=64, ge=1, description="Largest file it may write (RLIMIT_FSIZE).")
    network: bool = Field(default=False, description="Keep the host's network (never by tools).")


class SandboxResult(BaseModel):
    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    truncated: bool = False
    duration_s: float = 0.0
    isolation: list[str] = Field(default_factory=list)


def sandbox_environment(workdir: Path, source: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment of a sandboxed program: the allow-listed basics (PATH without
    Phoenix's virtualenv, LANG, TZ, ...), with HOME and TMPDIR in its scratch folder."""
    environment = inherited_environment(source)
    environment.pop("SSH_AUTH_SOCK", None)  # not on the allow-list anyway; a socket, never passed
    path = [p for p in environment.get("PATH", os.defpath).split(os.pathsep) if _world_usable(p)]
    environment.update(
        PATH=os.pathsep.join(path or ["/usr/local/bin", "/usr/bin", "/bin"]),
        HOME=str(workdir),
        TMPDIR=str(workdir),
        PWD=str(workdir),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONIOENCODING="utf-8",
    )
    return environment


def _world_usable(path: str) -> bool:
    """Whether any user can reach `path` (every folder on the way executable by others): the
    program runs as a user id that owns nothing, so only such paths are of use to it."""
    try:
        current = Path(path).resolve()
    except OSError:
        return False
    for part in [current, *current.parents]:
        try:
            mode = part.stat().st_mode
        except OSError:
            return False
        if not mode & stat.S_IXOTH:
            return False
    return True


def drops_privileges() -> bool:
    """Whether sandboxed programs run as a user id of their own (this process is root)."""
    return os.geteuid() == 0


def find_program(name: str, environment: Mapping[str, str]) -> str | None:
    """`name` on the sandbox's PATH, as an absolute path the sandboxed user can run."""
    found = shutil.which(name, path=environment.get("PATH"))
    if found is None or (drops_privileges() and not _world_usable(str(Path(found).resolve()))):
        return None
    return found


def sandbox_python(environment: Mapping[str, str]) -> str | None:
    """A Python interpreter the sandboxed user can run: Phoenix's own when it is reachable by
    others (or no privileges are dropped), else the first `python3` on the sandbox's PATH."""
    if not drops_privileges() or _world_usable(str(Path(sys.executable).resolve())):
        return sys.executable
    return find_program("python3", environment)


@contextlib.contextmanager
def scratch_folder(home: Path) -> Iterator[Path]:
    """A new empty folder PHOENIX_HOME/sandbox/<id>, removed with everything in it afterwards."""
    folder = home / "sandbox" / uuid.uuid4().hex[:16]
    folder.mkdir(parents=True, mode=0o700)
    try:
        yield folder
    finally:
        _remove_tree(folder)


def _remove_tree(folder: Path) -> None:
    """Remove `folder` even where the program took a folder's permissions away (chmod 0)."""
    with contextlib.suppress(OSError):
        for root, dirs, _files in os.walk(folder):  # top-down: each folder opened before entered
            for name in dirs:
                path = os.path.join(root, name)
                if not os.path.islink(path):  # chmod would follow a link out of the scratch
                    with contextlib.suppress(OSError):
                        os.chmod(path, 0o700)
    shutil.rmtree(folder, ignore_errors=True)


def hidden_folders() -> list[str]:
    """The folders a sandboxed program sees empty: where host sockets live (/run, /tmp, ...),
    Phoenix's home folder (~/.prefect, ~/.git-credentials, ...) and PHOENIX_HOME (the API token,
    repo-env/*.json)."""
    phoenix_home = os.environ.get("PHOENIX_HOME") or str(Path.home() / ".phoenix")
    folders = [*HOST_SOCKET_FOLDERS, str(Path.home()), phoenix_home]
    found = []
    for folder in folders:
        path = os.path.abspath(os.path.expanduser(folder))
        if path != "/" and path not in found:
            found.append(path)
    return found


def _kept_folders(program: str) -> list[str]:
    """What the program needs from the hidden folders, bound back read-only: Python's
    installation (Phoenix's virtualenv may live in its home) and the program's own folder."""
    kept = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}
    kept.add(os.path.dirname(os.path.realpath(program)))
    return sorted(path for path in kept if os.path.isdir(path) and path != "/")


def _chown_tree(folder: Path, uid: int) -> None:
    """Give `folder` and everything in it to `uid`, never following a symbolic link."""
    for _root, dirs, files, root_fd in os.fwalk(folder, follow_symlinks=False):
        for name in [*dirs, *files]:
            with contextlib.suppress(FileNotFoundError):
                os.chown(name, uid, uid, dir_fd=root_fd, follow_symlinks=False)
    os.chown(folder, uid, uid, follow_symlinks=False)


_CHOWN_LOCK = threading.Lock()


def run_sandboxed(
    argv: list[str],
    workdir: Path,
    limits: SandboxLimits,
    stdin: bytes | None = None,
    environment: Mapping[str, str] | None = None,
) -> SandboxResult:
    """Run `argv` (argv[0] an absolute path or a name on the sandbox's PATH) in `workdir`.

    Never a shell: each argument reaches the program as it is.  The caller owns `workdir`
    (`scratch_folder` makes and removes one).  Raises only for a program that cannot be found.
    """
    workdir = Path(workdir).resolve()
    env = dict(environment) if environment is not None else sandbox_environment(workdir)
    if os.path.isabs(argv[0]):
        program: str | None = argv[0]
    elif os.sep in argv[0]:  # ./run.sh: relative to the working folder, never to Phoenix's
        candidate = workdir / argv[0]
        program = str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None
    else:
        program = shutil.which(argv[0], path=env.get("PATH"))
    if program is None:
        raise FileNotFoundError(argv[0])
    uid = SANDBOX_UID_BASE + secrets.randbelow(1 << 20) if drops_privileges() else None
    if uid is not None:
        with _CHOWN_LOCK:  # two runs in one folder (the workspace) must not interleave
            _chown_tree(workdir, uid)
    report_read, report_write = os.pipe()
    config = {
        "argv": [program, *argv[1:]],
        "workdir": str(workdir),
        "cpu_s": int(limits.timeout_s) + 1,
        "memory_bytes": limits.memory_mb * 1024 * 1024,
        "file_bytes": limits.file_mb * 1024 * 1024,
        "processes": limits.processes,
        "uid": uid,
        "namespaces": not limits.network,
        "report_fd": report_write,
        "hide": hidden_folders(),
        "keep": _kept_folders(program),
    }
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            [sys.executable, "-I", "-S", str(LAUNCHER), json.dumps(config)],
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=workdir,
            start_new_session=True,
            pass_fds=(report_write,),
        )
    except OSError:
        os.close(report_read)  # e.g. E2BIG: the caller turns it into a clean error
        raise
    finally:
        os.close(report_write)
    finished = False
    try:
        if stdin is not None:
            threading.Thread(target=_feed, args=(process, stdin), daemon=True).start()
        stdout, stderr, timed_out, truncated = _collect(process, limits, started)
        exit_code = process.wait()
        with os.fdopen(report_read, "rb") as stream:
            report = stream.read()
        finished = True
    finally:
        if not finished:  # interrupted (Ctrl-C, a cancelled task): nothing may be left running
            _kill_group(process)
            with contextlib.suppress(Exception):
                process.wait(timeout=5)
            with contextlib.suppress(OSError):
                os.close(report_read)
        if uid is not None:
            _kill_user(uid)  # whatever escaped the process group and the PID namespace
    try:
        isolation = [str(step) for step in json.loads(report or b"[]")]
    except ValueError:
        isolation = []
    return SandboxResult(
        exit_code=None if timed_out else exit_code,
        stdout=stdout.decode("utf-8", "replace"),
        stderr=stderr.decode("utf-8", "replace"),
        timed_out=timed_out,
        truncated=truncated,
        duration_s=round(time.monotonic() - started, 3),
        isolation=isolation,
    )


def _feed(process: subprocess.Popen[bytes], data: bytes) -> None:
    with contextlib.suppress(OSError):
        assert process.stdin is not None
        process.stdin.write(data)
        process.stdin.close()


def _collect(
    process: subprocess.Popen[bytes], limits: SandboxLimits, started: float
) -> tuple[bytes, bytes, bool, bool]:
    """Both streams, up to the cap each, until they close, the deadline passes or the cap is
    exceeded — then the whole process group is killed."""
    assert process.stdout is not None and process.stderr is not None
    out_fd, err_fd = process.stdout.fileno(), process.stderr.fileno()
    kept = {out_fd: bytearray(), err_fd: bytearray()}
    deadline = started + limits.timeout_s
    timed_out = truncated = False
    with selectors.DefaultSelector() as selector:
        for stream in (process.stdout, process.stderr):
            selector.register(stream, selectors.EVENT_READ)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for key, _ in selector.select(remaining):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                buffer = kept[key.fd]
                buffer += chunk
                if len(buffer) > limits.output_bytes:
                    del buffer[limits.output_bytes :]
                    truncated = True
            if truncated:
                break
    if timed_out or truncated:
        _kill_group(process)
    process.stdout.close()
    process.stderr.close()
    return bytes(kept[out_fd]), bytes(kept[err_fd]), timed_out, truncated


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _kill_user(uid: int, wait_s: float = 3.0) -> None:
    """SIGKILL every process of the sandbox's own user id (as root only: nothing else has it),
    and wait (up to `wait_s`) until the kernel has taken them all away."""
    deadline = time.monotonic() + wait_s
    while True:
        left = _processes_of(uid)
        if not left or time.monotonic() > deadline:
            return
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)


def _processes_of(uid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as stream:
                owner = next(line for line in stream if line.startswith("Uid:")).split()[1]
        except (OSError, StopIteration):
            continue
        if int(owner) == uid:
            found.append(int(entry))
    return found


def limits_for(settings: ToolSettings) -> SandboxLimits:
    """The sandbox limits the tool settings configure (PHOENIX_SANDBOX_*)."""
    return SandboxLimits(
        timeout_s=settings.sandbox_timeout,
        memory_mb=settings.sandbox_memory_mb,
        processes=settings.sandbox_processes,
        output_bytes=settings.sandbox_output_bytes,
        file_mb=settings.sandbox_file_mb,
    )


def sandbox_home(settings: ToolSettings) -> Path:
    """Where scratch folders are made: PHOENIX_HOME (the default one when unset)."""
    from phoenix.settings import load_settings

    return settings.home if settings.home is not None else load_settings().home
