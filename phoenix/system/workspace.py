"""Files of the workspace folder: every path confined to it, every write whole or not at all.

A path is first resolved (symbolic links followed, `..` folded) and refused unless it lands inside
the workspace, which gives a person a clear "outside the workspace" answer.  The file is then
reached again one folder at a time from the workspace's own descriptor with `O_NOFOLLOW`, so a link
swapped in between the check and the open (an exec can make links) fails instead of leading out.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, Field

from phoenix.errors import BadInput, NotFound, OutsideWorkspace, TooLarge

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class FileContent(BaseModel):
    """A text file read from the workspace."""

    path: str = Field(description="Relative to the workspace.")
    size: int = Field(description="Bytes.")
    content: str


class WrittenFile(BaseModel):
    """A file written into the workspace."""

    path: str = Field(description="Relative to the workspace.")
    size: int = Field(description="Bytes written.")
    created: bool = Field(description="Whether the file is new (else it was replaced whole).")


def ensure_workspace(workspace: Path) -> Path:
    """The workspace folder, made if missing, with symbolic links resolved."""
    workspace.mkdir(parents=True, exist_ok=True)
    return workspace.resolve()


def is_encodable(text: str) -> bool:
    """Whether `text` is valid Unicode (JSON can carry lone surrogates, which no file name holds)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def confine(workspace: Path, path: str) -> PurePosixPath:
    """`path` (relative to the workspace, or absolute inside it) as a path relative to the
    resolved workspace; raises `OutsideWorkspace` when it resolves anywhere else.

    Raises:
        BadInput: a blank path, a NUL byte, a loop of symbolic links.
        OutsideWorkspace: `..` past the root, an absolute path elsewhere, a link pointing out.
    """
    if not path or not path.strip() or "\x00" in path or not is_encodable(path):
        raise BadInput("A path is needed (relative to the workspace), UTF-8, without NUL bytes")
    root = workspace.resolve()
    given = Path(path)
    try:
        target = (given if given.is_absolute() else root / given).resolve()
    except (OSError, RuntimeError) as error:  # RuntimeError: a loop of symbolic links
        raise BadInput(f"Cannot resolve {path!r}: {error}") from None
    if not target.is_relative_to(root):
        raise OutsideWorkspace(f"{path!r} is outside the workspace {root}")
    return PurePosixPath(target.relative_to(root).as_posix())


@contextlib.contextmanager
def _folder(root: Path, parts: tuple[str, ...], create: bool) -> Iterator[int]:
    """A descriptor of the folder `root/parts…`, reached without following any link."""
    fd = os.open(root, _DIRECTORY)
    try:
        for part in parts:
            try:
                inner = os.open(part, _DIRECTORY, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise NotFound(f"No folder {part!r} in the workspace") from None
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
                inner = os.open(part, _DIRECTORY, dir_fd=fd)
            except NotADirectoryError:
                raise BadInput(f"{part!r} is a file, not a folder") from None
            except OSError:  # ELOOP: a link appeared after the path was resolved
                raise OutsideWorkspace(f"{part!r} became a symbolic link; refused") from None
            os.close(fd)
            fd = inner
        yield fd
    finally:
        os.close(fd)


def _split(relative: PurePosixPath, path: str) -> tuple[tuple[str, ...], str]:
    if not relative.parts:
        raise BadInput(f"{path!r} is the workspace folder itself, not a file")
    return relative.parts[:-1], relative.parts[-1]


def read_file(workspace: Path, path: str, max_bytes: int) -> FileContent:
    """The UTF-8 text of a regular file of the workspace, at most `max_bytes` long.

    Raises:
        NotFound: no such file.  TooLarge: bigger than `max_bytes`.
        BadInput: a folder, a device or FIFO, or bytes that are not UTF-8.
    """
    root = workspace.resolve()
    relative = confine(root, path)
    parents, name = _split(relative, path)
    if not root.is_dir():  # a fresh install: nothing was written or run there yet
        raise NotFound(f"No file {relative} in the workspace ({root} does not exist yet)")
    with _folder(root, parents, create=False) as folder:
        try:
            # O_NONBLOCK: opening a FIFO must not hang; a regular file ignores it.
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder)
        except FileNotFoundError:
            raise NotFound(f"No file {relative} in the workspace") from None
        except OSError as error:
            raise OutsideWorkspace(f"Cannot open {relative} without following a link: {error}") from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise BadInput(
                f"{relative} is a folder"
                if stat.S_ISDIR(info.st_mode)
                else f"{relative} is not a regular file"
            )
        if info.st_size > max_bytes:
            os.close(fd)
            raise TooLarge(f"{relative} has {info.st_size} bytes; read-file returns at most {max_bytes}")
        with os.fdopen(fd, "rb") as file:
            data = file.read(max_bytes + 1)
    if len(data) > max_bytes:  # it grew while we read
        raise TooLarge(f"{relative} has more than {max_bytes} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{relative} is not UTF-8 text") from None
    return FileContent(path=str(relative), size=len(data), content=text)


def write_file(workspace: Path, path: str, content: str, max_bytes: int) -> WrittenFile:
    """Write `content` (UTF-8) to a file of the workspace, whole or not at all.

    The bytes go to a temporary file beside the target, are flushed to disk, then renamed over it:
    a reader sees the old file or the new one, never half of it.  Missing folders are made.
    """
    if not is_encodable(content):
        raise BadInput("The content is not valid Unicode (a lone surrogate?)")
    data = content.encode("utf-8")
    if len(data) > max_bytes:
        raise TooLarge(f"The content has {len(data)} bytes; write-file accepts at most {max_bytes}")
    root = ensure_workspace(workspace)
    relative = confine(root, path)
    parents, name = _split(relative, path)
    with _folder(root, parents, create=True) as folder:
        try:
            before = os.stat(name, dir_fd=folder, follow_symlinks=False)
        except FileNotFoundError:
            before = None
        if before is not None and stat.S_ISDIR(before.st_mode):
            raise BadInput(f"{relative} is a folder")
        temporary = f".{name}.{secrets.token_hex(6)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(temporary, flags, 0o644, dir_fd=folder)
        try:
            with os.fdopen(fd, "wb") as file:
                if before is not None and stat.S_ISREG(before.st_mode):
                    os.fchmod(file.fileno(), stat.S_IMODE(before.st_mode))
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=folder)
            raise
    return WrittenFile(path=str(relative), size=len(data), created=before is None)
