"""JSON API benchmark: decisions (single and batch), consent writes, withdrawal webhooks.

Run from the repository root: ``python bench/api.py [--quick] [--database-url URL]``. It resets
the database it is given (PostgreSQL: ``BENCH_DATABASE_URL`` or ``TEST_DATABASE_URL``; without
one, a SQLite file), seeds customers who consented, starts gunicorn (``--web-workers``
processes) and one delivery worker, and drives the API with ``--clients`` keep-alive clients
(spread over several processes so the load generator is not held by one interpreter lock).
It prints, at the end::

    RESULT api_http_floor_rps <v> req/s         (the same clients against a bare WSGI answer)
    RESULT api_decisions_rps <v> req/s          (POST /decisions, one customer each; >= 1500)
    RESULT api_decisions_p99_ms <v> ms          (<= 25)
    RESULT api_flask_query_floor_rps <v> req/s  (the same clients against a Flask view making
                                                one indexed SELECT through SQLAlchemy)
    RESULT api_decisions_vs_floor <v> ratio
    RESULT api_decisions_vs_flask_floor <v> ratio
    RESULT api_decisions_per_web_cpu_s <v> req/CPU-s  (decisions per CPU second of gunicorn)
    RESULT api_batch_decisions_per_s <v> decisions/s  (POST /decisions/batch of 1,000; >= 50000)
    RESULT api_consent_writes_rps <v> req/s     (POST /consents and withdrawals; >= 500)
    RESULT webhook_withdrawal_p95_s <v> s       (withdrawal answered -> receiver has it; <= 1)

The floors are measured in the same run with the same client processes and gunicorn settings,
so the ratios divide figures taken on the same (shared) machine. The clients send requests
encoded in advance over plain sockets, so their own CPU (which shares the machine with the
server and the database) is small.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import logging
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import generate_secrets  # noqa: E402

logging.disable(logging.WARNING)
SECRETS = json.loads(os.environ.setdefault("BENCH_API_SECRETS", json.dumps(generate_secrets())))
FLOOR_APP = """
def app(environ, start_response):
    body = b'{"outcome":"deny"}'
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    environ["wsgi.input"].read()
    return [body]
"""
#: The second floor: what any Flask view reaches with one indexed query (a customer by primary
#: key, the statement built per call as views do) on the same database, through SQLAlchemy.
FLASK_FLOOR_APP = """
import os

from flask import Flask, request
from sqlalchemy import column, create_engine, select, table

engine = create_engine(os.environ["TEST_DATABASE_URL"])
customers = table("customers", column("id"), column("jurisdiction"))
app = Flask(__name__)


@app.post("/")
def one_query():
    number = int(request.get_json()["customer"]["reference"][1:])
    with engine.connect() as connection:
        row = connection.execute(
            select(customers.c.id, customers.c.jurisdiction).where(customers.c.id == number + 1)
        ).first()
    return {"outcome": "deny", "found": row is not None}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(url: str, keystore: str) -> dict[str, str]:
    """The settings every process of the run shares (same database, keys and secrets)."""
    return {
        **os.environ,
        **SECRETS,
        "ASSENSO_ENV": "testing",
        "TEST_DATABASE_URL": url,  # the testing environment's names for the two stores
        "TEST_KEYSTORE_URL": keystore,
        "ASSENSO_WORKER_IDLE_SECONDS": "0.05",
        "ASSENSO_WEBHOOK_RETRY_BASE_SECONDS": "0.5",
    }


def build(url: str, keystore: str, customers: int, receiver_url: str):
    """Reset and seed the database; returns the API key."""
    os.environ.update(environment(url, keystore))
    from flask_migrate import upgrade
    from sqlalchemy import create_engine, text

    from app import create_app
    from app.extensions import db
    from app.integrations.api_keys import SCOPES, create_key
    from app.integrations.ledger_feed import fan_out_ledger
    from app.integrations.subscriptions import create_subscription
    from app.ledger import consent
    from app.ledger.notices import publish_notice
    from app.vault.service import register_customer

    if url.startswith("postgresql"):  # before the app checks its stores against the old data
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    app = create_app("testing")
    with app.app_context():
        upgrade()
        db.drop_all(bind_key="keystore")
        db.create_all(bind_key="keystore")
        session = db.session()
        notice = publish_notice(
            session, purpose="offers", language="en", title="Offers", text="We send offers."
        )
        started = time.perf_counter()
        for number in range(customers):
            customer = register_customer(
                session,
                email=f"c{number}@bench.example",
                jurisdiction="IT",
                reference=f"c{number}",
            )
            customer.email_verified = True
            session.commit()
            consent.grant(
                session,
                customer,
                purpose="offers",
                channel="email",
                notice=notice,
                source="api",
                method="api",
                actor="bench",
                skip_double_opt_in=True,
            )
        print(f"seeded {customers} customers in {time.perf_counter() - started:.1f} s")
        _row, key = create_key(
            session,
            name="bench",
            scopes=SCOPES,
            created_by="bench",
            rate_limit="1000000 per minute",
        )
        fan_out_ledger(session)  # the cursor starts after the seed
        create_subscription(
            session, url=receiver_url, event_types=["consent.withdrawn"], created_by="bench"
        )
        notice_id = notice.id
        if db.engine.dialect.name == "postgresql":  # fresh statistics, as autovacuum keeps them
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")
    return key, notice_id


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)


def wait_for(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on port {port}")


def _request(path: str, key: str, body: dict) -> bytes:
    payload = json.dumps(body).encode()
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {key}\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload


def _exchange(connection: socket.socket, request: bytes) -> tuple[int, bool]:
    """Send one request and read its answer: (status, whether the connection stays open)."""
    connection.sendall(request)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        if not chunk:
            raise RuntimeError("the server closed the connection before answering")
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").lower().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    remaining = int(headers.get("content-length", "0")) - len(body)
    while remaining > 0:
        chunk = connection.recv(min(remaining, 65536))
        if not chunk:
            break
        remaining -= len(chunk)
    return int(lines[0].split()[1]), headers.get("connection") != "close"


def _client(args) -> list[float]:
    """One client thread's loop: POSTs until the deadline, on one connection while the server
    keeps it open; its latencies (s). The requests are encoded before the clock starts and
    the answers read from the socket without an HTTP library, so the load generator spends
    little of the CPU the server needs."""
    port, path, make_body, key, deadline, seed = args
    rng = random.Random(seed)
    requests = [_request(path, key, make_body(rng)) for _ in range(8 if "batch" in path else 256)]
    connection = None
    latencies = []
    for number in itertools.count():
        if time.monotonic() >= deadline:
            break
        sent = time.perf_counter()
        if connection is None:
            connection = socket.create_connection(("127.0.0.1", port), timeout=300)
        status, open_ = _exchange(connection, requests[number % len(requests)])
        if status >= 500:
            raise RuntimeError(f"{path} answered {status}")
        latencies.append(time.perf_counter() - sent)
        if not open_:
            connection.close()
            connection = None
    if connection is not None:
        connection.close()
    return latencies


def _process(args) -> tuple[list[float], float]:
    port, path, kind, key, seconds, threads, customers, notice_id, seed = args
    maker = BODIES[kind](customers, notice_id)
    deadline = time.monotonic() + seconds  # from this process's start (spawning takes a while)
    results: list[list[float]] = [[] for _ in range(threads)]

    def run(index: int) -> None:
        results[index] = _client((port, path, maker, key, deadline, seed * 100 + index))

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return [lat for part in results for lat in part], time.monotonic() - started


def _decision(customers, _notice):
    return lambda rng: {
        "customer": {"reference": f"c{rng.randrange(customers)}"},
        "purpose": "offers",
        "channel": "email",
    }


def _batch(customers, _notice):
    return lambda rng: {
        "purpose": "offers",
        "channel": "email",
        "customers": [{"reference": f"c{rng.randrange(customers)}"} for _ in range(1000)],
    }


def _consent(customers, notice_id):
    def body(rng):
        return {
            "customer": {"reference": f"c{rng.randrange(customers)}"},
            "purpose": "offers",
            "channel": "email",
            "notice_id": notice_id,
            "evidence": {"ip_address": "203.0.113.9", "user_agent": "bench"},
        }

    return body


BODIES = {"decision": _decision, "batch": _batch, "consent": _consent, "floor": _decision}


def drive(port, path, kind, key, seconds, clients, customers, notice_id=0):
    """``clients`` keep-alive clients in up to 4 processes for ``seconds``; (requests per
    second over the time the clients really ran, latencies)."""
    processes = min(4, clients)
    per = clients // processes
    jobs = [
        (port, path, kind, key, seconds, per, customers, notice_id, seed)
        for seed in range(processes)
    ]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        parts = pool.map(_process, jobs)
    latencies = sorted(lat for part, _elapsed in parts for lat in part)
    elapsed = max(elapsed for _part, elapsed in parts)
    return len(latencies) / elapsed, latencies


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and all its descendants, from Linux's /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))] if values else float("nan")


class Receiver:
    """The webhook receiver: when each withdrawal arrived, by ledger record id."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.arrived[body["data"]["record_id"]] = time.perf_counter()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def webhook_latencies(port, key, receiver, customers, notice_id, count):
    """Give and withdraw consent ``count`` times; seconds from the withdrawal's answer to its
    arrival at the receiver."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    answered: dict[str, float] = {}
    for number in range(count):
        who = {"reference": f"c{number % customers}"}
        body = {"customer": who, "purpose": "offers", "channel": "email", "notice_id": notice_id}
        connection.request("POST", "/api/v1/consents", body=json.dumps(body), headers=headers)
        connection.getresponse().read()
        body.pop("notice_id")
        connection.request(
            "POST", "/api/v1/consents/withdrawals", body=json.dumps(body), headers=headers
        )
        response = connection.getresponse()
        record = json.loads(response.read())["record_id"]
        answered[record] = time.perf_counter()
        time.sleep(0.1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not set(answered) <= set(receiver.arrived):
        time.sleep(0.05)
    return sorted(receiver.arrived.get(r, float("inf")) - t for r, t in answered.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small, short run")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL"),
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--customers", type=int, default=None)
    options = parser.parse_args()
    seconds = options.seconds or (3 if options.quick else 15)
    customers = options.customers or (200 if options.quick else 5000)
    folder = Path(tempfile.mkdtemp(prefix="assenso-bench-api-"))
    url = options.database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
    keystore = f"sqlite:///{folder / 'keys.sqlite3'}"
    print(f"database: {url.split('@')[-1]}; {options.clients} clients; {seconds} s per figure")
    receiver = Receiver()
    key, notice_id = build(url, keystore, customers, receiver.url)
    env = environment(url, keystore)
    processes = []

    def floor_command(module: str, on_port: int) -> list[str]:
        """gunicorn as the application's is run, serving ``module``'s ``app`` from ``folder``."""
        return [
            *(sys.executable, "-m", "gunicorn", "-w", str(options.web_workers)),
            *("-b", f"127.0.0.1:{on_port}", "--chdir", str(folder), f"{module}:app"),
        ]

    try:
        floor_port = free_port()
        (folder / "floor.py").write_text(FLOOR_APP)
        processes.append(start(floor_command("floor", floor_port), env))
        flask_floor_port = free_port()
        (folder / "flask_floor.py").write_text(FLASK_FLOOR_APP)
        processes.append(start(floor_command("flask_floor", flask_floor_port), env))
        port = free_port()
        web_server = start(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "gunicorn.conf.py",
                "-w",
                str(options.web_workers),
                "-b",
                f"127.0.0.1:{port}",
                "wsgi:app",
            ],
            env,
        )
        processes.append(web_server)
        processes.append(
            start([sys.executable, "-m", "flask", "--app", "worker", "worker", "run"], env)
        )
        wait_for(floor_port)
        wait_for(flask_floor_port)
        wait_for(port)
        clients = options.clients
        # Warm-up, not counted: every web process has loaded the application and the policies, and
        # every process of the Flask floor has its database connection.
        drive(port, "/api/v1/decisions", "decision", key, 2, clients, customers)
        drive(flask_floor_port, "/", "floor", key, 1, clients, customers)
        floor_rps, _ = drive(floor_port, "/", "floor", key, seconds, clients, customers)
        print(f"floor: {floor_rps:.0f} req/s")
        flask_rps, _ = drive(flask_floor_port, "/", "floor", key, seconds, clients, customers)
        print(f"Flask view with one query: {flask_rps:.0f} req/s")
        web = web_server.pid
        cpu_before = cpu_seconds(web)
        rps, lat = drive(port, "/api/v1/decisions", "decision", key, seconds, clients, customers)
        per_cpu = len(lat) / max(cpu_seconds(web) - cpu_before, 1e-9)
        p99 = percentile(lat, 0.99) * 1000
        p50 = percentile(lat, 0.5) * 1000
        print(f"decisions: {rps:.0f} req/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        print(f"decisions per CPU second of the web processes: {per_cpu:.0f}")
        batches, lat = drive(
            port, "/api/v1/decisions/batch", "batch", key, seconds, clients, customers
        )
        batch = batches * 1000
        print(f"batch: {batch:.0f} decisions/s (p99 {percentile(lat, 0.99) * 1000:.0f} ms a batch)")
        writes, lat = drive(
            port, "/api/v1/consents", "consent", key, seconds, clients, customers, notice_id
        )
        print(f"consent writes: {writes:.0f} req/s, p99 {percentile(lat, 0.99) * 1000:.1f} ms")
        delays = webhook_latencies(
            port, key, receiver, customers, notice_id, 20 if options.quick else 100
        )
        p95 = percentile(delays, 0.95)
        print(f"withdrawal webhooks: p50 {percentile(delays, 0.5):.3f} s, p95 {p95:.3f} s")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)
    print(f"RESULT api_http_floor_rps {floor_rps:.0f} req/s")
    print(f"RESULT api_decisions_rps {rps:.0f} req/s")
    print(f"RESULT api_decisions_p99_ms {p99:.1f} ms")
    print(f"RESULT api_flask_query_floor_rps {flask_rps:.0f} req/s")
    print(f"RESULT api_decisions_vs_floor {rps / floor_rps:.3f} ratio")
    print(f"RESULT api_decisions_vs_flask_floor {rps / flask_rps:.3f} ratio")
    print(f"RESULT api_decisions_per_web_cpu_s {per_cpu:.0f} req/CPU-s")
    print(f"RESULT api_batch_decisions_per_s {batch:.0f} decisions/s")
    print(f"RESULT api_consent_writes_rps {writes:.0f} req/s")
    print(f"RESULT webhook_withdrawal_p95_s {p95:.3f} s")


if __name__ == "__main__":
    main()
