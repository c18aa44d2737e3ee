"""SQLite files that hold keys or personal data: private to their owner, durable once a commit
returns, and leaving no readable copy of what a write replaced or deleted.

`secure_delete` zeroes freed cells and pages in the database file; old page images live on in
the write-ahead log until a checkpoint copies them back, so `erase_replaced` checkpoints and
truncates the log after a write that erased something.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Literal

Synchronous = Literal["FULL", "NORMAL"]
PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600
_COMPANIONS = ("", "-wal", "-shm", "-journal")


def private_directory(path: Path) -> None:
    """Make the folder and keep it to its owner alone (an existing one is narrowed)."""
    new_directories(path)
    os.chmod(path, PRIVATE_DIRECTORY)


def new_directories(path: Path) -> None:
    """Make the folder and its missing parents, each private (an existing one is left as is:
    it may be shared, like /tmp)."""
    missing = [path, *path.parents]
    for directory in reversed(missing):
        if not directory.exists():
            directory.mkdir(mode=PRIVATE_DIRECTORY, exist_ok=True)


def private_file(path: Path) -> None:
    """Create the file if missing, readable and writable by its owner only.

    SQLite gives a database's -wal and -shm files the database file's mode, so a database
    created 0600 keeps its log private too; files of older installs are narrowed here.
    """
    # Never open (and close) an existing database file: closing any descriptor of it drops
    # every POSIX lock this process's SQLite connections hold on it, and another process
    # could then reset the write-ahead log under them and lose acknowledged commits.
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    for suffix in _COMPANIONS:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(f"{path}{suffix}", PRIVATE_FILE)


def connect(
    path: Path | str, *, synchronous: Synchronous, page_size: int | None = None
) -> sqlite3.Connection:
    """A connection in WAL mode with secure_delete on, to a private file. `page_size` is the
    page size of a file that holds nothing yet (a file's page size is fixed once it is in WAL
    mode): a file already made keeps its own."""
    if str(path) != ":memory:":
        location = Path(path)
        new_directories(location.parent)
        private_file(location)
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    if page_size is not None:
        db.execute(f"PRAGMA page_size={int(page_size)}")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    db.execute("PRAGMA secure_delete=ON")
    db.execute("PRAGMA busy_timeout=10000")
    return db


def erase_replaced(db: sqlite3.Connection) -> None:
    """Copy the log into the (zeroed) database file and truncate the log to nothing, so no
    page image from before an erasure stays on disk. Waits for readers (busy timeout)."""
    busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:
        raise sqlite3.OperationalError("the write-ahead log could not be truncated: busy")
