"""The output folder of a run: one writer at a time, names checked before computing, write
failures stopped with a clear message.

- Ownership: an OS file lock on ``{folder}/.gsocseq.lock`` (portalocker: ``flock`` on POSIX,
  ``LockFileEx`` on Windows), which the OS releases when the process ends however it ends
  (``kill -9`` leaves no stale lock). A run, an assembly and a demo hold it exclusively; tile
  runs (``--tile``, many at once on a cluster) and ``gsocseq report`` hold it shared. The
  holder's process id and command are written beside it (``.gsocseq.owner``), so that a second
  run can say which process holds the folder.
- Names: every file a run writes must fit the file system's name limit, checked before
  anything is computed.
- Write failures (disk full, file too large, I/O error, no permission) become
  :class:`OutputError` (exit 2) naming the folder, its free space and what the run needs.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Callable, Optional

import portalocker

from gsocseq.errors import FolderInUse, InputError, OutputError

if TYPE_CHECKING:  # pragma: no cover
    from gsocseq.config import Config

#: the lock file and the file naming its holder, in the output folder
LOCK_NAME = ".gsocseq.lock"
OWNER_NAME = ".gsocseq.owner"
#: seconds between two attempts to take a folder held by another process (``--wait``)
WAIT_POLL = 0.5
#: errors of writing that a user fixes with space, another folder or permissions: exit 2
WRITE_ERRNOS = frozenset(
    code
    for code in (
        errno.ENOSPC,
        errno.EFBIG,
        errno.EIO,
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        getattr(errno, "EDQUOT", None),
    )
    if code is not None
)


#: folders this process holds: path -> (lock, thread that took it, depth)
_HELD: dict[str, tuple[FolderLock, int, int]] = {}
_HELD_GUARD = threading.Lock()


class FolderLock:
    """The lock of an output folder, exclusive or ``shared``; ``wait`` for another holder to
    finish (reporting it once through ``notify``) instead of raising :class:`FolderInUse`.

    Taking a folder that this thread holds already (a demo's run) only counts; another
    thread of the process takes it as another process would."""

    def __init__(
        self,
        folder: Path,
        *,
        shared: bool = False,
        wait: bool = False,
        what: str = "run",
        notify: Optional[Callable[[str], None]] = None,
        name: str = LOCK_NAME,
    ) -> None:
        self.folder = Path(folder)
        self.name = name
        self.shared = shared
        self.wait = wait
        self.what = what
        self.notify = notify
        self._file: Optional[IO[str]] = None
        self._key = os.path.normcase(os.path.abspath(self.folder / name))

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        me = threading.get_ident()
        with _HELD_GUARD:
            held = _HELD.get(self._key)
            if held is not None and held[1] == me:
                _HELD[self._key] = (held[0], me, held[2] + 1)
                return
        path = self.folder / self.name
        try:
            f = open(path, "a+", encoding="utf-8")
        except OSError as exc:
            if self.shared and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                # a read-only folder: no process writes there either
                with _HELD_GUARD:
                    _HELD[self._key] = (self, me, 1)
                return
            raise OutputError(
                f"{self.folder}: cannot create the lock file {self.name} ({exc.strerror})"
            ) from None
        flags = portalocker.LockFlags.SHARED if self.shared else portalocker.LockFlags.EXCLUSIVE
        told = False
        try:
            while True:
                try:
                    portalocker.lock(f, flags | portalocker.LockFlags.NON_BLOCKING)
                    break
                except portalocker.AlreadyLocked:
                    # (another lock than the folder's: its holder wrote no owner file)
                    holder = (
                        describe_holder(self.folder)
                        if self.name == LOCK_NAME
                        else f"another gsocseq {self.what}"
                    )
                    if not self.wait:
                        raise FolderInUse(
                            f"{self.folder}: folder in use by {holder}; wait for it to end "
                            "(or add --wait), or choose another output folder"
                        ) from None
                    if not told and self.notify is not None:
                        self.notify(f"waiting for {holder} to finish with {self.folder}")
                    told = True
                    time.sleep(WAIT_POLL)
                except portalocker.LockException as exc:
                    raise OutputError(
                        f"{self.folder}: cannot lock the output folder ({exc}); the file "
                        "system may not support locks: choose a local folder"
                    ) from None
        except BaseException:
            f.close()
            raise
        self._file = f
        with _HELD_GUARD:
            _HELD[self._key] = (self, me, 1)
        if self.name == LOCK_NAME:
            self._write_owner()

    def _write_owner(self) -> None:
        owner = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "",
            "what": self.what,
            "shared": self.shared,
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        path = self.folder / OWNER_NAME
        tmp = path.with_name(f"{OWNER_NAME}.{os.getpid()}.part")
        try:
            tmp.write_text(json.dumps(owner), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:  # only a courtesy to the next process: never a reason to stop
            tmp.unlink(missing_ok=True)

    def release(self) -> None:
        with _HELD_GUARD:
            held = _HELD.get(self._key)
            if held is not None and held[0] is not self:
                if held[2] > 1:
                    _HELD[self._key] = (held[0], held[1], held[2] - 1)
                else:  # pragma: no cover - released by another object than took it
                    del _HELD[self._key]
                return
            _HELD.pop(self._key, None)
        if self._file is not None:
            try:
                portalocker.unlock(self._file)
            finally:
                self._file.close()
                self._file = None


def describe_holder(folder: Path) -> str:
    """'process N (command, since T)' from the owner file of a held folder."""
    try:
        owner = json.loads((Path(folder) / OWNER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "another process"
    where = "" if owner.get("host") == socket.gethostname() else f" on {owner.get('host')}"
    return (
        f"process {owner.get('pid')}{where} ({owner.get('command') or owner.get('what')}, "
        f"since {owner.get('since')})"
    )


def holds(folder: Path) -> bool:
    """Whether this process holds ``folder``'s lock."""
    return os.path.normcase(os.path.abspath(Path(folder) / LOCK_NAME)) in _HELD


def name_limit(folder: Path) -> int:
    """Longest file name the file system of ``folder`` allows, bytes (255 where unknown)."""
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (AttributeError, OSError, ValueError):  # Windows: 255 UTF-16 units (NTFS, exFAT)
        return 255


def check_names(folder: Path, names: Iterable[str], prefix: str) -> None:
    """Refuse names that do not fit the file system (:class:`OutputError`), before anything
    is computed: ``names`` are the longest names of the run (temporaries included)."""
    limit = name_limit(folder)
    encoding = sys.getfilesystemencoding()
    longest = max(names, key=lambda n: len(n.encode(encoding, "surrogateescape")))
    size = len(longest.encode(encoding, "surrogateescape"))
    if size <= limit:
        return
    over = size - limit
    keep = max(1, len(prefix.encode(encoding, "surrogateescape")) - over)
    raise OutputError(
        f"{folder}: the run name ({len(prefix)} characters) makes file names of up to {size} "
        f"bytes ({longest[:40]}...), more than the {limit} bytes the file system allows; "
        f"choose a name of at most {keep} bytes ([run] name)"
    )


def free_bytes(folder: Path) -> Optional[int]:
    """Free space of the file system of ``folder``, bytes (None where unknown)."""
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def _mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB" if n >= 2**20 else f"{n / 2**10:,.0f} kB"


#: what the command that failed to write keeps for the next attempt
RUN_KEEPS = " (finished blocks are kept)"


def write_failure(
    folder: Path, exc: BaseException, need: int, what: str = "the run", keeps: str = RUN_KEEPS
) -> OutputError:
    """The :class:`OutputError` of a failed write into ``folder``: what failed, the free
    space and an estimate of the space ``what`` needs (``need`` bytes); ``keeps``: what the
    same command run again reuses."""
    error = getattr(exc, "strerror", None) or str(exc)
    name = getattr(exc, "filename", None)
    where = f" writing {Path(name).name}" if name else ""
    free = free_bytes(folder)
    space = f"{_mb(free)} free, " if free is not None else ""
    return OutputError(
        f"{folder}: cannot write the outputs ({error}{where}); {space}{what} needs up to "
        f"{_mb(need)} there: free some space or choose another output folder (-o), then run "
        f"the same command again{keeps}"
    )


def is_write_error(exc: BaseException) -> bool:
    """An error of writing a user fixes with space, another folder or permissions."""
    return isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS


@contextmanager
def write_errors(
    folder: Path, need: Callable[[], int], what: str = "the run", keeps: str = RUN_KEEPS
) -> Iterator[None]:
    """Turn write errors (:data:`WRITE_ERRNOS`) raised inside into :func:`write_failure`."""
    try:
        yield
    except OSError as exc:
        if not is_write_error(exc):
            raise
        raise write_failure(folder, exc, need(), what, keeps) from None


def remove_stale(folder: Path, patterns: Iterable[str]) -> list[Path]:
    """Remove the files of ``patterns`` (temporaries of processes that ended without cleaning
    up: the caller holds the folder exclusively). Returns what was removed."""
    gone: list[Path] = []
    for pattern in patterns:
        for p in folder.glob(pattern):
            try:
                if p.is_file():
                    p.unlink()
                    gone.append(p)
            except OSError:
                pass
    return gone


def run_summary(run_dir: Path) -> tuple[Path, str, dict]:
    """(path, run name, contents) of the run summary (``KEN_GSOCseq_run.json``) of a run's output
    folder; :class:`InputError` when there is none (the run did not finish), several, or it
    cannot be read."""
    from gsocseq import products

    summaries = sorted(Path(run_dir).glob(products.SUMMARY_GLOB))
    if not summaries:
        raise InputError(
            f"{run_dir}: no {products.SUMMARY_GLOB}, not the output folder of a finished run"
        )
    if len(summaries) > 1:
        names = ", ".join(p.name for p in summaries)
        raise InputError(f"{run_dir}: several run summaries ({names}); one run per folder")
    try:
        summary = json.loads(summaries[0].read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{summaries[0]}: cannot be read as JSON ({exc})") from None
    name = str(summary.get("name") or products.run_name_of_summary(summaries[0].name))
    return summaries[0], name, summary


def run_folder(path: str | os.PathLike) -> Path:
    """The output folder of a run given as that folder or as its configuration (TOML)."""
    config = run_config(path)
    if config is not None:
        return config.output_dir
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{path}: neither a run's output folder nor its configuration (.toml)")
    return path


def run_config(path: str | os.PathLike) -> Optional[Config]:
    """The configuration (:class:`~gsocseq.config.Config`) when ``path`` is a run's
    configuration (TOML), else None (an output folder)."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".toml":
        from gsocseq.config import load

        return load(path, require_inputs=False)
    return None
