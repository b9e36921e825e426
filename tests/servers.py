"""Real MariaDB and PostgreSQL servers for the metadata-store tests.

Each server is Debian's package (`mariadb-server`, `postgresql`), installed with
apt-get when its binaries are missing (root only; anything else fails the tests,
it never skips them), started on 127.0.0.1 on a free port with its data in a
fresh temporary folder, and given a login whose password the tests keep secret.
No service manager is needed: the daemons are started here and stopped at the
end of the session.
"""

from __future__ import annotations

import dataclasses
import getpass
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator

#: the login every test store uses; its password is generated per session.
USER = "newlevels"
START_TIMEOUT = 60.0


@dataclasses.dataclass(frozen=True)
class Server:
    """A running database server."""

    scheme: str  # mysql or postgresql
    host: str
    port: int
    password: str = dataclasses.field(repr=False)
    #: seconds spent installing packages (0 when present) and starting the server.
    install_seconds: float
    start_seconds: float

    def url(self, database: str) -> str:
        """`--metadata` for `database` (MLMD creates it on first use)."""
        return f"{self.scheme}://{USER}@{self.host}:{self.port}/{database}"


def fresh_database_name(prefix: str) -> str:
    """A database name no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _install(package: str, binary_glob: str) -> float:
    """Installs `package` with apt-get unless `binary_glob` matches; returns the seconds spent."""
    if glob.glob(binary_glob):
        return 0.0
    if os.geteuid() != 0:
        raise RuntimeError(
            f"{package} is not installed and only root can install it: "
            f"run `apt-get install {package}` once, or run the tests as root"
        )
    started = time.monotonic()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "--no-install-recommends", package]
    if subprocess.run(command, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, check=True)
        subprocess.run(command, env=env, capture_output=True, check=True)
    return time.monotonic() - started


def _wait_for_port(port: int, process: subprocess.Popen | None, log: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    with open(log, encoding="utf-8", errors="replace") as handle:
        raise RuntimeError(f"the server on port {port} did not start:\n{handle.read()[-2000:]}")


def _as_user(user: str, command: list[str]) -> list[str]:
    """`command` run as `user` when we are root (PostgreSQL refuses to run as root)."""
    return ["runuser", "-u", user, "--", *command] if os.geteuid() == 0 else command


def _private_folder(prefix: str, owner: str) -> str:
    # Not under pytest's tmp folders: those are mode 0700 for root, and the
    # server runs as its own user.
    folder = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    if os.geteuid() == 0:
        shutil.chown(folder, owner, owner)
    return folder


def mariadb(password: str) -> Iterator[Server]:
    """Installs (if needed) and runs MariaDB until the generator is closed."""
    install = _install("mariadb-server", "/usr/sbin/mariadbd")
    started = time.monotonic()
    owner = "mysql" if os.geteuid() == 0 else getpass.getuser()
    folder = _private_folder("newlevels-mariadb-", owner)
    data, sock, log = f"{folder}/data", f"{folder}/sock", f"{folder}/server.log"
    user_flag = ["--user=mysql"] if os.geteuid() == 0 else []
    subprocess.run(
        [
            "mariadb-install-db",
            "--no-defaults",
            *user_flag,
            f"--datadir={data}",
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
        ],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    process = subprocess.Popen(
        [
            "/usr/sbin/mariadbd",
            "--no-defaults",
            *user_flag,
            f"--datadir={data}",
            f"--socket={sock}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--pid-file={folder}/server.pid",
            f"--log-error={log}",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=64M",
            "--innodb-flush-log-at-trx-commit=0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process, log)
        admin = "root" if os.geteuid() == 0 else owner
        grant = (
            f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{password}'; "
            f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'127.0.0.1';"
        )
        subprocess.run(
            ["mariadb", "--no-defaults", f"--socket={sock}", f"-u{admin}", "-e", grant],
            check=True,
            capture_output=True,
        )
        yield Server("mysql", "127.0.0.1", port, password, install, time.monotonic() - started)
    finally:
        process.terminate()
        process.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def postgresql(password: str) -> Iterator[Server]:
    """Installs (if needed) and runs PostgreSQL until the generator is closed."""
    install = _install("postgresql", "/usr/lib/postgresql/*/bin/initdb")
    started = time.monotonic()
    bin_dir = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
    owner = "postgres" if os.geteuid() == 0 else getpass.getuser()
    folder = _private_folder("newlevels-postgresql-", owner)
    data, log, pwfile = f"{folder}/data", f"{folder}/server.log", f"{folder}/superuser"
    with open(pwfile, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    if os.geteuid() == 0:
        shutil.chown(pwfile, owner, owner)
    subprocess.run(
        _as_user(
            owner,
            [
                f"{bin_dir}/initdb",
                "-D",
                data,
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        ),
        check=True,
        capture_output=True,
    )
    os.remove(pwfile)
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off"
    pg_ctl = [f"{bin_dir}/pg_ctl", "-D", data, "-l", log]
    subprocess.run(
        _as_user(owner, [*pg_ctl, "-o", options, "-w", "-t", str(int(START_TIMEOUT)), "start"]),
        check=True,
        capture_output=True,
    )
    try:
        _wait_for_port(port, None, log)
        create = f"CREATE ROLE {USER} LOGIN CREATEDB PASSWORD '{password}';"
        subprocess.run(
            [f"{bin_dir}/psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-c", create],
            env={**os.environ, "PGPASSWORD": password},
            check=True,
            capture_output=True,
        )
        yield Server("postgresql", "127.0.0.1", port, password, install, time.monotonic() - started)
    finally:
        subprocess.run(_as_user(owner, [*pg_ctl, "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
