"""The sandbox's launcher: confines itself, then runs one program (stdlib only; run as a script).

`phoenix.tools.sandbox.run_sandboxed` starts `python -I -S _confine.py CONFIG` in a new session
with the stripped environment; this script applies what the machine allows and reports, on the
file descriptor `report_fd`, which isolation it applied:

1. new namespaces — mount, network, PID, IPC, UTS (as root), else the same inside a new user
   namespace (an unprivileged user), else none;
2. in the mount namespace: every mount read-only except the scratch folder (and /proc, /sys, /dev);
   then an empty read-only tmpfs over the folders where sockets and secrets live (`hide`: /run,
   /tmp, /var/tmp, /dev/shm, Phoenix's home and PHOENIX_HOME) — a bind mount does not stop a
   connect() to a host's Unix socket, an empty folder does — with the scratch folder (and
   Python's installation, read-only) bound back at their own paths;
3. a fork: the child is PID 1 of the new PID namespace (when it ends, the kernel kills every
   process left in it), mounts its own /proc (no other process's /proc/PID/environ to read), sets
   the resource limits, drops root for a user id of its own (`uid`; as root RLIMIT_NPROC does not
   apply to root), sets no-new-privileges and a parent-death signal, and executes the program;
   It refuses (exit 126, the reason on stderr) to run the program as root when a user id was to
   be dropped, or with the host's /proc when it runs with Phoenix's own user id;
4. the launcher waits and exits with the program's status (128+N for a signal N).

It never raises past `main`: a step that fails is left out of the report, so the caller says
precisely what applied.
"""

import ctypes
import json
import os
import resource
import signal
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 32, 1024, 2048, 4096, 16384
MS_PRIVATE, MS_RELATIME, MS_STRICTATIME = 1 << 18, 1 << 21, 1 << 24
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
_OPTION_FLAGS = {
    "nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
    "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME, "strictatime": MS_STRICTATIME,
}  # fmt: skip
# Left writable: kernel interfaces (the dropped user id cannot write them) and the terminals.
_KEEP = ("/proc", "/sys", "/dev/pts")

libc = ctypes.CDLL(None, use_errno=True)


def _call(result: int) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


def _unshare(flags: int) -> bool:
    try:
        _call(libc.unshare(flags))
        return True
    except OSError:
        return False


def _mount(source, target, fstype, flags, data=None) -> None:
    encode = lambda text: None if text is None else text.encode()  # noqa: E731
    _call(libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data)))


def _write(path: str, text: str) -> None:
    with open(path, "w") as stream:
        stream.write(text)


def _namespaces(applied: list) -> tuple:
    """Enter new namespaces; returns (user namespace?, mount?, PID?)."""
    others = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    uid, gid = os.geteuid(), os.getegid()
    user = False
    if not (uid == 0 and _unshare(others)):
        if not _unshare(CLONE_NEWUSER | others):
            return False, False, False
        user = True
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
        applied.append("user-namespace")
    applied += ["network-namespace", "ipc-namespace"]
    return user, True, True


def _unescape(path: str) -> str:
    return path.encode().decode("unicode_escape") if "\\" in path else path


def _mounts() -> list:
    """(mount point, its per-mount flags) of every mount this namespace sees."""
    found = []
    with open("/proc/self/mountinfo") as stream:
        for line in stream:
            fields = line.split()
            point, options = _unescape(fields[4]), fields[5].split(",")
            found.append((point, sum(_OPTION_FLAGS.get(o, 0) for o in options)))
    return found


def _read_only_except(workdir: str, applied: list) -> None:
    """Every mount read-only but the scratch folder, which becomes a writable mount of its own."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount(workdir, workdir, None, MS_BIND | MS_REC)
    failed = []
    for point, flags in _mounts():
        if point == workdir or any(point == k or point.startswith(k + "/") for k in _KEEP):
            continue
        if point == "/dev":  # device nodes: opening /dev/null for writing must keep working
            continue
        try:
            _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
        except OSError:
            failed.append(point)
    applied.append("read-only-filesystem" if not failed else "read-only-filesystem-partial")
    applied.append("writable-scratch-only" if not failed else "writable-scratch")


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _hide(config: dict, applied: list) -> None:
    """An empty tmpfs over each folder of `hide`; then `workdir` (writable) and `keep` (read-only)
    bound back at their own paths when they were under one, through descriptors opened first."""
    workdir = config["workdir"]
    keep = [(workdir, False)] + [(path, True) for path in config.get("keep", [])]
    opened = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY), ro) for path, ro in keep]
    hidden = []
    try:
        for folder in sorted(config.get("hide", []), key=len):
            if os.path.islink(folder) or not os.path.isdir(folder):
                continue  # a symlink (/var/run) leads into a hidden folder already; or gone
            _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755")
            hidden.append(folder)
        for path, descriptor, read_only in opened:
            if not any(_inside(path, folder) for folder in hidden):
                continue
            os.makedirs(path, exist_ok=True)
            _mount(f"/proc/self/fd/{descriptor}", path, None, MS_BIND | MS_REC)
            if read_only:
                _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
        for folder in hidden:
            _mount(None, folder, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    finally:
        for _, descriptor, _ in opened:
            os.close(descriptor)
    applied.append("hidden-sockets-and-home")


def _count_processes(uid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as stream:
                    for line in stream:
                        if line.startswith("Uid:"):
                            count += int(line.split()[1]) == uid
                            break
            except OSError:
                continue
    return count


def _limits(config: dict, processes: int, applied: list) -> None:
    wanted = [
        (resource.RLIMIT_CPU, config["cpu_s"], "cpu-limit"),
        (resource.RLIMIT_AS, config["memory_bytes"], "memory-limit"),
        (resource.RLIMIT_FSIZE, config["file_bytes"], "file-size-limit"),
        (resource.RLIMIT_NOFILE, 256, None),
        (resource.RLIMIT_CORE, 0, None),
        (resource.RLIMIT_NPROC, processes, None),
    ]
    for kind, value, name in wanted:
        if value is None:
            continue
        try:
            resource.setrlimit(kind, (value, value))
            if name:
                applied.append(name)
        except (OSError, ValueError):
            pass


def _refuse(config: dict, applied: list, why: str) -> None:
    """Report what applied, say why on stderr and end: the program never starts."""
    os.write(config["report_fd"], json.dumps(applied).encode())
    os.write(2, f"sandbox: refusing to run the program: {why}\n".encode())
    os._exit(126)


def _child(config: dict, user_ns: bool, pid_ns: bool, others: int, applied: list) -> None:
    """In the fork: the steps that must happen in the new PID namespace, then the program."""
    if pid_ns:
        try:
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
            applied.append("pid-namespace")
        except OSError:
            applied.append("pid-namespace-shared-proc")
            if user_ns:  # Phoenix's own user id: the host's /proc/PID/environ would be readable
                _refuse(config, applied, "cannot mount a /proc of its own")
    uid = config.get("uid")
    dropping = os.geteuid() == 0 and not user_ns and uid is not None
    processes = config["processes"] if dropping else others + config["processes"]
    _limits(config, processes, applied)
    os.chdir(config["workdir"])  # before dropping root: the scratch may sit under a 0700 home
    if dropping:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            applied += [f"user-id-{uid}", "process-limit"]
        except OSError:
            applied.append("still-root")
    elif os.geteuid() != 0:
        applied.append("process-limit-shared-with-user")
    if os.geteuid() == 0 and uid is not None and "still-root" not in applied:
        applied.append("still-root")  # root in a user namespace of its own: no id to drop to
    if "still-root" in applied:
        _refuse(config, applied, "it would run as root (the user id could not be dropped)")
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0:
        applied.append("no-new-privileges")
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    report = config["report_fd"]
    os.write(report, json.dumps(applied).encode())
    os.close(report)
    argv = config["argv"]
    try:
        os.execve(argv[0], argv, dict(os.environ))  # noqa: S606 - argv, never a shell
    except OSError as error:
        os.write(2, f"sandbox: cannot run {argv[0]}: {error.strerror}\n".encode())
        os._exit(127)


def main() -> int:
    config = json.loads(sys.argv[1])
    applied: list = ["separate-process", "new-session", "environment-allow-list", "scratch-folder"]
    user_ns, mount_ns, pid_ns = (False, False, False)
    if config.get("namespaces", True):
        user_ns, mount_ns, pid_ns = _namespaces(applied)
    if mount_ns:
        try:
            _read_only_except(config["workdir"], applied)
        except OSError:
            applied.append("mount-namespace-without-read-only")
        try:
            _hide(config, applied)
        except OSError as error:
            os.write(2, f"sandbox: cannot hide the host's folders: {error.strerror}\n".encode())
            return 126  # never run with the host's sockets and secrets in reach
    others = 0 if os.geteuid() == 0 and not user_ns else _count_processes(os.geteuid())
    pid = os.fork()
    if pid == 0:
        try:
            _child(config, user_ns, pid_ns, others, applied)
        finally:
            os._exit(127)
    os.close(config["report_fd"])
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main())
