"""Files written once: a checkpoint file or a key appears whole or not at all, and is never replaced."""

import contextlib
import errno
import os
import threading
from pathlib import Path


def write_new(path: Path, data: bytes, *, mode: int = 0o644, exist_ok: bool = False) -> bool:
    """Create `path` holding `data`; True when written, False when it was there already.

    Written to a temporary name and hard-linked into place, so a reader never sees part of it and
    an existing file is never replaced. An existing file with other content raises FileExistsError,
    unless ``exist_ok``. Storage without hard links gets an exclusive create instead.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    _write(temporary, data, mode)
    try:
        os.link(temporary, path)
    except FileExistsError:
        if exist_ok or path.read_bytes() == data:
            return False
        raise
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        try:
            _write(path, data, mode)
        except FileExistsError:
            if exist_ok or path.read_bytes() == data:
                return False
            raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    _sync_directory(path.parent)
    return True


def _write(path: Path, data: bytes, mode: int) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _sync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform or file system can sync a directory
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
