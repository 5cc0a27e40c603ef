"""Configuration classes, read from the environment once at start-up.

`APP_ENV` picks the class: development (default), testing or production.
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _optional_int(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value else None


def _driver_url(url: str) -> str:
    """Heroku-style URLs and plain "postgresql://" both mean psycopg 3 here."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _database_url(default_file: str) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return _driver_url(url)
    return f"sqlite:///{INSTANCE_DIR / default_file}"


class Config:
    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret-change-me")
    # Earlier keys, comma-separated: sessions and sealed anonymous responses made with them
    # are still read after SECRET_KEY changes (Flask's own setting).
    SECRET_KEY_FALLBACKS = [
        key for key in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if key.strip()
    ]
    SQLALCHEMY_DATABASE_URI = _database_url("app.sqlite")
    # hide_parameters: no SQL parameter (a phone, a password hash, an answer) in the engine's
    # log lines or in the text of a database error (app/logs.py).
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
    # A read replica for dashboards, statistics and exports (app/db_read.py, docs/deploy.md),
    # opened read-only; unset: they read the primary.
    DATABASE_READ_URL = _driver_url(os.environ.get("DATABASE_READ_URL", "").strip()) or None
    REDIS_URL = os.environ.get("REDIS_URL") or None

    # `flask backup` (app/services/backups.py): where backups go and how many are kept (the
    # newest); pg_dump of the server's major version (Debian: postgresql-client-15).
    BACKUP_DIR = os.environ.get("BACKUP_DIR") or str(INSTANCE_DIR / "backups")
    BACKUP_KEEP = int(os.environ.get("BACKUP_KEEP", "14"))
    BACKUP_PG_DUMP = os.environ.get("BACKUP_PG_DUMP") or "pg_dump"

    # The deployment's province (vietnam-provinces code) and optional population CSV.
    PROVINCE_CODE = int(os.environ.get("PROVINCE_CODE", "92"))
    UNITS_POPULATION_CSV = os.environ.get("UNITS_POPULATION_CSV") or None

    # Sessions outlive the longest contest (45 minutes) with room to spare: an idle timeout of
    # three hours, refreshed on every request; CSRF tokens live as long.
    PERMANENT_SESSION_LIFETIME = timedelta(hours=3)
    SESSION_REFRESH_EACH_REQUEST = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    WTF_CSRF_TIME_LIMIT = int(timedelta(hours=3).total_seconds())
    API_TOKEN_LIFETIME = timedelta(days=7)

    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")

    # How many reverse proxies (nginx, a load balancer) stand in front of the app and set
    # X-Forwarded-For/-Proto/-Host: the client's real address is read from that many hops back
    # (ProxyFix). 0: the app faces clients directly and those headers are ignored.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    # Whose X-Forwarded-* headers those are: the proxies' own addresses and CIDR blocks,
    # comma-separated. A request from any other peer (a node reached around nginx) is taken at
    # its socket address, whatever headers it sends (app/access.py, FromProxiesOnly).
    TRUSTED_PROXY_ADDRESSES = os.environ.get("TRUSTED_PROXY_ADDRESSES", "127.0.0.1/32,::1/128")

    # Who may read /metrics (app/metrics.py): addresses and CIDR blocks, comma-separated,
    # matched against the client's address as the app sees it (after TRUSTED_PROXIES' hops).
    # Everyone else gets 404. deploy/nginx.conf allows the same monitoring server.
    METRICS_ALLOW = os.environ.get("METRICS_ALLOW", "127.0.0.1/32,::1/128")

    # One JSON line per request on standard error (app/request_log.py): on in production.
    REQUEST_LOG_JSON = _bool("REQUEST_LOG_JSON", False)

    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    # Redis while it answers, each process's memory while it does not (app/ratelimits.py).
    RATELIMIT_STORAGE_URI = f"fallback+{REDIS_URL}" if REDIS_URL else "memory://"
    # Survey results under a stamp of their responses: shared by the workers through Redis when
    # there is one, else kept by each process (app/services/results_cache.py).
    CACHE_TYPE = "RedisCache" if REDIS_URL else "SimpleCache"
    CACHE_REDIS_URL = REDIS_URL
    # A Redis that accepts connections and then says nothing holds a page 1 s, not forever.
    CACHE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1} if REDIS_URL else {}
    CACHE_KEY_PREFIX = "civic:"
    CACHE_THRESHOLD = 2000  # SimpleCache: entries kept by one process
    RATELIMIT_HEADERS_ENABLED = True
    # Flask-Limiter wrote Retry-After on every answer of a limited endpoint (a 201 included),
    # as the larger of its window's reset and the view's own: a start's 503 said "60 s" when
    # its turn was 2 s away. Its figure goes under its own name; Retry-After is set only by
    # app/errors.py (429) and the views that mean it (app/api/contests.py's 503).
    RATELIMIT_HEADER_RETRY_AFTER = "X-RateLimit-Retry-After"
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "civic")

    # Answers and submissions arriving this long after an attempt's deadline are still taken
    # (network latency); later ones are refused whatever the client says.
    ATTEMPT_GRACE_SECONDS = int(os.environ.get("ATTEMPT_GRACE_SECONDS", "10"))
    # Admission control for starts (app/admission.py): at most this many starts run at once
    # (across the deployment when REDIS_URL is set, per process otherwise); more wait in line
    # on a page that refreshes itself (a 503 with Retry-After in the API). Unset: half the
    # node's gunicorn workers × threads (SERVER_SLOTS, set by gunicorn.conf.py), so that the
    # other half answers everyone else at once; with several nodes on one Redis, set it to
    # the deployment's total. 0 turns it off.
    ADMISSION_MAX_STARTS = _optional_int("ADMISSION_MAX_STARTS")
    # Nobody is overtaken by someone more than this many places behind; unset or 0: the starts
    # served in about two seconds (people waiting come back only when their page refreshes).
    ADMISSION_WINDOW = int(os.environ.get("ADMISSION_WINDOW") or 0)
    ADMISSION_KEY_PREFIX = os.environ.get("ADMISSION_KEY_PREFIX", "civic:admission")
    # Tests replace the clock (a callable returning an aware datetime); None: the real time.
    CLOCK = None

    # The anonymity mixer (app/services/mixer.py, docs/anonymity.md): pending anonymous
    # responses of a survey move into the results as a batch once this many wait, or once the
    # oldest has waited this long (a lone response is counted within five minutes).
    SURVEY_MIX_BATCH = int(os.environ.get("SURVEY_MIX_BATCH", "20"))
    SURVEY_MIX_WAIT_SECONDS = int(os.environ.get("SURVEY_MIX_WAIT_SECONDS", "240"))

    # Background jobs (app/jobs): large exports run on the RQ queue JOBS_QUEUE when REDIS_URL
    # is set (`flask jobs worker`), else in a thread of the web process; their files are kept
    # JOB_FILES_HOURS in the database. The periodic work (mixer, contests finalize, clean-up)
    # is run by `flask jobs scheduler` ("external") or by a thread of each web process ("app",
    # the default without Redis, so that `make run` needs nothing more).
    JOBS_QUEUE = os.environ.get("JOBS_QUEUE", "civic-jobs")
    JOB_FILES_HOURS = int(os.environ.get("JOB_FILES_HOURS", "24"))
    JOBS_TIMEOUT_SECONDS = int(os.environ.get("JOBS_TIMEOUT_SECONDS", "1800"))
    JOBS_SCHEDULER = os.environ.get("JOBS_SCHEDULER") or ("external" if REDIS_URL else "app")
    # Phone verification codes (app/sms.py): Zalo ZNS when its access token is set, else an
    # SMS gateway over HTTP when its URL is set, else the outbox file (development).
    SMS_OUTBOX = os.environ.get("SMS_OUTBOX") or str(INSTANCE_DIR / "sms-outbox.jsonl")
    SMS_HTTP_URL = os.environ.get("SMS_HTTP_URL") or None
    SMS_HTTP_TOKEN = os.environ.get("SMS_HTTP_TOKEN") or None
    SMS_TIMEOUT_SECONDS = float(os.environ.get("SMS_TIMEOUT_SECONDS", "5"))
    ZALO_ZNS_ACCESS_TOKEN = os.environ.get("ZALO_ZNS_ACCESS_TOKEN") or None
    ZALO_ZNS_TEMPLATE_ID = os.environ.get("ZALO_ZNS_TEMPLATE_ID") or None
    ZALO_ZNS_URL = (
        os.environ.get("ZALO_ZNS_URL") or "https://business.openapi.zalo.me/message/template"
    )

    # The proof-of-work challenge on sign-up and attempt start (app/challenge.py): off, on, or
    # auto (asked while this many sign-ups or more arrive within a minute).
    CHALLENGE = os.environ.get("CHALLENGE", "off").strip().lower()
    CHALLENGE_AUTO_SIGNUPS_PER_MINUTE = int(
        os.environ.get("CHALLENGE_AUTO_SIGNUPS_PER_MINUTE", "30")
    )
    # PBKDF2 iterations per try; about 256 tries are needed on average.
    CHALLENGE_COST = int(os.environ.get("CHALLENGE_COST", "5000"))

    BOOTSTRAP_SERVE_LOCAL = True
    # Pages and JSON compressed by Flask-Compress: brotli when the client asks, else gzip.
    # Streamed responses (the CSV and raw-answer downloads) pass as they are, chunk by chunk;
    # static files arrive already compressed by app/assets.py (compressed once per process).
    COMPRESS_ALGORITHM = ["br", "gzip"]
    COMPRESS_STREAMS = False
    COMPRESS_BR_LEVEL = 5
    MAX_CONTENT_LENGTH = 4 * 1024 * 1024
    # A form field (not a file) may be as large as the request: a bank pasted, or posted back
    # from the mistakes page, is held to its own limit by the view (MAX_BYTES, 2 MiB) with a
    # clear message; Werkzeug's default (500 kB) refused it with a bare page and lost the text.
    MAX_FORM_MEMORY_SIZE = MAX_CONTENT_LENGTH

    @classmethod
    def check(cls) -> None:
        """Refuse configurations that must not run."""
        if cls.CHALLENGE not in ("off", "on", "auto"):
            raise RuntimeError(f"CHALLENGE must be off, on or auto, not {cls.CHALLENGE!r}.")


class DevelopmentConfig(Config):
    pass


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-that-is-long-enough-0123456789"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL") or "sqlite://"
    # tests/conftest.py points the read switch at the test database itself (read-only), so
    # every dashboard, statistics and export test reads through it (app/db_read.py).
    DATABASE_READ_URL = None
    METRICS_ALLOW = "127.0.0.1/32,::1/128"
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_ENABLED = True
    CACHE_TYPE = "SimpleCache"  # one per app: tests do not see each other's entries
    CACHE_OPTIONS: dict[str, Any] = {}
    # Most tests read results right after answering: each response is moved at once. The
    # anonymity tests run with the production batch (tests/test_anonymity_attack.py).
    SURVEY_MIX_BATCH = 1
    REDIS_URL = None  # tests that want Redis say so (tests/test_jobs.py)
    JOBS_SCHEDULER = "external"  # no thread of periodic work behind the tests' backs
    # Tests point it at their own file (tmp_path); never the developer's instance/ outbox.
    SMS_OUTBOX = str(Path(tempfile.gettempdir()) / "civic-test-sms-outbox.jsonl")


class ProductionConfig(Config):
    ENV_NAME = "production"
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    REQUEST_LOG_JSON = _bool("REQUEST_LOG_JSON", True)

    @classmethod
    def check(cls) -> None:
        super().check()
        if len(cls.SECRET_KEY) < 32:
            raise RuntimeError(
                "APP_ENV=production needs SECRET_KEY of at least 32 characters "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    name = os.environ.get("APP_ENV", "development").strip().lower()
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"APP_ENV must be one of {', '.join(CONFIGS)}, not {name!r}.") from None
