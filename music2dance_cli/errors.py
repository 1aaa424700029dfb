"""One error path for every command: each failure becomes one line naming the problem and the fix.

User-input problems (`InputError`) exit 2; the environment (a read-only or full disk, a store that
is a file, memory) and anything unexpected exit 1. The traceback is only for `-v`.
"""

from __future__ import annotations

import errno

from tasks.base import InputError

INPUT_EXIT = 2
ENVIRONMENT_EXIT = 1
_UNWRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}


def _where(err: OSError) -> str:
    return f" {err.filename}" if err.filename else ""


def _oserror_line(err: OSError) -> str:
    where, why = _where(err), err.strerror or str(err)
    if err.errno in _NO_SPACE:
        return f"no space left writing{where}: free space, or pass --store DIR on a disk with room"
    if err.errno in _UNWRITABLE:
        return (
            f"cannot write{where} ({why}): make it writable, or pass --store DIR "
            "(or --out PATH) somewhere you can write"
        )
    if err.errno in {errno.ENOTDIR, errno.EEXIST}:
        return (
            f"a file stands where a folder is needed:{where} ({why}): pass --store DIR that is "
            "a folder, or move the file"
        )
    return f"{why}{where and ':' + where} (check the disk, the path and its permissions)"


def describe(err: BaseException) -> tuple[int, str]:
    """(exit code, one line) for an exception that ended a command."""
    if isinstance(err, InputError):
        return INPUT_EXIT, str(err).strip().splitlines()[0]
    if isinstance(err, OSError):
        return ENVIRONMENT_EXIT, _oserror_line(err)
    if isinstance(err, MemoryError):
        return ENVIRONMENT_EXIT, "out of memory: use a shorter clip or lower render.resolution"
    first = (str(err).strip().splitlines() or [""])[0]
    return ENVIRONMENT_EXIT, (
        f"unexpected {type(err).__name__}: {first} (rerun with -v for the traceback and report it)"
    )
