"""File operations that stay inside one local directory, whatever links appear in it.

The ``local`` source reads and moves files only below its directory. Links
are resolved when the directory is listed (a link to a file inside is read
through its target, one leading elsewhere is refused), and every read, move
and delete then walks its path one name at a time from the directory with
``O_NOFOLLOW``: a link swapped in after the listing makes the operation fail
(``ELOOP``, ``ENOTDIR``) instead of leading elsewhere. The directory itself
may be a link: the spec names it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC
#: errors that mean "a link (or something that is not a directory) is in the way"
LINK_ERRNOS = (errno.ELOOP, errno.ENOTDIR, errno.EMLINK)


def relative_inside(base: Path, path: Path) -> str | None:
    """``path`` with every link resolved, relative to the resolved ``base``; None when it leads outside."""
    root = Path(os.path.realpath(base))
    real = Path(os.path.realpath(path))
    try:
        rel = real.relative_to(root).as_posix()
    except ValueError:
        return None
    return None if rel == "." else rel


@contextlib.contextmanager
def directory(base: str, parts: Sequence[str], *, create: bool = False) -> Iterator[int]:
    """A descriptor of ``base/parts...`` reached without following a link below ``base``.

    With ``create``, missing directories are made on the way (as ``mkdir -p``).

    Raises:
        OSError: a part is missing, a link (``ELOOP``) or not a directory (``ENOTDIR``).
    """
    fd = os.open(base, _DIRECTORY)
    try:
        for part in parts:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o777, dir_fd=fd)
            inner = os.open(part, _DIRECTORY | _NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = inner
        yield fd
    finally:
        os.close(fd)


def open_file(base: str, rel: str) -> IO[bytes]:
    """``base/rel`` opened for reading, only if it is a regular file reached without links.

    ``O_NONBLOCK`` keeps a FIFO swapped in after the listing from blocking the open.

    Raises:
        OSError: as :func:`directory`, or ``EINVAL`` when it is not a regular file.
    """
    *dirs, name = rel.split("/")
    with directory(base, dirs) as parent:
        fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | os.O_NONBLOCK, dir_fd=parent)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def delete(base: str, rel: str) -> None:
    """Remove ``base/rel`` (a link itself, never what it points to); harmless when already gone."""
    *dirs, name = rel.split("/")
    with directory(base, dirs) as parent, contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=parent)


def move(base: str, rel: str, dest_rel: str, choose: Callable[[str, Callable[[str], bool]], str]) -> str:
    """Move ``base/rel`` to ``base/dest_rel`` (directories created), never replacing a file.

    ``choose(dest_rel, exists)`` picks the final name (a sibling when the
    name is taken). A link is moved as a link. Returns the final relative path.
    """
    *src_dirs, src_name = rel.split("/")
    *dest_dirs, _ = dest_rel.split("/")
    with directory(base, src_dirs) as src_fd, directory(base, dest_dirs, create=True) as dest_fd:

        def exists(candidate: str) -> bool:
            try:
                os.stat(candidate.rsplit("/", 1)[-1], dir_fd=dest_fd, follow_symlinks=False)
            except FileNotFoundError:
                return False
            return True

        final = choose(dest_rel, exists)
        final_name = final.rsplit("/", 1)[-1]
        try:
            os.rename(src_name, final_name, src_dir_fd=src_fd, dst_dir_fd=dest_fd)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            _copy_across(src_fd, src_name, dest_fd, final_name)
    return final


def _copy_across(src_fd: int, src_name: str, dest_fd: int, final_name: str) -> None:
    """A move between filesystems: copy under a hidden name, rename into place, then remove the original."""
    info = os.stat(src_name, dir_fd=src_fd, follow_symlinks=False)
    partial = f".{final_name}.partial"
    if stat.S_ISLNK(info.st_mode):
        os.symlink(os.readlink(src_name, dir_fd=src_fd), partial, dir_fd=dest_fd)
    else:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
        source = os.open(src_name, os.O_RDONLY | _NOFOLLOW | _CLOEXEC, dir_fd=src_fd)
        with os.fdopen(source, "rb") as reader:
            target = os.open(partial, flags, stat.S_IMODE(info.st_mode), dir_fd=dest_fd)
            with os.fdopen(target, "wb") as writer:
                shutil.copyfileobj(reader, writer, 1 << 20)
                writer.flush()
                os.fsync(writer.fileno())
    os.rename(partial, final_name, src_dir_fd=dest_fd, dst_dir_fd=dest_fd)
    os.unlink(src_name, dir_fd=src_fd)
