"""Parley settings: one module, configured from the environment only (12-factor).

Every variable and its default is documented in README.md ("Configuration"). With nothing set,
Parley runs on the embedded default: SQLite and Celery tasks executed in-process.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off. Set SECRET_KEY to a long random value "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), or DEBUG=true for a "
            "local trial."
        )
    SECRET_KEY = "insecure-debug-only-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "axes",
    "django_htmx",
    "accounts",
    "workflows",
]

MIDDLEWARE = [
    "config.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "workflows.middleware.AuditContextMiddleware",
    "accounts.middleware.PreferredLanguageMiddleware",
    "workflows.middleware.NotVisibleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES: list[dict] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "workflows.web.caretaker.caretaker_banner",
            ],
            # Dates, times, weeks, numbers in the reader's language on every page (workflows/formats.py).
            "builtins": ["workflows.templatetags.parley_formats"],
        },
    },
]

# --- Database: PostgreSQL in production; SQLite only as the embedded default for a trial.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'parley.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
elif env.bool("DATABASE_SERVER_SIDE_BINDING", default=True):
    # psycopg 3 binds the parameters on the server (Django's `server_side_binding` option), so a
    # query's text is the same whatever its values, and psycopg prepares a statement it has run
    # `prepare_threshold` times on this connection: PostgreSQL then skips parsing and planning it
    # (the approve's row lock: 1.6 → 0.4 ms). Django turns psycopg's prepared statements off by
    # default for transaction-mode poolers (PgBouncer before 1.21): set
    # DATABASE_PREPARE_THRESHOLD to an empty value behind one. BENCHMARKS.md, round 5.
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
    threshold = env.str("DATABASE_PREPARE_THRESHOLD", default="5")
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = int(threshold) if threshold else None
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# Optional OpenID Connect sign-in (mozilla-django-oidc), on when OIDC_RP_CLIENT_ID is set.
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
if OIDC_RP_CLIENT_ID:
    INSTALLED_APPS.append("mozilla_django_oidc")
    AUTHENTICATION_BACKENDS.insert(1, "mozilla_django_oidc.auth.OIDCAuthenticationBackend")
    OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET")
    OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT")
    OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT")
    OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT")
    OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
    OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")

# --- Brute-force lockout (django-axes)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_LOCKOUT_TEMPLATE = "web/locked.html"
#: The same client address as every other limiter (config/client_ip.py, NUM_PROXIES).
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"

# --- Languages: English and French, the two official languages.
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="America/Toronto")
USE_I18N = True
USE_TZ = True
#: Dates and times as each language writes them ("7 déc. 2026, 10 h 40"); workflows/formats.py.
FORMAT_MODULE_PATH = ["config.formats"]

# --- Static files: whitenoise serves them, including the GC Design System from node_modules.
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS: list = [BASE_DIR / "static"]
# The GC Design System and htmx come from node_modules, only the files Parley serves
# (config/staticfiles.py: a package's sample CSS with placeholder URLs must not ship).
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "config.staticfiles.VendorFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Email
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="parley@localhost")

# --- Outside approvers and translation bureaus (docs/outside-approvers.md)
#: The site's public address, for links in e-mails sent outside a request (the web and API
#: use the address the request came to).
PUBLIC_URL = env.str("PUBLIC_URL", default="")
OUTSIDE_LINK_HOURS = env.int("OUTSIDE_LINK_HOURS", default=72)
OUTSIDE_LINK_MAX_HOURS = env.int("OUTSIDE_LINK_MAX_HOURS", default=720)
#: Mail domains several organisations share (e.g. canada.ca): never taken as one organisation's
#: own staff domain, so a colleague of another department there may be invited (their mailbox
#: is still refused when it is an account's or a contributor's).
OUTSIDE_SHARED_DOMAINS = env.list("OUTSIDE_SHARED_DOMAINS", default=[])
#: Requests to /o/<link>/ per client address, and per link, in each window (seconds).
OUTSIDE_LINK_RATE_PER_IP = env.int("OUTSIDE_LINK_RATE_PER_IP", default=60)
OUTSIDE_LINK_RATE_PER_LINK = env.int("OUTSIDE_LINK_RATE_PER_LINK", default=20)
OUTSIDE_LINK_RATE_WINDOW = env.int("OUTSIDE_LINK_RATE_WINDOW", default=600)

# --- Redis / Celery. With no broker configured, tasks run in-process (embedded default).
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
# Redis redelivers a task not acknowledged within this window (kombu); every task's hard time
# limit is kept well under it so a long-running task is never delivered twice while it runs.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    # Fail fast instead of hanging when Redis is down (celery #4296, #4556).
    "max_retries": 3,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Publish tasks: hard limit well under the visibility timeout, so a running task is never
# redelivered while it runs; a claim older than PUBLISH_CLAIM_TIMEOUT is reconciled, never resent.
CELERY_TASK_TIME_LIMIT = max(10, min(300, CELERY_VISIBILITY_TIMEOUT // 4))
CELERY_TASK_SOFT_TIME_LIMIT = max(8, CELERY_TASK_TIME_LIMIT * 4 // 5)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_REJECT_ON_WORKER_LOST = True

# --- Outbox relay and publishing (docs/publishing.md)
OUTBOX_RELAY_INTERVAL = env.float("OUTBOX_RELAY_INTERVAL", default=2.0)
OUTBOX_BATCH_SIZE = env.int("OUTBOX_BATCH_SIZE", default=200)
#: Publishing events per `parley.handle_events` task (started, claimed, sent and settled together).
PUBLISH_BATCH_SIZE = env.int("PUBLISH_BATCH_SIZE", default=50)
#: A relayed event not handled within this many seconds is relayed again (lost task).
OUTBOX_LEASE_SECONDS = env.int("OUTBOX_LEASE_SECONDS", default=max(60, CELERY_TASK_TIME_LIMIT * 2))
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)
OUTBOX_RETENTION_DAYS = env.int("OUTBOX_RETENTION_DAYS", default=30)
#: /readyz reports the outbox lag; above this many seconds the check says not ok (0: never).
OUTBOX_LAG_ALERT_SECONDS = env.int("OUTBOX_LAG_ALERT_SECONDS", default=0)
PUBLISH_MAX_ATTEMPTS = env.int("PUBLISH_MAX_ATTEMPTS", default=5)
PUBLISH_BACKOFF_BASE = env.float("PUBLISH_BACKOFF_BASE", default=5.0)
PUBLISH_BACKOFF_MAX = env.float("PUBLISH_BACKOFF_MAX", default=900.0)
PUBLISH_HTTP_TIMEOUT = env.float("PUBLISH_HTTP_TIMEOUT", default=10.0)
#: Outbound requests (adapters, webhooks) refuse non-public addresses (loopback, private,
#: link-local, multicast, reserved) unless the host name, address or network is listed here.
OUTBOUND_ALLOW_HOSTS = env.list("OUTBOUND_ALLOW_HOSTS", default=[])
PUBLISH_SWEEP_INTERVAL = env.float("PUBLISH_SWEEP_INTERVAL", default=5.0)
#: A publication `sending` for longer than this is presumed abandoned (worker killed) and is
#: reconciled with the platform. Must exceed the hard time limit of the publish task.
PUBLISH_CLAIM_TIMEOUT = env.int("PUBLISH_CLAIM_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 30)
PUBLISH_LOG_PATH = env.str("PUBLISH_LOG_PATH", default=str(BASE_DIR / "var" / "publications.log"))
#: The one folder a log channel's `path` may name a file in (default: PUBLISH_LOG_PATH's folder).
PUBLICATION_LOG_DIR = env.str("PUBLICATION_LOG_DIR", default="")
SLA_REMINDER_FRACTION = env.float("SLA_REMINDER_FRACTION", default=0.75)
SPOT_CHECK_WINDOW_DAYS = env.int("SPOT_CHECK_WINDOW_DAYS", default=7)

#: Fails open (config/cache.py): Redis down is a cache miss, logged, never an error answer.
CACHE_REDIS_TIMEOUT = env.float("CACHE_REDIS_TIMEOUT", default=0.5)
CACHES = {
    "default": (
        {"BACKEND": "config.cache.FailOpenRedisCache", "LOCATION": REDIS_URL,
         "OPTIONS": {"socket_connect_timeout": CACHE_REDIS_TIMEOUT, "socket_timeout": CACHE_REDIS_TIMEOUT}}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "workflows.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["workflows.api.parsers.SafeJSONParser"],
    "EXCEPTION_HANDLER": "workflows.api.errors.problem_exception_handler",
    # Fair use per token/user, not a security control (README, "API").
    # Keyed by config.client_ip: X-Forwarded-For counts only through NUM_PROXIES trusted proxies.
    "DEFAULT_THROTTLE_CLASSES": ["config.client_ip.UserThrottle", "config.client_ip.AnonThrottle"],
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("API_THROTTLE_USER", default="1200/minute"),
        "anon": env.str("API_THROTTLE_ANON", default="120/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Parley API",
    "DESCRIPTION": "Approval workflows for public-sector social media.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Problem-details responses and ETag headers on every operation (workflows/api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "workflows.api.schema.add_problem_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "PostStateEnum": "workflows.constants.PostState",
        "PostKindEnum": "workflows.constants.PostKind",
        "StepKindEnum": "workflows.constants.StepKind",
        "LaneKindEnum": "workflows.constants.LaneKind",
        "QueueItemKindEnum": "workflows.api.serializers.QUEUE_KIND_CHOICES",
        "InboundKindEnum": "workflows.constants.InboundKind",
        "InboundSourceEnum": "workflows.constants.InboundSource",
        "VisibilityEnum": "workflows.constants.Visibility",
        "InboundStatusEnum": "workflows.constants.InboundStatus",
    },
}

# --- Demo data
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="")

# --- Logging: structured JSON, one line per record, with the request id.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.logging.RequestIdFilter"},
                "redact_links": {"()": "config.logging.RedactLinksFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id", "redact_links"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's loggers through the redacting handler only (they propagate to the root's),
        # not also through Django's own default handlers ("Forbidden: /o/<token>/" printed as
        # plain text when DEBUG is on; runserver's request lines): issue 20.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},
    },
}

# --- Security: production settings pass `check --deploy` with no warning.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the web UI's htmx requests read the token from the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Production mode and the edges (issue 9: docs/production.md, docs/security.md) ---
from django.core.checks.security.base import (  # noqa: E402
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)

# A weak key is refused, not warned about (Django's own definition, the one behind W009).
if not DEBUG and (
    len(SECRET_KEY) < SECRET_KEY_MIN_LENGTH
    or len(set(SECRET_KEY)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
    or SECRET_KEY.startswith(SECRET_KEY_INSECURE_PREFIX)
):
    raise ImproperlyConfigured(
        f"SECRET_KEY is too weak for production: it needs at least {SECRET_KEY_MIN_LENGTH} "
        f"characters, at least {SECRET_KEY_MIN_UNIQUE_CHARACTERS} different ones, and no "
        f"'{SECRET_KEY_INSECURE_PREFIX}' prefix. Generate one with "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
    )

# Where collectstatic writes (docker/build-static.sh); the image builds into /app/staticfiles.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(STATIC_ROOT)))

# Embedded SQLite that behaves like a database: write transactions take the lock up front
# (BEGIN IMMEDIATE), so two writers queue on the busy timeout instead of one failing with
# "database is locked" when it upgrades a read lock; WAL lets readers run beside the writer.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    SQLITE_BUSY_TIMEOUT = env.int("SQLITE_BUSY_TIMEOUT", default=20)
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "transaction_mode": "IMMEDIATE",
        "timeout": SQLITE_BUSY_TIMEOUT,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT * 1000}; PRAGMA temp_store=MEMORY"
        ),
    }

# Request bodies: the API's largest legitimate body (a post with its texts) is a few KB. Larger
# bodies are refused with 413 before anything reads them (config/edges.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
# After the session, language and user are known (its pages are translated); its body-size check
# still runs before anything reads the body (CsrfViewMiddleware reads it in process_view).
MIDDLEWARE.insert(MIDDLEWARE.index("accounts.middleware.PreferredLanguageMiddleware") + 1,
                  "config.edges.EdgeErrorsMiddleware")

# Unauthenticated and invalid-credential API requests count against the anonymous throttle
# (DRF authenticates before it throttles, so its own AnonRateThrottle never saw them).
REST_FRAMEWORK["EXCEPTION_HANDLER"] = "config.edges.api_exception_handler"

# Content-Security-Policy (django-csp 4): no inline script anywhere; <style> only with the
# per-request nonce (the GC Design System's components read it from <meta name="csp-nonce">).
from csp.constants import NONCE, NONE, SELF  # noqa: E402

INSTALLED_APPS.append("csp")
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                  "csp.middleware.CSPMiddleware")
TEMPLATES[0]["OPTIONS"]["context_processors"].append("csp.context_processors.nonce")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:", "blob:"],  # blob: a chosen file previewed before upload (issue 22)
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Plain-text templates (e-mail bodies) render without HTML autoescaping: "aujourd'hui" stays
# "aujourd'hui", not "aujourd&#x27;hui". HTML keeps the default engine, autoescaped.
TEMPLATES.append({
    "NAME": "text",
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [BASE_DIR / "templates"],
    "APP_DIRS": True,
    "OPTIONS": {"autoescape": False, "builtins": ["workflows.templatetags.parley_formats"]},
})
# --- Audit trail (docs/audit.md) ---
#: HMAC key of the audit trail's hash chains and checkpoints. Required when DEBUG is off (every
#: audited write refuses without it); with DEBUG on a key is derived from SECRET_KEY.
AUDIT_HMAC_KEY = env.str("AUDIT_HMAC_KEY", default="")
#: Retired keys, comma-separated: still accepted to verify older events, never used to sign.
AUDIT_HMAC_OLD_KEYS = env.list("AUDIT_HMAC_OLD_KEYS", default=[])
#: Seconds between signed checkpoints of every chain that grew (beat task parley.audit_checkpoint).
AUDIT_CHECKPOINT_INTERVAL = env.float("AUDIT_CHECKPOINT_INTERVAL", default=300.0)
# --- Publishing core (issue 10 / issue 9 §6) ---
#: Embedded mode (no broker): a scheduler thread in the web process runs the publication sweep,
#: due scheduled posts and the outbox relay every PUBLISH_SWEEP_INTERVAL (workflows/embedded.py).
EMBEDDED_SCHEDULER = env.bool("EMBEDDED_SCHEDULER", default=True)
MIDDLEWARE += ["workflows.embedded.EmbeddedSchedulerMiddleware"]
# --- Bilingual names (issue 11): django-modeltranslation adds name_en / name_fr to what people
# name (lanes, steps, teams, holding replies, channels); `name` reads the active language's and
# falls back to the other official language when one is blank. It must come before the admin.
INSTALLED_APPS.insert(0, "modeltranslation")
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_LANGUAGES = ("en", "fr")
MODELTRANSLATION_FALLBACK_LANGUAGES = {"default": ("en", "fr")}
# --- Performance and operations (issue 14) ---
#: Wake the outbox relay on commit: PostgreSQL NOTIFY (a trigger on the outbox table) heard by a
#: LISTEN thread in every Celery worker (and `relay_outbox --listen`). Beat stays the safety net.
OUTBOX_LISTEN = env.bool("OUTBOX_LISTEN", default=True)
#: Seconds a listener waits for a NOTIFY before looking again (it relays on every wake).
OUTBOX_LISTEN_TIMEOUT = env.float("OUTBOX_LISTEN_TIMEOUT", default=5.0)
#: GET /prometheus: refused unless one of these is set. A bearer token the scraper sends, and/or
#: networks (CIDR, comma-separated) the scraper connects from; when both are set both must hold.
PROMETHEUS_TOKEN = env.str("PROMETHEUS_TOKEN", default="")
PROMETHEUS_ALLOWED_NETWORKS = env.list("PROMETHEUS_ALLOWED_NETWORKS", default=[])
#: Count Celery tasks (by name and outcome, with their durations) into Redis for /prometheus.
PROMETHEUS_CELERY_METRICS = env.bool("PROMETHEUS_CELERY_METRICS", default=True)
MIDDLEWARE.insert(1, "config.prometheus.RequestMetricsMiddleware")
if not DEBUG:
    SECURE_REDIRECT_EXEMPT = [*SECURE_REDIRECT_EXEMPT, r"^prometheus$"]
# --- Mastodon, listening and engagement (issue 10) ---
#: How long a Mastodon server may still be processing a post after our request began. Within it
#: "not found" is not an answer (Mastodon writes its idempotency record only after creating the
#: status): lookup says "ask again later" and nothing is resent.
MASTODON_INFLIGHT_SECONDS = env.float("MASTODON_INFLIGHT_SECONDS", default=60.0)
# --- Publishing media (issue 22, docs/publishing.md "Media") ---
#: Seconds a signed media link sent to a webhook stays valid (counted from the publication's
#: fixed creation time, so every replay within the window is byte-identical).
MEDIA_SIGNED_URL_TTL = env.int("MEDIA_SIGNED_URL_TTL", default=3600)
#: How long a Mastodon server may take to process an uploaded medium before the send is retried
#: (nothing was posted: the status is created only once every medium is ready).
MASTODON_MEDIA_PROCESSING_TIMEOUT = env.float("MASTODON_MEDIA_PROCESSING_TIMEOUT", default=30.0)
MASTODON_MEDIA_POLL_INTERVAL = env.float("MASTODON_MEDIA_POLL_INTERVAL", default=0.5)
#: Bluesky: an image blob larger than this is re-encoded (JPEG, then smaller) at send time.
BLUESKY_IMAGE_MAX_BYTES = env.int("BLUESKY_IMAGE_MAX_BYTES", default=1_000_000)
#: Seconds between two polls of one channel's mentions and streams.
LISTEN_INTERVAL = env.float("LISTEN_INTERVAL", default=60.0)
#: How often beat looks for channels due a poll (it fans out one task per due channel).
LISTEN_FANOUT_INTERVAL = env.float("LISTEN_FANOUT_INTERVAL", default=15.0)
#: A poll's lease on its channel: another worker may take the channel over after it.
LISTEN_LEASE_SECONDS = env.int("LISTEN_LEASE_SECONDS", default=max(60, CELERY_TASK_TIME_LIMIT * 2))
#: Back-off after a rate limit that gave no Retry-After, and after other errors (doubling, capped).
LISTEN_BACKOFF_BASE = env.float("LISTEN_BACKOFF_BASE", default=60.0)
LISTEN_BACKOFF_MAX = env.float("LISTEN_BACKOFF_MAX", default=3600.0)
#: Engagements (like/boost) retry like publications.
ENGAGE_MAX_ATTEMPTS = env.int("ENGAGE_MAX_ATTEMPTS", default=5)
# --- Access-to-information exports (issue 13, docs/atip.md) ---
#: Uploaded/generated files (the ATIP export packages live under EXPORT_ROOT, by default inside it).
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
#: Where export ZIPs are written; give every web and worker process the same directory.
EXPORT_ROOT = Path(env.str("EXPORT_ROOT", default=str(MEDIA_ROOT / "exports")))
#: How long a finished export can be downloaded; beat deletes the file after that.
EXPORT_TTL_HOURS = env.float("EXPORT_TTL_HOURS", default=72.0)
#: Hard time limit of the export task (seconds); a 10,000-post export takes well under a minute.
EXPORT_TASK_TIME_LIMIT = env.int("EXPORT_TASK_TIME_LIMIT", default=1800)
#: Seconds between two beat rounds of the export sweep (expired files, stuck exports).
EXPORT_SWEEP_INTERVAL = env.float("EXPORT_SWEEP_INTERVAL", default=300.0)
# --- Media: images and video (issue 22, docs/media.md) ---
#: Caps on an upload, checked before anything is stored: bytes per kind, pixels (decompression
#: bombs), frames and pixels of all frames of an animation, video duration in seconds.
MEDIA_MAX_IMAGE_BYTES = env.int("MEDIA_MAX_IMAGE_BYTES", default=16 * 1024 * 1024)
MEDIA_MAX_VIDEO_BYTES = env.int("MEDIA_MAX_VIDEO_BYTES", default=100 * 1024 * 1024)
MEDIA_MAX_PIXELS = env.int("MEDIA_MAX_PIXELS", default=40_000_000)
MEDIA_MAX_FRAMES = env.int("MEDIA_MAX_FRAMES", default=500)
MEDIA_MAX_ANIMATION_PIXELS = env.int("MEDIA_MAX_ANIMATION_PIXELS", default=30_000_000)
MEDIA_MAX_VIDEO_SECONDS = env.float("MEDIA_MAX_VIDEO_SECONDS", default=140.0)
#: The JPEG thumbnail's longer side (px), and the quality images are re-encoded at.
MEDIA_THUMBNAIL_SIZE = env.int("MEDIA_THUMBNAIL_SIZE", default=480)
MEDIA_JPEG_QUALITY = env.int("MEDIA_JPEG_QUALITY", default=90)
#: Uploads a user may send per hour (DRF scoped throttle `media_upload`).
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["media_upload"] = env.str("API_THROTTLE_MEDIA_UPLOAD", default="120/hour")
#: Upload request bodies may be this large (the largest cap plus room for the multipart framing);
#: every other request keeps DATA_UPLOAD_MAX_MEMORY_SIZE (config/edges.py). Files over
#: FILE_UPLOAD_MAX_MEMORY_SIZE (Django's 2.5 MB) are spooled to a temporary file, not memory.
MEDIA_UPLOAD_MAX_REQUEST_BYTES = max(MEDIA_MAX_IMAGE_BYTES, MEDIA_MAX_VIDEO_BYTES) + 64 * 1024
#: Storage: the filesystem (MEDIA_ROOT) in the embedded default; an S3-compatible bucket when
#: MEDIA_S3_BUCKET is set (django-storages). Private objects, never a public URL: files reach
#: people through the permission-checked views of /api/v1/media/.
MEDIA_S3_BUCKET = env.str("MEDIA_S3_BUCKET", default="")
if MEDIA_S3_BUCKET:
    _s3 = {
        "endpoint_url": env.str("MEDIA_S3_ENDPOINT_URL", default=""),
        "region_name": env.str("MEDIA_S3_REGION", default=""),
        # Unset: boto3's own chain (AWS_ACCESS_KEY_ID..., an instance or pod role).
        "access_key": env.str("MEDIA_S3_ACCESS_KEY_ID", default=""),
        "secret_key": env.str("MEDIA_S3_SECRET_ACCESS_KEY", default=""),
        "addressing_style": env.str("MEDIA_S3_ADDRESSING_STYLE", default=""),
    }
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **{key: value for key, value in _s3.items() if value},
            "bucket_name": MEDIA_S3_BUCKET,
            "location": env.str("MEDIA_S3_PREFIX", default=""),
            "signature_version": "s3v4",
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": env.int("MEDIA_S3_URL_SECONDS", default=300),
            "file_overwrite": False,
            # A file read back to be served spools to disk past this size, not to memory.
            "max_memory_size": 2_621_440,
        },
    }
