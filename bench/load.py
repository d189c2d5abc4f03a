"""Load benchmark: simulated customers in the portal and staff in the consoles, on gunicorn and
PostgreSQL, driven by Locust in headless mode.

Run from the repository root: ``python bench/load.py [--quick] [--duration SECONDS]
[--users N] [--database-url URL]``. It creates two PostgreSQL databases of its own beside the
one given (``<name>_load`` and ``<name>_load_keys``; the URL defaults to
``BENCH_DATABASE_URL``, then ``TEST_DATABASE_URL``), migrates them, seeds the demo's staff and
notices, N customers with passwords and a crowd of other customers, starts gunicorn with the
repository's ``gunicorn.conf.py`` (``--web-workers`` processes, rate-limit counters in Redis
when it answers at ``--redis-url``), and runs ``bench/locustfiles/portal.py``: each customer
signs in once, then reads their pages and changes their contact limits, thinking one to three
seconds between pages; two staff members browse their consoles. Then it stops gunicorn and
drops the databases.

Sign-in (argon2id, by design slow) is timed apart from the portal's pages. ``/healthz`` is
timed in the same run as the floor of what this machine answers under the same load, and the
web processes' CPU time per request is the cost that other work on the machine barely moves.
Prints p95 per page, then ``RESULT portal_p95_ms``, ``RESULT portal_rps``, ``RESULT
load_errors`` and the others; exits 1 when any request failed. Without a PostgreSQL URL it
says so and stops (exit 0).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
PASSWORD = "load-test customer passphrase 2026"
LOCUSTFILE = ROOT / "bench" / "locustfiles" / "portal.py"
PORTAL_PAGES = ("/me/", "/me/data", "/me/contact", "/me/history", "/me/account", "/healthz")
#: What each staff member browses: role, home, other pages.
CONSOLES = (
    ("marketer@example.com", "/marketing/", ["/marketing/campaigns", "/marketing/calendar"]),
    ("compliance@example.com", "/compliance/", ["/compliance/requests", "/compliance/ledger"]),
)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile ``share`` (0-1) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


class Databases:
    """The benchmark's main database and key store, beside the one named by ``url``."""

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self.server = make_url(url)
        base = self.server.database
        self.names = (f"{base}_load", f"{base}_load_keys")

    def url(self, name: str) -> str:
        """The URL of database ``name`` on the same server."""
        return self.server.set(database=name).render_as_string(hide_password=False)

    def _run(self, *statements: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                for statement in statements:
                    connection.execute(text(statement))
        finally:
            engine.dispose()

    def create(self) -> None:
        """Drop what an earlier run left, then create both databases."""
        self.drop()
        self._run(*(f'CREATE DATABASE "{name}"' for name in self.names))

    def drop(self) -> None:
        """Drop both databases, ending their sessions first."""
        for name in self.names:
            self._run(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()",
                f'DROP DATABASE IF EXISTS "{name}"',
            )


def redis_answers(url: str) -> bool:
    """Whether Redis answers at ``url``."""
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def seed(settings: dict[str, str], customers: int, crowd: int) -> dict:
    """Migrate, then seed staff, notices, ``customers`` who can sign in and ``crowd`` others."""
    import random

    from flask_migrate import upgrade

    from app import create_app
    from app.accounts.passwords import hash_password
    from app.demo.people import DemoPerson, demo_people
    from app.demo.seed import STAFF_PASSWORD, seed_customer, seed_notices, seed_staff
    from app.extensions import db

    logging.disable(logging.INFO)  # the migration's and policies' lines say nothing here
    app = create_app("development", **settings)
    rng = random.Random(11)
    started = time.perf_counter()
    with app.app_context():
        upgrade()
        session = db.session()
        seed_staff(session)
        seed_notices(session)
        password_hash = hash_password(PASSWORD)
        accounts = []
        for index, person in enumerate(demo_people(customers, seed=31)):
            email = f"load{index}@bench.example"
            signed = DemoPerson(email, person.profile, person.language, "IT", person.timezone)
            seed_customer(session, signed, rng, password_hash=password_hash)
            accounts.append({"email": email, "password": PASSWORD})
        warm = DemoPerson("warm-up@bench.example", {}, "en", "IT", "Europe/Rome")
        seed_customer(session, warm, rng, password_hash=password_hash)
        for person in demo_people(crowd, seed=32):
            seed_customer(session, person, rng)
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    print(
        f"seeded {customers} customers who sign in and {crowd} others in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    staff = [
        {"email": email, "password": STAFF_PASSWORD, "home": home, "pages": pages}
        for email, home, pages in CONSOLES
    ]
    warm_up = {"email": "warm-up@bench.example", "password": PASSWORD}
    return {"customers": accounts, "staff": staff, "warm_up": warm_up}


def variable(name: str) -> str:
    """The environment variable of the setting overridden as ``name`` (``DATABASE_URL``,
    ``ASSENSO_LOG_FORMAT``)."""
    from app.settings.load import declarations, override_name

    return {override_name(spec): spec.variable for spec in declarations().values()}[name]


def free_port() -> int:
    """A TCP port nobody listens on now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_web(environment: dict[str, str], log: Path) -> subprocess.Popen:
    """gunicorn with the repository's configuration, in a process group of its own."""
    with log.open("wb") as output:
        return subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until_up(base_url: str, web: subprocess.Popen, timeout: float = 90) -> None:
    """Return once ``/healthz`` answers 200; fail when gunicorn exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise SystemExit("gunicorn stopped before it answered; see its log above")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"gunicorn did not answer within {timeout:.0f} s")


def web_cpu_seconds(web: subprocess.Popen) -> float:
    """CPU time (user and system) used so far by gunicorn's arbiter and workers."""
    import psutil

    arbiter = psutil.Process(web.pid)
    processes = [arbiter, *arbiter.children(recursive=True)]
    return sum(sum(p.cpu_times()[:2]) for p in processes if p.is_running())


def stop_web(web: subprocess.Popen) -> None:
    """SIGTERM gunicorn's group; SIGKILL it if it is still there after 15 s."""
    if web.poll() is None:
        os.killpg(web.pid, signal.SIGTERM)
        try:
            web.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(web.pid, signal.SIGKILL)
            web.wait()


def warm_up(base_url: str, accounts: dict, workers: int) -> None:
    """Open every page a few times per gunicorn worker before measuring: a worker's first
    requests import modules, compile templates and open database connections."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    def signed_in(form: str, account: dict) -> requests.Session:
        session = requests.Session()
        page = session.get(base_url + form, timeout=60).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        data = {"email": account["email"], "password": account["password"]}
        data["csrf_token"] = token.group(1) if token else ""
        session.post(base_url + form, data=data, allow_redirects=False, timeout=60)
        return session

    started = time.perf_counter()
    visits = [(signed_in("/login", accounts["warm_up"]), path) for path in PORTAL_PAGES]
    for account in accounts["staff"]:
        staff = signed_in("/staff/login", account)
        visits += [(staff, path) for path in (account["home"], *account["pages"])]
    with ThreadPoolExecutor(workers) as pool:
        list(
            pool.map(
                lambda visit: visit[0].get(base_url + visit[1], timeout=60), visits * 3 * workers
            )
        )
    print(f"warmed up in {time.perf_counter() - started:.1f} s", flush=True)


def run_locust(base_url: str, options, folder: Path, accounts: dict) -> Path:
    """Run the Locust users headless for ``options.duration`` seconds; the samples' file."""
    accounts_file, samples = folder / "accounts.json", folder / "samples.jsonl"
    accounts_file.write_text(json.dumps(accounts))
    environment = {
        **os.environ,
        "LOAD_ACCOUNTS": str(accounts_file),
        "LOAD_SAMPLES": str(samples),
        "LOAD_STAFF": str(options.staff),
    }
    command = [
        str(BIN / "locust"),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "--host",
        base_url,
        "--users",
        str(options.users + options.staff),
        "--spawn-rate",
        str(options.spawn_rate),
        "--run-time",
        f"{options.duration}s",
        "--stop-timeout",
        "5",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]
    print(
        f"locust: {options.users} customers and {options.staff} staff for {options.duration} s",
        flush=True,
    )
    subprocess.run(command, cwd=ROOT, env=environment, check=True, timeout=options.duration + 300)
    return samples


def report(samples_file: Path, duration: float, target_ms: float, cpu_seconds: float) -> int:
    """Print p95 per page and the RESULT lines; the number of failed requests.

    ``cpu_seconds`` (the web processes' CPU time during the run) over the requests served is
    the cost of a request, which other work on the machine barely moves; the percentiles
    move with it."""
    by_name: dict[str, list[float]] = defaultdict(list)
    by_group: dict[str, list[float]] = defaultdict(list)
    failures: dict[str, int] = defaultdict(int)
    for line in samples_file.read_text().splitlines():
        group, name, milliseconds, failed = json.loads(line)
        by_name[name].append(milliseconds)
        by_group[group].append(milliseconds)
        failures[name] += bool(failed)
    print(f"{'page':44} {'requests':>9} {'failed':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name in sorted(by_name):
        times = by_name[name]
        print(
            f"{name:44} {len(times):9d} {failures[name]:7d} {percentile(times, 0.5):8.1f} "
            f"{percentile(times, 0.95):8.1f} {max(times):8.1f}"
        )
    errors = sum(failures.values())
    portal = by_group["portal"]
    for group in ("portal", "console", "sign-in", "baseline"):
        if by_group[group]:
            name = {"sign-in": "sign_in", "baseline": "baseline_healthz"}.get(group, group)
            print(f"RESULT {name}_p95_ms {percentile(by_group[group], 0.95):.1f} ms")
    print(f"RESULT portal_rps {len(portal) / duration:.1f} req/s")
    print(f"RESULT load_requests {sum(len(t) for t in by_name.values())} requests")
    print(f"RESULT load_errors {errors} errors")
    served = sum(len(t) for t in by_name.values())
    print(f"RESULT web_cpu_ms_per_request {cpu_seconds * 1000 / max(1, served):.1f} ms")
    if portal:
        print(f"RESULT portal_p95_vs_target {percentile(portal, 0.95) / target_ms:.2f} ratio")
    return errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 customers for 20 s")
    parser.add_argument("--duration", type=int, default=300, help="seconds of load (300)")
    parser.add_argument("--users", type=int, default=50, help="simulated customers (50)")
    parser.add_argument("--staff", type=int, default=2, choices=(0, 1, 2), help="staff (2)")
    parser.add_argument("--spawn-rate", type=float, default=5.0, help="users started per second")
    parser.add_argument("--crowd", type=int, default=1000, help="other customers in the database")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--target-ms", type=float, default=100.0, help="portal p95 target")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL"),
        help="a PostgreSQL database on the server to use (its name prefixes the bench's own)",
    )
    options = parser.parse_args()
    if options.quick:
        options.duration, options.users, options.staff, options.crowd = 20, 10, 1, 100
    if not (options.database_url or "").startswith("postgresql"):
        print("bench/load.py needs PostgreSQL: set BENCH_DATABASE_URL (or --database-url)")
        return 0
    databases = Databases(options.database_url)
    databases.create()
    folder = Path(tempfile.mkdtemp(prefix="assenso-load-"))
    port = free_port()
    redis_ok = redis_answers(options.redis_url)
    settings = {
        "INSTANCE_PATH": str(folder / "instance"),
        "DATABASE_URL": databases.url(databases.names[0]),
        "KEYSTORE_URL": databases.url(databases.names[1]),
        "DEV_MAILBOX": "false",
        "LOG_FORMAT": "json",
        "RATELIMIT_STORAGE_URI": options.redis_url if redis_ok else "memory://",
        "RATELIMIT_KEY_PREFIX": f"bench-load-{uuid.uuid4().hex[:8]}",
        # Every simulated customer signs in from 127.0.0.1: the per-address limit would
        # refuse all but ten a minute. The per-account limit stays as configured.
        "LOGIN_RATE_LIMIT": "100000 per minute",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    print(
        f"rate-limit counters in {settings['RATELIMIT_STORAGE_URI']}; "
        f"gunicorn with {options.web_workers} workers on port {port}",
        flush=True,
    )
    web = None
    try:
        accounts = seed(settings, options.users, options.crowd)
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("ASSENSO_", "DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR"))
        }
        environment.update({variable(name): value for name, value in settings.items()})
        environment.update(
            ASSENSO_ENV="development",
            ASSENSO_WEB_BIND=f"127.0.0.1:{port}",
            WEB_CONCURRENCY=str(options.web_workers),
        )
        web = start_web(environment, folder / "web.log")
        base_url = f"http://127.0.0.1:{port}"
        wait_until_up(base_url, web)
        warm_up(base_url, accounts, options.web_workers)
        started, cpu_before = time.monotonic(), web_cpu_seconds(web)
        samples = run_locust(base_url, options, folder, accounts)
        duration = min(time.monotonic() - started, float(options.duration))
        cpu = web_cpu_seconds(web) - cpu_before
    finally:
        if web is not None:
            stop_web(web)
        server_errors = _server_errors(folder / "web.log")
        databases.drop()
    print(f"RESULT load_server_errors {server_errors} lines")
    errors = report(samples, duration, options.target_ms, cpu)
    return 1 if errors or server_errors else 0


def _server_errors(log: Path) -> int:
    """Lines of gunicorn's log at level error or above (each one printed)."""
    count = 0
    if not log.exists():
        return count
    for line in log.read_text(errors="replace").splitlines():
        try:
            level = json.loads(line).get("level")
        except ValueError:
            level = "error"  # every line of the application is JSON
        if level in ("error", "critical", "exception"):
            count += 1
            print(f"server: {line[:300]}")
    return count


if __name__ == "__main__":
    sys.exit(main())
