"""A real, throwaway PostgreSQL cluster for the tests: initdb, a free loopback port, stop, start,
kill, a streaming standby. No mocks; nothing here imports pytest.

As root, initdb and postgres refuse to run, so the server runs as an unprivileged user (Debian's
`postgres`, else one we make) in a directory under /tmp that user can reach (pytest's own temp
dirs are 0700 for root). A watchdog process and an atexit hook stop the server and remove its
files if the test process dies without cleaning up, so no postgres outlives the run.
"""

from __future__ import annotations

import atexit
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pg_server import PgServer, PostgresMissing

SUPERUSER = "locator"
SERVICE_USER = "locator-pg"  # made only when we are root and Debian's `postgres` user is missing
SOCKET_DIR_MAX = 80  # a Unix socket's path must fit in 108 bytes, with "/.s.PGSQL.NNNNN" added
START_ATTEMPTS = 5  # new ports tried only when another process bound the one we picked first
TIMEOUT_S = 60  # for pg_ctl's waits and for a standby to catch up
POLL_S = 0.02
SETTINGS_FILE = "locator_test.conf"  # included by postgresql.conf; rewritten for each copy
# Durability off where only a machine crash could matter (a killed server still recovers from its
# WAL); synchronous_commit stays on, so a committed row is in the WAL the crash tests replay.
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "full_page_writes": "off",
    "wal_level": "replica",
    "max_wal_senders": "5",
    "wal_keep_size": "'64MB'",
    "max_connections": "200",
    "shared_buffers": "'32MB'",
}
HBA = """\
local all all trust
host all all 127.0.0.1/32 trust
local replication all trust
host replication all 127.0.0.1/32 trust
"""
_LIVE: set[PgCluster] = set()


def find_bindir() -> Path:
    """PostgreSQL's server binaries: `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin."""
    found = []
    if shutil.which("pg_config"):
        done = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        found.append(Path(done.stdout.strip()))
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    found += [Path(p) for p in sorted(versions, key=lambda p: int(Path(p).parent.name), reverse=True)]
    for bindir in found:
        if (bindir / "initdb").is_file() and (bindir / "postgres").is_file():
            return bindir
    raise PostgresMissing("PostgreSQL's server is not installed (Debian: apt-get install postgresql)")


def free_port() -> int:
    """A loopback TCP port nobody listens on now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _service_user() -> str | None:
    """Who runs the server: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", SERVICE_USER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            pass
    # Two xdist workers may race here: the loser's useradd fails, and the user exists all the same.
    subprocess.run(["useradd", "--system", "--no-create-home", SERVICE_USER], capture_output=True)
    pwd.getpwnam(SERVICE_USER)
    return SERVICE_USER


def _make_dir(path: Path, owner: str | None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    if owner:
        path.chmod(0o755)
        shutil.chown(path, owner, pwd.getpwnam(owner).pw_gid)
    return path


def _home(base_dir: Path, owner: str | None) -> tuple[Path, list[Path]]:
    """Where one cluster lives, and the dirs to remove with it. As root, a fresh dir under /tmp."""
    if owner:
        home = Path(tempfile.mkdtemp(prefix="pg", dir="/tmp"))
        return _make_dir(home, owner), [home]
    home = _make_dir(Path(base_dir), None)
    return home, [home / "data", home / "sock"]


def _socket_dir(home: Path, owner: str | None) -> tuple[Path, list[Path]]:
    """A dir short enough for a Unix socket's path: inside home if it can be, else a new one in /tmp."""
    if len(str(home / "sock")) <= SOCKET_DIR_MAX:
        return _make_dir(home / "sock", owner), []
    short = _make_dir(Path(tempfile.mkdtemp(prefix="pg", dir="/tmp")), owner)
    return short, [short]


def _write_settings(data_dir: Path, port: int, socket_dir: Path, owner: str | None) -> None:
    lines = [f"{key} = {value}" for key, value in SETTINGS.items()]
    lines += [f"port = {port}", f"unix_socket_directories = '{socket_dir}'"]
    (data_dir / SETTINGS_FILE).write_text("\n".join(lines) + "\n")
    (data_dir / "pg_hba.conf").write_text(HBA)
    if owner:
        shutil.chown(data_dir / SETTINGS_FILE, owner, pwd.getpwnam(owner).pw_gid)


def pid_alive(pid: int) -> bool:
    """True while pid runs (a zombie, dead but not yet reaped by init, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _children(pid: int) -> list[int]:
    """The processes whose parent is pid (the postmaster's backends and workers)."""
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(Path(stat).parent.name))
    return found


# Runs beside the tests: if the test process dies (its end of the pipe on our stdin closes with
# nothing written), stop the server at once and remove its files. A clean cleanup writes one byte.
_WATCHDOG = """
import json, os, shutil, subprocess, sys
job = json.loads(sys.argv[1])
if not os.read(0, 1):
    subprocess.run(job["stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for path in job["remove"]:
        shutil.rmtree(path, ignore_errors=True)
"""


class PgCluster(PgServer):
    """One throwaway PostgreSQL cluster: its data dir, its port, its server process."""

    def __init__(self, bindir: Path, home: Path, remove: list[Path], owner: str | None) -> None:
        self.bindir = bindir
        self.home = home
        self.data_dir = home / "data"
        self.log_file = home / "server.log"
        self.owner = owner
        self.port = 0
        self.socket_dir, more = _socket_dir(home, owner)
        self._remove = remove + more
        self._watchdog: subprocess.Popen | None = None
        self.standbys: list[PgCluster] = []  # removed with this cluster
        super().__init__("postgresql://")

    # -- making one ------------------------------------------------------------------------------

    @classmethod
    def start(cls, base_dir: Path) -> PgCluster:
        """initdb a new cluster (trust, UTF-8, superuser `locator`) and start it on a free port."""
        owner = _service_user()
        cluster = cls(find_bindir(), *_home(base_dir, owner), owner)
        try:
            cluster._initdb()
            cluster._launch()
        except BaseException:
            cluster.cleanup()
            raise
        return cluster

    def make_standby(self, base_dir: Path) -> PgCluster:
        """A streaming standby of this cluster (pg_basebackup -R), started on its own port."""
        standby = PgCluster(self.bindir, *_home(base_dir, self.owner), self.owner)
        try:
            standby._tool(
                "pg_basebackup", "-R", "-X", "stream", "-c", "fast", "-D", standby.data_dir, "-d", self.url()
            )
            standby._launch()
        except BaseException:
            standby.cleanup()
            raise
        self.standbys.append(standby)
        return standby

    def _initdb(self) -> None:
        # C.UTF-8 keeps lower() and ILIKE right for Cyrillic; plain C (ASCII case only) if it is missing.
        for locale in (["--locale=C.UTF-8"], ["--locale=C"]):
            done = self._tool(
                "initdb",
                "-D",
                self.data_dir,
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                *locale,
                check=False,
            )
            if done.returncode == 0:
                break
            shutil.rmtree(self.data_dir, ignore_errors=True)
        else:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()}")
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write(f"\ninclude_if_exists = '{SETTINGS_FILE}'\n")

    def _launch(self) -> None:
        """Start on a new free port, again on another only if someone took it in between."""
        _LIVE.add(self)
        self._start_watchdog()
        for _attempt in range(START_ATTEMPTS):
            self.port = free_port()
            self.base_url = f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"
            _write_settings(self.data_dir, self.port, self.socket_dir, self.owner)
            if self._pg_ctl_start():
                return
        raise RuntimeError(f"no free port after {START_ATTEMPTS} attempts")

    def _pg_ctl_start(self) -> bool:
        """pg_ctl start -w; False only on a port collision, any other failure raises."""
        logged = self.log_file.stat().st_size if self.log_file.exists() else 0
        done = self._tool(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            str(TIMEOUT_S),
            "-D",
            self.data_dir,
            "-l",
            self.log_file,
            check=False,
        )
        if done.returncode == 0:
            return True
        with open(self.log_file, errors="replace") as log:
            log.seek(logged)
            text = log.read()
        if "could not bind" in text:
            return False
        raise RuntimeError(f"postgres did not start:\n{done.stdout}{done.stderr}{text}")

    def _tool(self, name: str, *args, check: bool = True) -> subprocess.CompletedProcess:
        """Run one of PostgreSQL's programs as the server's user."""
        command = [str(self.bindir / name), *map(str, args)]
        if self.owner:
            command = ["runuser", "-u", self.owner, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.home)
        if check and done.returncode != 0:
            raise RuntimeError(f"{name} failed ({done.returncode}): {done.stderr.strip()}")
        return done

    # -- running -----------------------------------------------------------------------------------

    def is_running(self) -> bool:
        pid = self.postmaster_pid()
        return pid is not None and pid_alive(pid)

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop -m smart|fast|immediate, waiting until the server is gone."""
        if self.is_running():
            self._tool("pg_ctl", "stop", "-w", "-t", str(TIMEOUT_S), "-m", mode, "-D", self.data_dir)

    def start_again(self) -> None:
        """Start the stopped (or killed) cluster again: same data dir, same port."""
        self._remove_stale_locks()
        if not self._pg_ctl_start():
            raise RuntimeError(f"port {self.port} was taken while the cluster was stopped")

    def restart(self) -> None:
        self.stop()
        self.start_again()

    def kill(self) -> None:
        """SIGKILL the postmaster and every process of it at once (the server dies as in a power cut),
        and wait until they are gone, so start_again finds no shared memory still attached."""
        pid = self.postmaster_pid()
        if pid is None or not pid_alive(pid):
            return
        victims = [pid, *_children(pid)]
        for victim in victims:
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + TIMEOUT_S
        while any(pid_alive(victim) for victim in victims):
            if time.monotonic() > deadline:
                raise RuntimeError("postgres processes outlived SIGKILL")
            time.sleep(POLL_S)
        self._remove_stale_locks()

    def _remove_stale_locks(self) -> None:
        """Remove the lock files of a dead postmaster. It may stay a zombie until init reaps it, and
        postgres takes a zombie's PID in postmaster.pid for a server still running."""
        for lock in (self.data_dir / "postmaster.pid", self.socket_dir / f".s.PGSQL.{self.port}.lock"):
            try:
                pid = int(lock.read_text().split()[0])
            except (FileNotFoundError, IndexError, ValueError):
                continue
            if not pid_alive(pid):
                lock.unlink()

    def promote(self) -> None:
        """Turn this standby into a primary (pg_ctl promote -w: returns once it accepts writes)."""
        self._tool("pg_ctl", "promote", "-w", "-t", str(TIMEOUT_S), "-D", self.data_dir)

    def wait_caught_up(self, primary: PgServer, timeout: float = TIMEOUT_S) -> None:
        """Wait until this standby has replayed all the WAL the primary has written by now."""
        target = _lsn(primary.psql("SELECT pg_current_wal_lsn()::text")[0][0])
        deadline = time.monotonic() + timeout
        while True:
            replayed = self.psql("SELECT pg_last_wal_replay_lsn()::text")[0][0]
            if replayed and _lsn(replayed) >= target:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"standby replayed {replayed}, primary is at {target:X}")
            time.sleep(POLL_S)

    # -- the end -----------------------------------------------------------------------------------

    def cleanup(self) -> None:
        """Stop the server (fast, else by SIGKILL) and remove its files; its standbys' too."""
        for standby in self.standbys:
            standby.cleanup()
        try:
            self.stop("fast")
        except RuntimeError:
            self.kill()
        for path in self._remove:
            shutil.rmtree(path, ignore_errors=True)
        if self._watchdog is not None:
            self._watchdog.stdin.write(b"x")
            self._watchdog.stdin.close()
            self._watchdog.wait()
            self._watchdog = None
        _LIVE.discard(self)

    def _start_watchdog(self) -> None:
        if self._watchdog is not None:
            return
        stop = [str(self.bindir / "pg_ctl"), "stop", "-m", "immediate", "-D", str(self.data_dir)]
        if self.owner:
            stop = ["runuser", "-u", self.owner, "--", *stop]
        job = json.dumps({"stop": stop, "remove": [str(path) for path in self._remove]})
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, job], stdin=subprocess.PIPE, start_new_session=True
        )


def _lsn(text: str) -> int:
    """A WAL position "16/B374D848" as one number."""
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)


@atexit.register
def _cleanup_all() -> None:
    """The safety net: whatever the fixtures did not clean up is stopped and removed at exit."""
    for cluster in list(_LIVE):
        try:
            cluster.cleanup()
        except Exception as error:  # keep going: the other clusters still need stopping
            print(f"pg_cluster: cleanup of {cluster.data_dir} failed: {error}", file=sys.stderr)
