"""Settings for Secure-My-Spot, read from the environment (12-factor).

Every default runs on one laptop with no servers: SQLite and a filesystem Celery broker in
``DATA_DIR``. Production sets ``DATABASE_URL``, ``CELERY_BROKER_URL``, ``REDIS_URL`` and friends;
see ``.env.example`` for the full list.
"""

import secrets
from pathlib import Path

import environ

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


SECRET_KEY = env("SECRET_KEY", default=None) or _local_secret_key()
DEBUG = env.bool("DEBUG", default=False)
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
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
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

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
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
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

REDIS_URL = env("REDIS_URL", default="")
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
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve admin and Swagger assets even before collectstatic

CORS_ALLOWED_ORIGINS = env.list(
    "CORS_ALLOWED_ORIGINS", default=["http://localhost:3000", "http://127.0.0.1:3000"]
)
CORS_ALLOW_METHODS = ["DELETE", "GET", "OPTIONS", "PATCH", "POST"]
CORS_ALLOW_HEADERS = ["authorization", "content-type", "if-none-match"]
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After"]

# Tokens expire after this long without use; each use renews them.
AUTH_TOKEN_IDLE_TIMEOUT_SECONDS = env.int("AUTH_TOKEN_IDLE_TIMEOUT_SECONDS", default=24 * 3600)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ExpiringTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "securemyspot.api.exception_handler",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "securemyspot.api.ContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "sign-in": env("THROTTLE_SIGN_IN", default="10/min"),
        "sign-up": env("THROTTLE_SIGN_UP", default="5/min"),
    },
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Secure-My-Spot API",
    "DESCRIPTION": (
        "Find a free on-street parking spot in New York City, reserve it and pay by card. "
        "Authenticate with `Authorization: Token <key>` from sign-up or sign-in."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Where people reach this service: links in emails (pay, extend) start with it.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

# The full availability list is kept as a file per fingerprint here (spots/list_files.py).
SPOT_LIST_DIR = env("SPOT_LIST_DIR", default=str(DATA_DIR / "spot-lists"))

# Reservations: limits a driver sees as 400s, and how long an unpaid booking holds its spot.
RESERVATION_MIN_MINUTES = env.int("RESERVATION_MIN_MINUTES", default=1)
RESERVATION_MAX_MINUTES = env.int("RESERVATION_MAX_MINUTES", default=24 * 60)
RESERVATION_MAX_DAYS_AHEAD = env.int("RESERVATION_MAX_DAYS_AHEAD", default=7)
RESERVATION_HOLD_MINUTES = env.int("RESERVATION_HOLD_MINUTES", default=15)

# Payments: with no secret key, a built-in sandbox gateway stands in for Stripe
# (docs/payments.md). STRIPE_API_BASE points the SDK at another server, e.g. localstripe.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")
# Stripe's smallest charge in USD; a smaller fee is waived and recorded as such.
MINIMUM_CHARGE_CENTS = 50

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
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
ENGINE_SWEEP_SECONDS = env.float("ENGINE_SWEEP_SECONDS", default=5.0)
END_TASK_HORIZON_SECONDS = env.int("END_TASK_HORIZON_SECONDS", default=10 * 60)
REMINDER_MINUTES_BEFORE_END = env.int("REMINDER_MINUTES_BEFORE_END", default=15)
# The sweep that ends reservations has a queue of its own, so that it never waits behind a
# backlog of charges and emails. A worker consumes every queue listed here unless told
# otherwise (--queues); the Procfiles name both.
CELERY_TASK_QUEUES = {"celery": {}, "engine": {}}
CELERY_TASK_ROUTES = {"reservations.tasks.end_due_reservations": {"queue": "engine"}}
# Celery closes the database connection around every task unless told to reuse it; the
# connection's age and health are left to Django's CONN_MAX_AGE instead (securemyspot/celery.py),
# so a worker does not pay for a new PostgreSQL connection per task.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_IGNORE_RESULT = not REDIS_URL
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
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
    "end-due-reservations": {
        "task": "reservations.tasks.end_due_reservations",
        "schedule": ENGINE_SWEEP_SECONDS,
        "options": {"expires": ENGINE_SWEEP_SECONDS},
    },
    "deliver-pending-emails": {
        "task": "notifications.tasks.deliver_pending_emails",
        "schedule": 60.0,
        # With the workers down, old sweeps are dropped instead of piling up.
        "options": {"expires": 50},
    },
    "resolve-lapsed-reservation-holds": {
        "task": "payments.tasks.resolve_lapsed_holds",
        "schedule": env.float("HOLD_SWEEP_INTERVAL_SECONDS", default=10.0),
        # A run queued while no worker was up is stale once the next one is due.
        "options": {"expires": env.float("HOLD_SWEEP_INTERVAL_SECONDS", default=10.0)},
    },
    "purge-expired-auth-tokens": {
        "task": "accounts.tasks.purge_expired_tokens",
        "schedule": env.float("TOKEN_PURGE_INTERVAL_SECONDS", default=3600.0),
    },
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env(
    "DEFAULT_FROM_EMAIL", default="Secure-My-Spot <no-reply@securemyspot.test>"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

if not DEBUG:
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SESSION_COOKIE_HTTPONLY = True

# SQLite ignores the INCLUDE columns of the covering spot index (PostgreSQL uses them); the
# index itself still serves the search there.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
