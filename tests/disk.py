"""The raw bytes of an SQLite database's files, read in a child process.

Opening and closing any descriptor of a file in a process drops every POSIX lock that process
holds on it, SQLite's own included. Reading the database files in the test process therefore
silently released its shared lock on them: the next server process to close its last
connection believed itself the last user, checkpointed and deleted the WAL, and the test
process went on committing into the unlinked WAL that no other process could see (servers
started later answered 401 for keys the test had just minted). A child process reads the files
and exits; this process's descriptors, and so its locks, are never touched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_READ_FILES = """
import sys
from pathlib import Path
for name in sys.argv[1:]:
    path = Path(name)
    if path.is_file():
        sys.stdout.buffer.write(path.read_bytes())
"""


def sqlite_file_bytes(database_path: Path) -> bytes:
    """The main file, the WAL and the shared-memory index, concatenated."""
    names = [str(database_path.with_name(database_path.name + s)) for s in ("", "-wal", "-shm")]
    return subprocess.run(
        [sys.executable, "-c", _READ_FILES, *names], check=True, capture_output=True
    ).stdout
