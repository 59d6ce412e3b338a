"""Settings for Secure-My-Spot, read from the environment (12-factor).

Every default runs on one laptop with no servers: SQLite and a filesystem Celery broker in
``DATA_DIR``. Production sets ``DATABASE_URL``, ``CELERY_BROKER_URL``, ``REDIS_URL`` and friends;
see ``.env.example`` for the full list and ``.env.production.example`` for a production start.
A malformed value stops start-up with one line naming it (``securemyspot/config.py``).
"""

import importlib.util
import secrets
from pathlib import Path

import environ

from securemyspot import config, content_policy
from securemyspot.log_format import FORMATTERS, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DATA_DIR = Path(env("DATA_DIR", default=str(BASE_DIR / "data")))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _local_secret_key() -> str:
    # A laptop run needs no configuration, yet no key may live in the repository: make one
    # per checkout and keep it beside the local database.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


DEBUG = config.boolean("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    # A generated key would differ between the web servers and workers of a deploy, and
    # change with the data folder: signed links and sessions would break. Only a debug run
    # may make one; `make run` passes one it keeps in data/.
    if not DEBUG:
        raise config.fail(
            "SECRET_KEY", "a long random secret in the environment when DEBUG is false", ""
        )
    SECRET_KEY = _local_secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "securemyspot",
    "accounts",
    "spots",
    "reservations",
    "payments",
    "notifications",
    "live",
    "web",
]

MIDDLEWARE = [
    # First, so that every log line of the request, an error's included, names its id.
    "securemyspot.request_context.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Above whitenoise, so that static files carry the policy too (securemyspot/content_policy.py).
    "securemyspot.content_policy.ContentPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Inside CorsMiddleware so that a 304 still carries the CORS headers the browser needs.
    "django.middleware.http.ConditionalGetMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "securemyspot.urls"
WSGI_APPLICATION = "securemyspot.wsgi.application"
ASGI_APPLICATION = "securemyspot.asgi.application"
APPEND_SLASH = False  # every route answers with and without its slash; no redirects

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

CONN_MAX_AGE = config.integer("CONN_MAX_AGE", default=60)
DATABASES = {
    "default": config.database("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # The web server and the Celery worker share the file: WAL lets readers run beside the
        # writer, IMMEDIATE takes the write lock at BEGIN so a transaction never fails half-way
        # on an upgrade from read to write.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = CONN_MAX_AGE
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

REDIS_URL = config.redis_url("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    # Shared by every local process (web workers, Celery), unlike the in-memory cache, so the
    # sign-in throttle counts one client once.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Times are stored in UTC and shown to people in New York time.
DISPLAY_TIME_ZONE = "America/New_York"

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
# Leaflet for the web app's map, from the django-leaflet package's static files (nothing
# third-party is copied into the repository). Not an installed app: its admin and form
# widgets import GeoDjango, which needs GDAL.
STATICFILES_DIRS = [
    ("leaflet", Path(importlib.util.find_spec("leaflet").origin).parent / "static" / "leaflet"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# True: whitenoise serves static files from the apps' folders as they are (uncompressed), so
# tests and a fresh image need no collectstatic and never see a stale copy. False once
# collectstatic has run (`make run`, the page benchmark): finders' files would otherwise shadow
# the gzip copies it wrote (first load of the driver's page: 204 KB instead of 62).
WHITENOISE_USE_FINDERS = config.boolean("STATIC_FROM_SOURCES", default=True)

CORS_ALLOWED_ORIGINS = env.list(
    "CORS_ALLOWED_ORIGINS", default=["http://localhost:3000", "http://127.0.0.1:3000"]
)
CORS_ALLOW_METHODS = ["DELETE", "GET", "OPTIONS", "PATCH", "POST"]
CORS_ALLOW_HEADERS = ["authorization", "content-type", "if-none-match", "x-request-id"]
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After", "X-Request-ID"]

# Tokens expire after this long without use; each use renews them.
AUTH_TOKEN_IDLE_TIMEOUT_SECONDS = config.integer(
    "AUTH_TOKEN_IDLE_TIMEOUT_SECONDS", default=24 * 3600, minimum=1
)

# Whether an account's email must be confirmed through an emailed link (docs/accounts.md):
# "none" sends no link and counts every account as confirmed; "optional" sends one and lets
# everything go on as before; "mandatory" refuses bookings by an unconfirmed account.
EMAIL_VERIFICATION = config.choice(
    "EMAIL_VERIFICATION", default="optional", choices=("none", "optional", "mandatory")
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ExpiringTokenAuthentication"],
    # Closed unless a view opens itself (AllowAny); securemyspot/tests/test_public_routes.py
    # lists the routes that do.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["securemyspot.parsers.BoundedJSONParser"],
    "EXCEPTION_HANDLER": "securemyspot.api.exception_handler",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "securemyspot.api.ContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "sign-in": config.throttle_rate("THROTTLE_SIGN_IN", default="10/min"),
        "sign-up": config.throttle_rate("THROTTLE_SIGN_UP", default="5/min"),
        "guest-booking": config.throttle_rate("THROTTLE_GUEST_BOOKING", default="30/min"),
        "admin-login": config.throttle_rate("THROTTLE_ADMIN_LOGIN", default="5/min"),
        "resend-verification": config.throttle_rate(
            "THROTTLE_RESEND_VERIFICATION", default="3/hour"
        ),
    },
    "NUM_PROXIES": config.integer("NUM_PROXIES", default=0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Secure-My-Spot API",
    "DESCRIPTION": (
        "Find a free on-street parking spot in New York City, reserve it and pay by card. "
        "Authenticate with `Authorization: Token <key>` from sign-up or sign-in.\n\n"
        "## Live availability: `/ws/availability/` (WebSocket, JSON text frames)\n"
        'Send `{"type": "subscribe", "bbox": [south, west, north, east], '
        '"since": null}`; the server answers `{"type": "snapshot", "seq": S, '
        '"spots": [...]}` (spots as in the list routes), then `{"type": "changes", '
        '"from_seq": A, "seq": B, "taken": [ids], "freed": [spots], '
        '"updated": [spots]}` for the events A < seq <= B in the box; each `from_seq` is '
        'the previous message\'s `seq`. Reconnect with `"since": <last seq>` to get the '
        "missed `changes` instead of a snapshot (if the server still holds them). "
        '`{"type": "ping"}` gets `{"type": "pong"}`. Bad input gets '
        '`{"type": "error", "code", "message"}`: `not_json`, `not_text`, '
        "`bad_message`, `unknown_type`, `bad_bbox`, `bbox_too_large` (over 0.2 degrees), "
        "`too_many_spots`, `bad_since`; `frame_too_large` closes with 1009, "
        "`too_many_messages` (over 10 a second) with 1008.\n\n"
        "## Your reservations, live: `/ws/reservations/` (WebSocket, JSON text frames)\n"
        'Send `{"type": "authenticate", "token": "<API token>"}` (a signed-in user: all '
        'your reservations) or `{"type": "authenticate", "reservation": <id>, "email": '
        '"<email>"}` (a guest: that reservation), never credentials in the URL; add '
        '`"since": <seq>` to replay the events after it. The answer is `{"type": '
        '"authenticated", "seq": S, "reservations": [...]}` (a user\'s live reservations, '
        "a guest's one), then for each change "
        '`{"type": "reservation", "event": "<kind>", "seq": n, "at": "<UTC time>", '
        '"reservation": {...}}`, kind one of `created`, `confirmed`, `amended`, '
        "`reminder_sent`, `ended`, `cancelled`, `charged`, `payment_failed`. Reservations "
        "are rendered as by the reservation routes, plus `charge_status`, "
        "`amount_charged_cents` and `pay_url` (the link to pay a failed charge). "
        '`{"type": "ping"}` gets `{"type": "pong"}`. Errors as above, plus '
        "`not_authenticated` (a bad, expired or signed-out token; an unknown guest "
        "reservation or email) and `bad_message` (no or malformed credentials)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # A PATCH here names the one field it changes; it is not a partial update of a resource.
    "COMPONENT_SPLIT_PATCH": False,
}

# Live availability over WebSockets (docs/live.md). With Redis, the socket servers' fan-out
# goes through it; without, each server process fans out in memory (events come from the
# database either way).
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 gives up reading after 5 s by default, just when channels-redis's
            # blocking receive (5 s) answers "nothing yet": a socket idle for 5 s would fail
            # and close. The layer's reads wait longer than its blocking receive.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# The widest box a socket may watch, in degrees of latitude and of longitude.
LIVE_MAX_BOX_DEGREES = config.decimal_number("LIVE_MAX_BOX_DEGREES", default=0.2)
# A snapshot holds at most this many spots; a denser box is refused.
LIVE_SNAPSHOT_LIMIT = config.integer("LIVE_SNAPSHOT_LIMIT", default=5000, minimum=1)
# Events a socket catches up on from the database (after `since`, or after a missed batch)
# before it gets a fresh snapshot instead; also the most a slow client has queued.
LIVE_REPLAY_LIMIT = config.integer("LIVE_REPLAY_LIMIT", default=2000, minimum=1)
LIVE_MAX_FRAME_BYTES = config.integer("LIVE_MAX_FRAME_BYTES", default=4096, minimum=64)
LIVE_MAX_MESSAGES_PER_SECOND = config.integer("LIVE_MAX_MESSAGES_PER_SECOND", default=10, minimum=1)
# How often the relay reads new events when nothing wakes it (on PostgreSQL each commit does:
# live.relay.CommitBell), and how often a socket sends what it has gathered.
LIVE_POLL_SECONDS = config.decimal_number("LIVE_POLL_SECONDS", default=0.05, minimum=0.001)
LIVE_BATCH_SECONDS = config.decimal_number("LIVE_BATCH_SECONDS", default=0.1, minimum=0.001)

# Where people reach this service: links in emails (pay, extend) start with it. Behind a proxy
# or on another host, set it; `make run` sets it, since its workers get other PORTs (honcho).
PORT = config.integer("PORT", default=8000, minimum=1)
SITE_URL = config.site_url("SITE_URL", default=f"http://127.0.0.1:{PORT}")

# The full availability list is kept as a file per fingerprint here (spots/list_files.py).
SPOT_LIST_DIR = env("SPOT_LIST_DIR", default=str(DATA_DIR / "spot-lists"))

# Reservations: limits a driver sees as 400s, and how long an unpaid booking holds its spot.
RESERVATION_MIN_MINUTES = config.integer("RESERVATION_MIN_MINUTES", default=1, minimum=1)
RESERVATION_MAX_MINUTES = config.integer("RESERVATION_MAX_MINUTES", default=24 * 60, minimum=1)
RESERVATION_MAX_DAYS_AHEAD = config.integer("RESERVATION_MAX_DAYS_AHEAD", default=7, minimum=1)
RESERVATION_HOLD_MINUTES = config.integer("RESERVATION_HOLD_MINUTES", default=15, minimum=1)
# Unpaid holds one email (so one account) and one client address may have at once; 0: no limit.
RESERVATION_UNPAID_HOLDS_PER_EMAIL = config.integer("RESERVATION_UNPAID_HOLDS_PER_EMAIL", default=3)
RESERVATION_UNPAID_HOLDS_PER_ADDRESS = config.integer(
    "RESERVATION_UNPAID_HOLDS_PER_ADDRESS", default=10
)

# Payments (docs/payments.md): Stripe, or the built-in sandbox that accepts test cards, chosen
# by PAYMENT_GATEWAY. Fail closed: only a debug run falls back to the sandbox by itself; a
# production start without Stripe keys stops here unless the sandbox is asked for by name.
# STRIPE_API_BASE points the SDK at another server, e.g. localstripe.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")
PAYMENT_GATEWAY = config.choice(
    "PAYMENT_GATEWAY",
    default="sandbox" if DEBUG and not STRIPE_SECRET_KEY else "stripe",
    choices=("sandbox", "stripe"),
)
if PAYMENT_GATEWAY == "stripe" and not STRIPE_SECRET_KEY:
    raise config.fail(
        "STRIPE_SECRET_KEY",
        "a Stripe secret key (sk_...) as PAYMENT_GATEWAY is stripe "
        "(PAYMENT_GATEWAY=sandbox takes test cards instead, for demos)",
        "",
    )
# Stripe's smallest charge in USD; a smaller fee is waived and recorded as such.
MINIMUM_CHARGE_CENTS = 50

CELERY_BROKER_URL = config.broker_url("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = DATA_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    # kombu's filesystem transport, but a message appears in the queue only once written.
    CELERY_BROKER_TRANSPORT = "securemyspot.broker:Transport"
# At-least-once delivery: a task is acknowledged after it ran, and redelivered if its worker
# died; every task is written to be safe to run twice (docs/tasks.md).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The end-of-reservation engine: the sweep ends what is due (the source of truth); a task at
# the end time adds precision for ends nearer than the horizon (below RabbitMQ's 30-minute
# consumer acknowledgement timeout).
ENGINE_SWEEP_SECONDS = config.decimal_number("ENGINE_SWEEP_SECONDS", default=5.0, minimum=0.01)
END_TASK_HORIZON_SECONDS = config.integer("END_TASK_HORIZON_SECONDS", default=10 * 60)
REMINDER_MINUTES_BEFORE_END = config.integer("REMINDER_MINUTES_BEFORE_END", default=15)
# The sweep that ends reservations has a queue of its own, so that it never waits behind a
# backlog of charges and emails. A worker consumes every queue listed here unless told
# otherwise (--queues); the Procfiles name both.
CELERY_TASK_QUEUES = {"celery": {}, "engine": {}}
CELERY_TASK_ROUTES = {
    "reservations.tasks.end_due_reservations": {"queue": "engine"},
    "reservations.tasks.announce_started_reservations": {"queue": "engine"},
}
# Celery closes the database connection around every task unless told to reuse it; the
# connection's age and health are left to Django's CONN_MAX_AGE instead (securemyspot/celery.py),
# so a worker does not pay for a new PostgreSQL connection per task.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_IGNORE_RESULT = not REDIS_URL
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
HOLD_SWEEP_INTERVAL_SECONDS = config.decimal_number(
    "HOLD_SWEEP_INTERVAL_SECONDS", default=10.0, minimum=0.01
)
# Live availability's event outbox (docs/live.md): events are kept this long, and at most this
# many; a client resuming from an older one gets a snapshot.
AVAILABILITY_EVENTS_KEEP_HOURS = config.integer("AVAILABILITY_EVENTS_KEEP_HOURS", default=24)
AVAILABILITY_EVENTS_KEEP_ROWS = config.integer(
    "AVAILABILITY_EVENTS_KEEP_ROWS", default=1_000_000, minimum=1000
)
# A driver's reservation events (/ws/reservations/) are kept this long for resuming sockets.
RESERVATION_EVENTS_KEEP_HOURS = config.integer("RESERVATION_EVENTS_KEEP_HOURS", default=24)
TOKEN_PURGE_INTERVAL_SECONDS = config.decimal_number(
    "TOKEN_PURGE_INTERVAL_SECONDS", default=3600.0, minimum=0.01
)
CELERY_BEAT_SCHEDULE = {
    "send-due-reminders": {
        "task": "reservations.tasks.send_due_reminders",
        "schedule": 30.0,
        "options": {"expires": 30},
    },
    "retry-due-charges": {
        "task": "payments.tasks.retry_due_charges",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
    "confirm-saved-cards": {
        "task": "payments.tasks.confirm_saved_cards",
        "schedule": 15.0,
        "options": {"expires": 15},
    },
    "end-due-reservations": {
        "task": "reservations.tasks.end_due_reservations",
        "schedule": ENGINE_SWEEP_SECONDS,
        "options": {"expires": ENGINE_SWEEP_SECONDS},
    },
    "announce-started-reservations": {
        "task": "reservations.tasks.announce_started_reservations",
        "schedule": ENGINE_SWEEP_SECONDS,
        "options": {"expires": ENGINE_SWEEP_SECONDS},
    },
    "prune-availability-events": {
        "task": "spots.tasks.prune_availability_events",
        "schedule": 3600.0,
        "options": {"expires": 3600},
    },
    "prune-reservation-events": {
        "task": "reservations.tasks.prune_reservation_events",
        "schedule": 3600.0,
        "options": {"expires": 3600},
    },
    "deliver-pending-emails": {
        "task": "notifications.tasks.deliver_pending_emails",
        "schedule": 60.0,
        # With the workers down, old sweeps are dropped instead of piling up.
        "options": {"expires": 50},
    },
    "resolve-lapsed-reservation-holds": {
        "task": "payments.tasks.resolve_lapsed_holds",
        "schedule": HOLD_SWEEP_INTERVAL_SECONDS,
        # A run queued while no worker was up is stale once the next one is due.
        "options": {"expires": HOLD_SWEEP_INTERVAL_SECONDS},
    },
    "purge-expired-auth-tokens": {
        "task": "accounts.tasks.purge_expired_tokens",
        "schedule": TOKEN_PURGE_INTERVAL_SECONDS,
    },
}

EMAIL_CONFIG = config.email("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env(
    "DEFAULT_FROM_EMAIL", default="Secure-My-Spot <no-reply@securemyspot.test>"
)

# --- Operations: logs, metrics, error reports (docs/operations.md) ---------------------------
# Logs: one JSON object per line (LOG_FORMAT=json), or readable lines for a terminal
# (LOG_FORMAT=console, which `make run` uses). Every line is masked: no emails, tokens or secrets.
LOG_FORMAT = config.choice("LOG_FORMAT", default="json", choices=tuple(FORMATTERS))
LOG_LEVEL = config.choice(
    "LOG_LEVEL", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
)
LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)
# Celery keeps the logging configured above (securemyspot/celery.py) instead of its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Prometheus metrics at /metrics, for `Authorization: Bearer <METRICS_TOKEN>` only; without a
# token the route answers 404 and requests are not counted.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# Collectors that read their figures from the database at scrape time. The socket servers'
# figures (open sockets) are counted in each socket server and shown at its own /metrics
# (live/metrics.py, docs/operations.md).
METRICS_COLLECTORS = [
    "reservations.metrics.ReservationMetrics",
    "payments.metrics.ChargeMetrics",
    "notifications.metrics.OutboxMetrics",
]
if METRICS_TOKEN:
    MIDDLEWARE.insert(1, "securemyspot.metrics.RequestMetricsMiddleware")
# Error reports to Sentry, only when a DSN is set; never with personal data.
SENTRY_DSN = env("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env("SENTRY_ENVIRONMENT", default="production")
if SENTRY_DSN:
    from securemyspot.sentry import init_sentry  # only then: the SDK costs start-up time

    init_sentry(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT)
# --- End of operations ----------------------------------------------------------------------

# HTTPS: off by default, so `make run` serves plain HTTP on 127.0.0.1; .env.production.example
# turns it on behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = config.header_and_value("SECURE_PROXY_SSL_HEADER")
SECURE_SSL_REDIRECT = config.boolean("SECURE_SSL_REDIRECT", default=False)
# Probes reach the container directly, without the proxy's header: no redirect for them.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$"]
SECURE_HSTS_SECONDS = config.integer("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = config.boolean("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = config.boolean("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = config.boolean("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = config.boolean("CSRF_COOKIE_SECURE", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True

# The driver's web app (docs/web.md): map tiles from this URL template (Leaflet's {s}, {z},
# {x}, {y}); its host is allowed in the Content-Security-Policy. With no network the map still
# works: markers over a plain background.
MAP_TILE_URL = config.tile_url(
    "MAP_TILE_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png"
)
MAP_TILE_ATTRIBUTION = env(
    "MAP_TILE_ATTRIBUTION",
    default=(
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
    ),
)
# Content-Security-Policy on every response (docs/web.md): this service's own scripts and styles
# only, the tiles' host for images, Stripe's hosts when payments go through Stripe.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": content_policy.directives(
        map_tile_url=MAP_TILE_URL, stripe=PAYMENT_GATEWAY == "stripe"
    )
}

# SQLite ignores the INCLUDE columns of the covering spot index (PostgreSQL uses them); the
# index itself still serves the search there.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
