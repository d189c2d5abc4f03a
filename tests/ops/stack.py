"""The production processes as an operator runs them, on PostgreSQL databases of their own.

Each test of ``tests/ops`` gets a main database, a key store database and an application role
named after ``TEST_DATABASE_URL``'s database (``<name>_<suffix>``, ``<name>_<suffix>_keys``,
``<name>_<suffix>_app``), created afresh and dropped afterwards. Processes are started with
the Procfile's own command lines, in production mode, with every secret given as a file.
"""

from __future__ import annotations

import http.cookies
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from config import generate_secrets
from tests.integration.test_delivery_helpers import free_port, relaxed_policies

PG_URL = os.environ.get("TEST_DATABASE_URL")
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
APP_PASSWORD = "app-role-secret"
#: Every process must be gone this long after its SIGTERM.
STOP_BOUND_SECONDS = 10.0


def procfile() -> dict[str, str]:
    """The Procfile's process types and their command lines."""
    kinds = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            kinds[name.strip()] = command.strip()
    return kinds


@dataclass
class Databases:
    """A main database (migrated by its owner), its key store and the application's role."""

    main: str
    keys: str
    role: str

    @classmethod
    def named(cls, suffix: str) -> Databases:
        """The names for ``suffix`` under the test database's own name."""
        base = make_url(PG_URL).database
        return cls(f"{base}_{suffix}", f"{base}_{suffix}_keys", f"{base}_{suffix}_app")

    def url(self, database: str, role: str | None = None, password: str | None = None) -> str:
        """A URL to ``database`` as the test's (owner) user, or as ``role``."""
        url = make_url(PG_URL).set(database=database)
        if role is not None:
            url = url.set(username=role, password=password)
        return url.render_as_string(hide_password=False)

    @property
    def owner_url(self) -> str:
        """The main database as the schema's owner."""
        return self.url(self.main)

    @property
    def app_url(self) -> str:
        """The main database as the application's role."""
        return self.url(self.main, self.role, APP_PASSWORD)

    @property
    def keys_url(self) -> str:
        """The key store database."""
        return self.url(self.keys)

    def create(self) -> None:
        """Drop anything left by an earlier run, then create both databases."""
        self.drop()
        with _server() as connection:
            for name in (self.main, self.keys):
                connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop(self) -> None:
        """Drop both databases and the role, ending their sessions first."""
        with _server() as connection:
            for name in (self.main, self.keys):
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(text(f'DROP ROLE IF EXISTS "{self.role}"'))


class _server:
    """An autocommit connection to the server's maintenance database."""

    def __enter__(self):
        self.engine = create_engine(
            make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        self.connection = self.engine.connect()
        return self.connection

    def __exit__(self, *exc) -> None:
        self.connection.close()
        self.engine.dispose()


@dataclass
class Settings:
    """The production environment of every process: settings, and secrets as files."""

    folder: Path
    databases: Databases
    smtp_port: int
    web_port: int = field(default_factory=free_port)
    secrets: dict[str, str] = field(default_factory=generate_secrets)
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.policies = relaxed_policies(self.folder / "policies")
        self.credentials = self.folder / "credentials"
        self.credentials.mkdir()
        values = {**self.secrets, "DATABASE_URL": self.databases.app_url}
        values["ASSENSO_KEYSTORE_URL"] = self.databases.keys_url
        for name, value in values.items():
            (self.credentials / name.lower()).write_text(value + "\n")

    @property
    def base_url(self) -> str:
        """Where the web app answers."""
        return f"http://127.0.0.1:{self.web_port}"

    def environment(self, **more: str) -> dict[str, str]:
        """The environment of a process (nothing of the caller's Assenso settings)."""
        inherited = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("ASSENSO_", "DATABASE_URL", "TEST_", "OWNER_"))
        }
        files = {f"{name}_FILE": str(self.credentials / name.lower()) for name in self.secrets}
        return {
            **inherited,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "ASSENSO_ENV": "production",
            "ASSENSO_INSTANCE_PATH": str(self.folder / "instance"),
            **files,
            "DATABASE_URL_FILE": str(self.credentials / "database_url"),
            "ASSENSO_KEYSTORE_URL_FILE": str(self.credentials / "assenso_keystore_url"),
            "ASSENSO_POLICY_DIR": self.policies,
            "ASSENSO_PUBLIC_BASE_URL": self.base_url,
            "ASSENSO_SMTP_HOST": "127.0.0.1",
            "ASSENSO_SMTP_PORT": str(self.smtp_port),
            "ASSENSO_MAIL_FROM": "Shop <news@shop.example>",
            "ASSENSO_WEB_BIND": f"127.0.0.1:{self.web_port}",
            "WEB_CONCURRENCY": "2",
            "ASSENSO_WORKER_IDLE_SECONDS": "0.2",
            "ASSENSO_SCHEDULER_LOCK_POLL_SECONDS": "1",
            "ASSENSO_SCHEDULER_SYNC_SECONDS": "1",
            "ASSENSO_SCHEDULER_REFRESH_SECONDS": "1",
            **self.extra,
            **more,
        }

    def as_owner(self, *args: str) -> subprocess.CompletedProcess:
        """Run ``flask --app wsgi ARGS`` as the schema's owner (migrations, grants)."""
        environment = self.environment(
            DATABASE_URL=self.databases.owner_url,
            DATABASE_URL_FILE="",
            ASSENSO_APP_DATABASE_URL_FILE=str(self.credentials / "database_url"),
        )
        done = subprocess.run(
            ["flask", "--app", "wsgi", *args],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"flask {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done

    def app_overrides(self) -> dict:
        """Settings of an in-process application on the same databases and keys."""
        return {
            "DATABASE_URL": self.databases.owner_url,
            "KEYSTORE_URL": self.databases.keys_url,
            "POLICY_DIR": self.policies,
            **{name.removeprefix("ASSENSO_"): value for name, value in self.secrets.items()},
        }


@dataclass
class Process:
    """One started process: its kind, handle and log file."""

    kind: str
    popen: subprocess.Popen
    log: Path

    def output(self) -> str:
        """What it printed so far."""
        return self.log.read_text(errors="replace")


class Stack:
    """Processes started from the Procfile's command lines; stopped together with SIGTERM."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.commands = procfile()
        self.processes: list[Process] = []

    def start(self, kind: str, **environment: str) -> Process:
        """Start one process of ``kind`` exactly as the Procfile gives it."""
        index = sum(p.kind == kind for p in self.processes) + 1
        log = self.settings.folder / f"{kind}.{index}.log"
        with log.open("wb") as output:  # the child keeps its own copy of the descriptor
            popen = subprocess.Popen(
                ["/bin/sh", "-c", f"exec {self.commands[kind]}"],
                cwd=ROOT,
                env=self.settings.environment(**environment),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = Process(kind, popen, log)
        self.processes.append(process)
        return process

    def running(self) -> list[Process]:
        """The processes still alive."""
        return [p for p in self.processes if p.popen.poll() is None]

    def terminate(self, processes: list[Process] | None = None) -> dict[str, float]:
        """SIGTERM each process; the seconds each took to exit (killed ones included)."""
        chosen = self.running() if processes is None else processes
        started = time.monotonic()
        for process in chosen:
            process.popen.send_signal(signal.SIGTERM)
        took = {}
        for number, process in enumerate(chosen):
            try:
                process.popen.wait(timeout=max(0.1, started + 30 - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.popen.pid, signal.SIGKILL)
                process.popen.wait()
            took[f"{process.kind}.{number}"] = time.monotonic() - started
        return took

    def kill(self, process: Process) -> None:
        """SIGKILL the process (a crash: nothing runs on its way out)."""
        process.popen.send_signal(signal.SIGKILL)
        process.popen.wait(timeout=10)

    def close(self) -> None:
        """Stop whatever is still running (after a failed test)."""
        for process in self.running():
            os.killpg(process.popen.pid, signal.SIGKILL)
            process.popen.wait()

    def logs(self) -> str:
        """The tail of every process's output, to explain a failure."""
        return "\n".join(f"== {p.log.name}\n{p.output()[-3000:]}" for p in self.processes)


def wait_until(condition, timeout: float, step: float = 0.1):
    """Poll ``condition`` until it returns something true; that value, or None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return None


class Browser:
    """A tiny HTTP client with cookies (production cookies are Secure; this test talks HTTP)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.cookies: dict[str, str] = {}
        self.opener = urllib.request.build_opener(_NoRedirect)

    def request(self, path: str, data: dict | None = None) -> tuple[int, dict, str]:
        """GET (or POST ``data``) ``path``; returns status, headers and body (no redirects)."""
        url = path if path.startswith("http") else self.base_url + path
        body = None if data is None else urllib.parse.urlencode(data, doseq=True).encode()
        request = urllib.request.Request(url, data=body)
        if self.cookies:
            request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        try:
            response = self.opener.open(request, timeout=30)
        except urllib.error.HTTPError as error:
            response = error
        for header in response.headers.get_all("Set-Cookie") or []:
            jar = http.cookies.SimpleCookie()
            jar.load(header)
            self.cookies.update({name: morsel.value for name, morsel in jar.items()})
        return response.status, dict(response.headers), response.read().decode()

    def form(self, path: str, data: dict, page: str | None = None) -> tuple[int, dict, str]:
        """POST ``data`` with the CSRF token of the form on ``page`` (default ``path``)."""
        status, _, html = self.request(page or path)
        assert status == 200, f"GET {page or path}: {status}"
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
        token = token or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
        return self.request(path, {"csrf_token": token.group(1), **data})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Return redirects as they are: the tests look at where they point."""

    def redirect_request(self, *args, **kwargs):
        return None
