"""gunicorn as production runs it, for the tests that need real servers (the soak and crash tests,
the several-node tests): start on a free loopback port, kill the whole process group, one
keep-alive HTTP client, and the flask CLI with a clean environment.

A server may run from another copy of the project (``project``): each node of a several-node test
runs its own files, as separate machines would.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from locator.config import SETTINGS

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's: every copy of the project runs on it
HOST = "127.0.0.1"
START_TIMEOUT_S = 60  # gunicorn boots in ~3 s alone; the suite runs beside it with -n 2
REQUEST_TIMEOUT_S = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without any locator setting from the shell, plus these."""
    names = {setting.env for setting in SETTINGS}
    return {key: value for key, value in os.environ.items() if key not in names} | settings


def live_members(group: int) -> list[int]:
    """Processes of this process group that still run (zombies excluded), read from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended while we looked
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after its last ")"
        state, _, pgrp = text.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == group and state != "Z":
            members.append(int(stat.parent.name))
    return members


class Gunicorn:
    """The app on gunicorn with the documented settings (2 workers, each with 2 read threads and 2
    write threads), in a session of its own: the master and its workers form one process group,
    killed as one."""

    def __init__(
        self,
        database: Path,
        log: Path,
        ready_path: str,
        options=(),
        *,
        project: Path = PROJECT,
        **settings: str,
    ):
        self.database, self.log, self.ready_path = database, log, ready_path
        self.options, self.settings, self.project = list(options), settings, project
        self.process: subprocess.Popen | None = None
        self.port = 0

    def start(self) -> Gunicorn:
        for _ in range(3):  # another test may take the free port before gunicorn binds it
            self.port = free_port()
            env = clean_env(
                LOCATOR_DB=str(self.database),
                LOCATOR_SEED_FILE="",
                BIND=f"{HOST}:{self.port}",
                WEB_CONCURRENCY="2",  # (threads: the documented default, 2 plus the write lane's)
                ACCESS_LOG="0",
                **self.settings,
            )
            # --no-control-socket: parallel servers would otherwise share ~/.gunicorn/gunicorn.ctl
            command = [str(BIN / "gunicorn"), "--config", "scripts/gunicorn.conf.py", "--no-control-socket"]
            command += self.options
            with self.log.open("a") as log:
                self.process = subprocess.Popen(
                    [*command, "app:app"],
                    cwd=self.project,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            try:
                ready = self._wait_until_ready()
            except BaseException:
                self.stop()
                raise
            if ready:
                return self
            self.stop()
            assert "Address already in use" in self.log_text(), self.log_text()[-3000:]
        raise AssertionError(f"gunicorn found no free port:\n{self.log_text()[-3000:]}")

    def _wait_until_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT_S
        while self.process.poll() is None:
            probe = Client(self.port)
            try:
                if probe.call("GET", self.ready_path)[0] == 200:
                    return True
            except (OSError, http.client.HTTPException):
                pass
            finally:
                probe.close()
            assert time.monotonic() < deadline, f"gunicorn did not answer:\n{self.log_text()[-3000:]}"
            time.sleep(0.1)
        return False

    def kill(self) -> None:
        """SIGKILL the master and every worker at once, as a crash or the OOM killer would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._wait_until_gone(10)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), by force if that takes too long; leave no process behind."""
        if self.process is None:
            return
        group = self.process.pid
        if live_members(group):
            os.killpg(group, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(group, signal.SIGKILL)
            self.process.wait(timeout=10)
        if not self._wait_until_gone(10):
            os.killpg(group, signal.SIGKILL)
            assert self._wait_until_gone(10), f"gunicorn processes left: {live_members(group)}"

    def _wait_until_gone(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while live_members(self.process.pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@contextmanager
def serving(database: Path, log: Path, ready_path: str, options=(), **settings: str) -> Iterator[Gunicorn]:
    server = Gunicorn(database, log, ready_path, options, **settings)
    try:
        yield server.start()
    finally:
        server.stop()


class Client:
    """One keep-alive HTTP/1.1 connection, reopened by http.client after the server closes it."""

    def __init__(self, port: int, timeout: float = REQUEST_TIMEOUT_S):
        self.connection = http.client.HTTPConnection(HOST, port, timeout=timeout)

    def call(
        self, method: str, path: str, body=None, headers=None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        payload = json.dumps(body).encode() if body is not None else None
        headers = (headers or {}) | ({"Content-Type": "application/json"} if payload else {})
        try:
            self.connection.request(method, path, body=payload, headers=headers)
            response = self.connection.getresponse()
            return response.status, response.headers, response.read()
        except BaseException:
            self.connection.close()  # never reuse a connection left mid-response
            raise

    def close(self) -> None:
        self.connection.close()


def flask_cli(
    database: Path, *args: str, stdin: str = "", seed: str = "", project: Path = PROJECT, **settings: str
) -> str:
    """Run `flask --app app ...` on this database (and any other settings); its output."""
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "app", *args],
        cwd=project,
        env=clean_env(LOCATOR_DB=str(database), LOCATOR_SEED_FILE=seed, **settings),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout
