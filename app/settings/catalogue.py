"""Every setting of Assenso, declared once: variable, type, default per environment, check, use.

The README's settings table is generated from these declarations (``python -m
app.settings.readme --write``); a test fails when the two differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_network
from pathlib import Path

from app.settings.declare import (
    ENVIRONMENTS,
    Defaults,
    Network,
    choice,
    declared,
    flag,
    long_secret,
    networks,
    number,
    path,
    rate_limit,
    sqlalchemy_url,
    text,
    web_url,
    whole,
)
from config import BASE_DIR, embedded_keystore_url

PRODUCTION = ("production",)
_CURRENCIES = ("EUR", "USD", "GBP", "CHF", "SEK", "DKK", "NOK", "PLN", "CZK", "HUF", "CAD", "AUD")


def _database(d: Defaults) -> str | None:
    if d.environment == "testing":
        return "sqlite://"
    return f"sqlite:///{d.values['instance_path'] / 'assenso.sqlite3'}"


def _keystore(d: Defaults) -> str | None:
    if d.environment == "testing":
        return "sqlite://"
    return embedded_keystore_url(d.values["database_url"], d.values["instance_path"])


def _secret(variable: str):
    return lambda d: d.secrets()[variable]


GENERATED = "generated in development (`instance/secrets.json`), required in production"


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """The application's settings, read and checked once when it starts."""

    environment: str = declared(
        "ASSENSO_ENV",
        "how the application runs: `development`, `testing` (the test suite) or `production`",
        choice(*ENVIRONMENTS),
        "development",
    )
    instance_path: Path = declared(
        "ASSENSO_INSTANCE_PATH",
        "folder of the embedded database, its key store, development secrets and mailbox",
        path,
        BASE_DIR / "instance",
        shown="`instance/` in the repository",
    )
    database_url: str = declared(
        "DATABASE_URL",
        "SQLAlchemy URL, e.g. `postgresql+psycopg://user@host/assenso` (the test suite reads "
        "`TEST_DATABASE_URL` instead)",
        sqlalchemy_url,
        _database,
        shown="SQLite `instance/assenso.sqlite3` (WAL, checkpointed by a background thread "
        "every 0.1 s, foreign keys on, 64 MiB page cache, reads memory-mapped up to 2 GiB); "
        "required in production",
        required_in=PRODUCTION,
        testing_variable="TEST_DATABASE_URL",
    )
    keystore_url: str = declared(
        "ASSENSO_KEYSTORE_URL",
        'database of the wrapped data keys, apart from `DATABASE_URL` (see "Key store"; the '
        "test suite reads `TEST_KEYSTORE_URL` instead)",
        sqlalchemy_url,
        _keystore,
        shown="SQLite beside a SQLite database: `shop.db` has `shop.keystore.sqlite3` (so "
        "`instance/assenso.keystore.sqlite3`; a database that had `instance/keystore.sqlite3` "
        "keeps it); required in production",
        required_in=PRODUCTION,
        testing_variable="TEST_KEYSTORE_URL",
    )
    secret_key: str = declared(
        "ASSENSO_SECRET_KEY",
        "Flask session and signed-link secret",
        text,
        _secret("ASSENSO_SECRET_KEY"),
        shown=GENERATED,
        required_in=PRODUCTION,
        secret=True,
    )
    vault_keys: str = declared(
        "ASSENSO_VAULT_KEYS",
        "key-encryption keys, `1:<base64 32 bytes>,2:<base64>`; the highest version wraps, "
        "older ones still unwrap until removed",
        text,
        _secret("ASSENSO_VAULT_KEYS"),
        shown=GENERATED,
        required_in=PRODUCTION,
        secret=True,
    )
    blind_index_keys: str = declared(
        "ASSENSO_BLIND_INDEX_KEYS",
        "HMAC keys of the e-mail blind index, same format",
        text,
        _secret("ASSENSO_BLIND_INDEX_KEYS"),
        shown=GENERATED,
        required_in=PRODUCTION,
        secret=True,
    )
    ledger_signing_key: str = declared(
        "ASSENSO_LEDGER_SIGNING_KEY",
        "Ed25519 key signing checkpoints (PEM or base64 32-byte seed)",
        text,
        _secret("ASSENSO_LEDGER_SIGNING_KEY"),
        shown=GENERATED,
        required_in=PRODUCTION,
        secret=True,
    )
    policy_dir: Path = declared(
        "ASSENSO_POLICY_DIR",
        "folder of policy files: checked at start, recorded as the first set in force on an "
        "empty database, and put in force by `flask policy reload` (the set in force in the "
        "database decides, not this folder)",
        path,
        BASE_DIR / "policies",
        shown="`policies/`",
    )
    default_jurisdiction: str = declared(
        "ASSENSO_DEFAULT_JURISDICTION",
        "jurisdiction of customers who sign up in the portal: a two-letter code that a policy "
        "file, or the default policy, governs (checked at start)",
        text,
        "EU",
    )
    public_base_url: str = declared(
        "ASSENSO_PUBLIC_BASE_URL", "base of links in messages", web_url, "http://127.0.0.1:5000"
    )
    ledger_origin: str = declared(
        "ASSENSO_LEDGER_ORIGIN",
        "name of the ledger in signed checkpoints",
        text,
        "assenso.local/consent-ledger",
    )
    app_database_url: str | None = declared(
        "ASSENSO_APP_DATABASE_URL",
        "the application's own `DATABASE_URL`, read by `flask db grant-app-role` only (run as "
        'the schema\'s owner; see "Running on PostgreSQL")',
        sqlalchemy_url,
        secret=True,
    )
    smtp_host: str = declared("ASSENSO_SMTP_HOST", "SMTP relay host", text, "127.0.0.1")
    smtp_port: int = declared(
        "ASSENSO_SMTP_PORT",
        "SMTP relay port",
        whole(1, 65535),
        8025,
        shown="`8025` (the development mailbox)",
    )
    smtp_security: str = declared(
        "ASSENSO_SMTP_SECURITY",
        "`none`, `starttls` or `ssl`",
        choice("none", "starttls", "ssl"),
        "none",
    )
    smtp_username: str | None = declared("ASSENSO_SMTP_USERNAME", "SMTP authentication: user", text)
    smtp_password: str | None = declared(
        "ASSENSO_SMTP_PASSWORD", "SMTP authentication: password", text, secret=True
    )
    smtp_timeout_seconds: float = declared(
        "ASSENSO_SMTP_TIMEOUT_SECONDS",
        "longest wait for any SMTP reply; a reply that never comes is a failure, retried",
        number(0, above=True),
        30.0,
    )
    mail_from: str = declared(
        "ASSENSO_MAIL_FROM", "sender address", text, "Assenso <no-reply@example.com>"
    )
    sms_webhook_url: str | None = declared(
        "ASSENSO_SMS_WEBHOOK_URL",
        "SMS provider webhook",
        web_url,
        shown="unset (SMS disabled)",
    )
    sms_timeout_seconds: float = declared(
        "ASSENSO_SMS_TIMEOUT_SECONDS",
        "how long to wait for the SMS webhook before the attempt counts as a transient failure",
        number(0, above=True),
        10.0,
    )
    sms_inbound_secret: str | None = declared(
        "ASSENSO_SMS_INBOUND_SECRET",
        "shared secret the SMS provider sends in `X-Assenso-Sms-Secret` on `POST /sms/inbound`",
        text,
        shown="unset (inbound refused)",
        secret=True,
    )
    dev_mailbox: bool = declared(
        "ASSENSO_DEV_MAILBOX",
        "run the local development mailbox (refused in production)",
        flag,
        lambda d: d.environment == "development",
        shown="on in development",
    )
    dev_mailbox_dir: Path = declared(
        "ASSENSO_DEV_MAILBOX_DIR",
        "where the development mailbox stores messages; **development only: the page "
        "`/dev/mailbox` shows message contents (personal data) to administrators and "
        "compliance officers; never enable it in production**",
        path,
        lambda d: d.values["instance_path"] / "mailbox",
        shown="`instance/mailbox/`",
    )
    worker_batch_size: int = declared(
        "ASSENSO_WORKER_BATCH_SIZE", "outbox entries a worker claims per batch", whole(1), 500
    )
    worker_lease_seconds: int = declared(
        "ASSENSO_WORKER_LEASE_SECONDS",
        "lease length: a live worker renews its batch's lease every third of it (every 5 s by "
        "default) however slow its relay, so only a stopped or frozen worker's lease runs out, "
        "and its unsent entries go to another worker about this long after it stopped (see "
        '"Delivery guarantees")',
        whole(5),
        15,
    )
    worker_idle_seconds: float = declared(
        "ASSENSO_WORKER_IDLE_SECONDS",
        "how long a worker waits before asking again when nothing is due",
        number(0, above=True),
        1.0,
    )
    worker_smtp_connections: int = declared(
        "ASSENSO_WORKER_SMTP_CONNECTIONS",
        "SMTP connections per worker (messages handed over per database commit)",
        whole(1),
        16,
    )
    worker_max_attempts: int = declared(
        "ASSENSO_WORKER_MAX_ATTEMPTS",
        "attempts before a transient failure counts as failed",
        whole(1),
        8,
    )
    worker_retry_base_seconds: int = declared(
        "ASSENSO_WORKER_RETRY_BASE_SECONDS",
        "transient failures retry with exponential backoff (base x 2^attempt, at most 6 h)",
        whole(1),
        30,
    )
    worker_async_commit: bool = declared(
        "ASSENSO_WORKER_ASYNC_COMMIT",
        "PostgreSQL `synchronous_commit=off` for the hand-over markers (a worker crash loses "
        "nothing; a database crash may resend the last ~0.6 s)",
        flag,
        True,
    )
    dkim_selector: str | None = declared(
        "ASSENSO_DKIM_SELECTOR",
        "DKIM selector; with the two below, every e-mail is DKIM-signed (covering both "
        "`List-Unsubscribe` headers)",
        text,
        shown="unset (no DKIM)",
    )
    dkim_domain: str | None = declared(
        "ASSENSO_DKIM_DOMAIN", "DKIM signing domain", text, shown="unset (no DKIM)"
    )
    dkim_key_path: Path | None = declared(
        "ASSENSO_DKIM_KEY_PATH", "DKIM private key file (PEM)", path, shown="unset (no DKIM)"
    )
    unsubscribe_token_days: int = declared(
        "ASSENSO_UNSUBSCRIBE_TOKEN_DAYS", "validity of one-click unsubscribe links", whole(1), 400
    )
    ratelimit_storage_uri: str = declared(
        "ASSENSO_RATELIMIT_STORAGE_URI",
        "where attempts are counted: `redis://host:6379/0`, shared by every web process "
        "(required as soon as more than one serves; production warns at start about "
        "`memory://`)",
        text,
        "memory://",
        shown="`memory://` (one process)",
    )
    ratelimit_key_prefix: str = declared(
        "ASSENSO_RATELIMIT_KEY_PREFIX",
        "prefix of the counters' keys, so installations can share one Redis",
        text,
        "assenso",
    )
    login_rate_limit: str = declared(
        "ASSENSO_LOGIN_RATE_LIMIT",
        "sign-in, password-change and account-deletion attempts per client address",
        rate_limit,
        "10 per minute",
    )
    account_rate_limit: str = declared(
        "ASSENSO_ACCOUNT_RATE_LIMIT",
        "failed password checks per account (sign-in, password change, account deletion), "
        "from any number of addresses",
        rate_limit,
        "10 per 15 minutes",
    )
    signup_rate_limit: str = declared(
        "ASSENSO_SIGNUP_RATE_LIMIT",
        "sign-up and password-reset attempts per client address",
        rate_limit,
        "5 per minute",
    )
    account_mail_rate_limit: str = declared(
        "ASSENSO_ACCOUNT_MAIL_RATE_LIMIT",
        "sign-ups and reset requests per e-mail address (each may send it a message)",
        rate_limit,
        "3 per hour",
    )
    api_rate_limit: str = declared(
        "ASSENSO_API_RATE_LIMIT",
        "calls per API key, for keys made without a limit of their own",
        rate_limit,
        "6000 per minute",
    )
    api_idempotency_retention_hours: float = declared(
        "ASSENSO_API_IDEMPOTENCY_RETENTION_HOURS",
        "how long the answer to a request made with an `Idempotency-Key` is kept for its "
        "retries; after that the record is purged and a retry is a new request",
        number(0, above=True),
        24.0,
        shown="`24`",
    )
    currency: str = declared(
        "ASSENSO_CURRENCY",
        "the ISO 4217 currency of the amounts recorded (purchases reported through the API "
        "in another currency are refused)",
        choice(*_CURRENCIES),
        "EUR",
    )
    webhook_max_attempts: int = declared(
        "ASSENSO_WEBHOOK_MAX_ATTEMPTS",
        "delivery attempts of one webhook message before it is marked failed",
        whole(1),
        8,
    )
    webhook_retry_base_seconds: float = declared(
        "ASSENSO_WEBHOOK_RETRY_BASE_SECONDS",
        "wait before the first retry of a webhook message; doubled after each failure",
        number(0, above=True),
        5.0,
        shown="`5`",
    )
    webhook_disable_after: int = declared(
        "ASSENSO_WEBHOOK_DISABLE_AFTER",
        "failed attempts in a row after which a webhook subscription is disabled",
        whole(1),
        20,
    )
    webhook_timeout_seconds: float = declared(
        "ASSENSO_WEBHOOK_TIMEOUT_SECONDS",
        "how long a webhook receiver may take to answer",
        number(0, above=True),
        5.0,
        shown="`5`",
    )
    staff_session_idle_minutes: int = declared(
        "ASSENSO_STAFF_SESSION_IDLE_MINUTES",
        "a staff session ends after this long without a request",
        whole(1),
        30,
    )
    staff_session_hours: int = declared(
        "ASSENSO_STAFF_SESSION_HOURS",
        "a staff session ends at the latest this long after sign-in",
        whole(1),
        8,
    )
    customer_session_idle_minutes: int = declared(
        "ASSENSO_CUSTOMER_SESSION_IDLE_MINUTES",
        "a customer's session ends after this long without a request",
        whole(1),
        30,
    )
    customer_session_hours: int = declared(
        "ASSENSO_CUSTOMER_SESSION_HOURS",
        "a customer's session ends at the latest this long after sign-in",
        whole(1),
        12,
    )
    trusted_proxy_hops: int = declared(
        "ASSENSO_TRUSTED_PROXY_HOPS",
        "how many reverse proxies in front of the app append `X-Forwarded-For` / "
        "`X-Forwarded-Proto`; only their entries are believed (client address for rate "
        "limits, HTTPS for HSTS)",
        whole(0),
        0,
        shown="`0` (the headers are ignored)",
    )
    log_format: str = declared(
        "ASSENSO_LOG_FORMAT",
        "`json`: one JSON object per log line, each with `request_id` or `job_id` and never a "
        "customer's address or name; `console`: the same as readable lines",
        choice("json", "console"),
        lambda d: "json" if d.environment == "production" else "console",
        shown="`json` in production, `console` otherwise",
    )
    ops_networks: tuple[Network, ...] = declared(
        "ASSENSO_OPS_NETWORKS",
        "client addresses or networks that may read `/metrics` and `/readyz`, comma-separated "
        "(`10.0.0.0/8,::1`), or `none`; the client address is the one the trusted proxies "
        "report (`ASSENSO_TRUSTED_PROXY_HOPS`)",
        networks,
        (ip_network("127.0.0.0/8"), ip_network("::1/128")),
        shown="`127.0.0.0/8,::1` (this machine only)",
    )
    ops_token: str | None = declared(
        "ASSENSO_OPS_TOKEN",
        "bearer token (16 characters or more) that opens `/metrics` and `/readyz` from any "
        "address (`Authorization: Bearer …`); best given as `ASSENSO_OPS_TOKEN_FILE`",
        long_secret,
        shown="unset (allowed networks only)",
        secret=True,
    )
    value_margin_percent: float = declared(
        "ASSENSO_VALUE_MARGIN_PERCENT",
        "customer value: the share of revenue kept as margin, 0 to 100 (margin so far and FLTV "
        "are margins, not revenue)",
        number(0, 100),
        30.0,
        shown="`30`",
    )
    value_discount_rate_percent: float = declared(
        "ASSENSO_VALUE_DISCOUNT_RATE_PERCENT",
        "customer value: annual rate discounting future margin to today, 0 to 100",
        number(0, 100),
        10.0,
        shown="`10`",
    )
    value_horizon_months: int = declared(
        "ASSENSO_VALUE_HORIZON_MONTHS",
        "customer value: months of future purchases counted in FLTV, 1 to 240",
        whole(1, 240),
        36,
    )
    value_cost_per_order: float = declared(
        "ASSENSO_VALUE_COST_PER_ORDER",
        "customer value: cost of serving one order (shipping, handling), in currency units; "
        "customers whose orders cost more than their margin fall below zero",
        number(0, 1e9),
        0.0,
        shown="`0`",
    )
    value_time_unit: str = declared(
        "ASSENSO_VALUE_TIME_UNIT",
        "customer value: `week` or `day`, the time unit the models are fitted in",
        choice("week", "day"),
        "week",
    )
    value_refit_days: float = declared(
        "ASSENSO_VALUE_REFIT_DAYS",
        "customer value: the scheduler refits the models when the last fit is this many days "
        "old (it checks at `ASSENSO_SCHEDULER_VALUE_CHECK_SECONDS`)",
        number(0.01, 366),
        7.0,
        shown="`7`",
    )
    scheduler_sync_seconds: float = declared(
        "ASSENSO_SCHEDULER_SYNC_SECONDS",
        "how often the active scheduler reconciles campaign jobs",
        number(0, above=True),
        15.0,
        shown="`15`",
    )
    scheduler_refresh_seconds: float = declared(
        "ASSENSO_SCHEDULER_REFRESH_SECONDS",
        "how often the active scheduler closes runs whose messages are settled",
        number(0, above=True),
        30.0,
        shown="`30`",
    )
    scheduler_expiry_seconds: float = declared(
        "ASSENSO_SCHEDULER_EXPIRY_SECONDS",
        "how often consents past their validity and unconfirmed opt-ins are expired",
        number(0, above=True),
        300.0,
        shown="`300`",
    )
    scheduler_reminder_seconds: float = declared(
        "ASSENSO_SCHEDULER_REMINDER_SECONDS",
        "how often deadline reminders of data-subject requests that fell due are sent",
        number(0, above=True),
        300.0,
        shown="`300`",
    )
    scheduler_purge_seconds: float = declared(
        "ASSENSO_SCHEDULER_PURGE_SECONDS",
        "how often records past their retention (the API's idempotency records) are purged",
        number(0, above=True),
        3600.0,
        shown="`3600`",
    )
    scheduler_checkpoint_seconds: float = declared(
        "ASSENSO_SCHEDULER_CHECKPOINT_SECONDS",
        "how often the ledger gets a signed checkpoint",
        number(0, above=True),
        600.0,
        shown="`600`",
    )
    scheduler_value_check_seconds: float = declared(
        "ASSENSO_SCHEDULER_VALUE_CHECK_SECONDS",
        "how often the scheduler checks whether the value models are due for a refit",
        number(0, above=True),
        3600.0,
        shown="`3600`",
    )
    scheduler_lock_ttl_seconds: float = declared(
        "ASSENSO_SCHEDULER_LOCK_TTL_SECONDS",
        "the active scheduler's lock expires this long after its last heartbeat; another "
        "scheduler then takes over",
        number(0, above=True),
        30.0,
        shown="`30`",
    )
    scheduler_lock_poll_seconds: float = declared(
        "ASSENSO_SCHEDULER_LOCK_POLL_SECONDS",
        "how often a waiting scheduler tries the lock (the takeover bound after an active "
        "scheduler dies)",
        number(0, above=True),
        5.0,
        shown="`5`",
    )
    scheduler_stop_grace_seconds: float = declared(
        "ASSENSO_SCHEDULER_STOP_GRACE_SECONDS",
        "how long a stopping scheduler waits for its running jobs (a run still resolving is "
        "finished by the next one)",
        number(0, above=True),
        4.0,
    )
    scheduler_heartbeat_seconds: float = declared(
        "ASSENSO_SCHEDULER_HEARTBEAT_SECONDS",
        "how often the active scheduler renews its lock",
        number(0, above=True),
        lambda d: d.values["scheduler_lock_ttl_seconds"] / 3,
        shown="a third of the lock's TTL",
    )

    @property
    def demo_allowed(self) -> bool:
        """Demo data and the demo's published passwords: never in production."""
        return self.environment != "production"

    @property
    def testing(self) -> bool:
        """Whether the test suite runs the application."""
        return self.environment == "testing"
