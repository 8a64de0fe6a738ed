"""A real PostgreSQL server for the tests: Debian's binaries, a temporary cluster, a free port.

The server is started once per test session (``initdb`` into a temporary folder, ``pg_ctl``
on 127.0.0.1) and stopped at the end; each test gets a database of its own. As root (CI,
containers) the server runs as the ``postgres`` user, which PostgreSQL requires; without
the binaries (``make postgres`` installs them as root) the tests that need it are skipped
with that reason.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: The superuser's password: logins over TCP must give it (scram-sha-256), as on a team's server.
PASSWORD = "pg-secret-5d1e-do-not-leak"
USER = "postgres"


@dataclass
class Server:
    """A running test server: ``url(db)`` with the password, ``bare_url(db)`` without it."""

    port: int
    folder: Path
    _numbers: Iterator[int]

    def bare_url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database's name (the cluster is thrown away at the end, so none is dropped)."""
        import psycopg

        name = f"history_{next(self._numbers)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 STRATEGY FILE_COPY")
        return name


def binaries() -> Path | None:
    """The folder holding Debian's ``initdb`` and ``pg_ctl``, newest version first; None without them."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda f: int(f.split("/")[-2]), reverse=True):
        if os.access(Path(folder) / "initdb", os.X_OK) and os.access(Path(folder) / "pg_ctl", os.X_OK):
            return Path(folder)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def why_not() -> str | None:
    """Why no test server can be started here, or None."""
    if binaries() is None:
        return "no PostgreSQL server binaries (initdb, pg_ctl): `make postgres` installs Debian's as root"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser to start PostgreSQL as the postgres user"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[test]')"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_server(*, durable: bool = False) -> Iterator[Server]:
    """Start a throwaway cluster; stop it and delete its folder when done.

    Tests want it quick (no fsync); ``durable`` keeps PostgreSQL's defaults, for measurements.
    """
    bin_dir = binaries()
    assert bin_dir is not None
    folder = Path(tempfile.mkdtemp(prefix="weshop_pg_"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(folder, USER, USER)
        as_user = ["runuser", "-u", USER, "--"]
    data, pwfile, log = folder / "data", folder / "pw", folder / "log"
    pwfile.write_text(PASSWORD + "\n")
    if as_user:
        shutil.chown(pwfile, USER, USER)
    port = _free_port()

    def run(*command: str) -> None:
        subprocess.run([*as_user, *command], check=True, capture_output=True, timeout=120)

    run(str(bin_dir / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={pwfile}", "--auth-local=trust",
        "--auth-host=scram-sha-256", "--locale=C.UTF-8", "--no-sync")  # fmt: skip
    # Durability is not under test: no fsync makes the many small databases and writes quick.
    options = f"-h 127.0.0.1 -p {port} -k {folder}"
    if not durable:
        options += " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
    try:
        yield Server(port, folder, itertools.count(1))
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)
