"""Settings shared by every environment (cookiecutter-django layout on django-environ).

Production secrets have no defaults here: production.py reads them from the environment and fails loudly when
one is missing. local.py and test.py provide development-only values.
"""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)

# Internationalisation: collectors in China are the first users; English is available everywhere.
LANGUAGE_CODE = "zh-hans"
# Amounts grouped by thousands in Chinese too (config/formats/zh_Hans); templates group amounts with the money filter.
FORMAT_MODULE_PATH = ["config.formats"]
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("DJANGO_TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves concurrent requests (runserver's threads, a dialer's parallel pre-checks and
    # attempt reports) from one file. WAL lets readers run beside the one writer; IMMEDIATE takes the write lock
    # when a transaction begins, so a transaction that read first never fails on upgrading to a write (SQLite
    # answers that with "database is locked" at once, without waiting); the timeout is how long a writer waits
    # for the lock. synchronous=NORMAL is safe in WAL mode (a power cut may lose the last commits, never corrupt).
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    })
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # The widget templates for FORM_RENDERER (collections_app.forms.DeskFormRenderer), found like any template.
    "django.forms",
    "rules.apps.AutodiscoverRulesConfig",
    "simple_history",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "django_htmx",
    "ninja",
    "audit_app",
    "consent_app",
    "collections_app",
]

# Paths answered without a session, sign-in, second factor, HTTPS redirect or host check: the probes of the load
# balancer and the process supervisor (config/health.py). HealthCheckMiddleware, first below, answers them before
# any other middleware runs; a middleware that requires sign-in or a second factor lets these through as well.
PUBLIC_PATHS = ("/healthz", "/readyz")

MIDDLEWARE = [
    "config.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # A session's end moves with its use (idle expiry); runs before SessionMiddleware saves the session.
    "collections_app.staff.middleware.IdleSessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session gave a second factor; then the pages it is required for.
    "django_otp.middleware.OTPMiddleware",
    "collections_app.staff.middleware.SecondFactorMiddleware",
    # The reader's clock: their team's time zone (collections_app.http).
    "collections_app.http.ReaderTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A view's Http404 is the desk's 404 page, DEBUG or not (collections_app.http).
    "collections_app.http.NotFoundPageMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # django-axes must be last (its docs): it inspects the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    # ModelBackend loading the user's team with them (the reader's time zone without a query of its own).
    "collections_app.staff.backends.DeskModelBackend",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "collections_app.context_processors.roles",
                "collections_app.context_processors.notifications",
                "collections_app.context_processors.incident_pauses",
            ],
        },
    }
]

# Forms rendered with the desk's template pack (templates/django/forms/desk/): errors announced and linked to fields.
FORM_RENDERER = "collections_app.forms.DeskFormRenderer"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Database sessions with the user id in an indexed column (collections_app.models.staff.UserSession): deactivating
# a user ends their sessions without decoding every session.
SESSION_ENGINE = "collections_app.staff.sessions"
SESSION_COOKIE_HTTPONLY = True
# A session ends after an idle working day (its use moves its end: staff.middleware.IdleSessionMiddleware) and when
# the browser closes (the cookie has no expiry date); both settable for a deployment.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=10 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", default=True)
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# django-csp 4: dict setting. No inline scripts; htmx is served from our own static files.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# Permissions-Policy (django-permissions-policy): the desk uses no browser feature beyond pages, forms and tel:
# links, so none is granted to it or to anything it could be made to embed.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in ("accelerometer", "autoplay", "camera", "display-capture", "encrypted-media", "fullscreen",
                    "geolocation", "gyroscope", "magnetometer", "microphone", "midi", "payment",
                    "picture-in-picture", "publickey-credentials-get", "screen-wake-lock", "usb", "xr-spatial-tracking")
}

# The integration API's OpenAPI schema and docs (/api/v1/openapi.json, /api/v1/docs) need an Integration user's
# bearer token when on (production's default; collections_app.api.auth.docs_token_required).
API_DOCS_REQUIRE_TOKEN = env.bool("API_DOCS_REQUIRE_TOKEN", default=False)

# django-axes: lock an account+address pair after repeated failed sign-ins.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"

# Second factor (django-otp, collections_app.staff): supervisors, compliance officers, staff and superusers sign in
# with a code from an authenticator app (TOTP) or a single-use recovery code, enrolled at their first sign-in.
# Turning it off is for development only; collectors and the integration API are never asked.
OTP_REQUIRED_FOR_STAFF = env.bool("OTP_REQUIRED_FOR_STAFF", default=True)
OTP_TOTP_ISSUER = "Collector Desk"  # the account's name in the authenticator app

# Personal data at rest. FERNET_KEYS: the first key encrypts, every key decrypts (rotate by prepending a new
# key, then `manage.py reencrypt_pii`). BLIND_INDEX_KEY: the HMAC-SHA256 key of the phone-number blind index;
# it must never change once numbers are stored (the index would stop matching). Both are checked against the data at
# start-up (consent_app.checks, the key canary).
FERNET_USE_HKDF = True

# Celery: JSON only, bounded time (cookiecutter-django); tasks are idempotent because acks_late may rerun them.
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_TIME_LIMIT = 10 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 9 * 60
CELERY_TIMEZONE = TIME_ZONE


# Collections: days-past-due buckets as inclusive ranges (None = open-ended).
COLLECTION_BUCKETS = [
    ("1-30", 1, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-180", 91, 180),
    ("181+", 181, None),
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}

# Audit chain (audit_app; see audit_app/chain.py and `manage.py verify_audit_chain`).
# AUDIT_CHAIN_KEYS (secret; set in local/test/production): ordered "id:key" pairs, the first seals new events and
# every one verifies; rotate by prepending a new pair and keep the old ones for as long as their events exist.
# AUDIT_CHECKPOINT_SIGNING_KEY (secret): Ed25519 private key, base64 of the raw 32 bytes or PEM;
# AUDIT_CHECKPOINT_PUBLIC_KEY: the matching public key (derived from the private one when empty) — a verifier
# needs only this. Generate a pair with:
#   python -c "import base64,os; from cryptography.hazmat.primitives.asymmetric.ed25519 import \
#   Ed25519PrivateKey as K; k=K.from_private_bytes(os.urandom(32)); print(base64.b64encode(k.private_bytes_raw())\
#   .decode(), base64.b64encode(k.public_key().public_bytes_raw()).decode())"
AUDIT_CHECKPOINT_PUBLIC_KEY = env("AUDIT_CHECKPOINT_PUBLIC_KEY", default="")
# Signed checkpoints of the chain head go to this directory, outside the database (point it at storage the
# database's administrators cannot rewrite: another host, an append-only or object-locked mount). One JSON line
# per checkpoint, one file per UTC day.
AUDIT_CHECKPOINT_DIR = Path(env("AUDIT_CHECKPOINT_DIR", default=str(BASE_DIR / "var" / "audit-checkpoints")))
AUDIT_CHECKPOINT_SECONDS = env.int("AUDIT_CHECKPOINT_SECONDS", default=60)
# Seal after each audited transaction commits (one seal_chain task per transaction; inline with eager Celery).
# Production turns it off and relies on beat's seal_chain every second, so the broker is not flooded.
AUDIT_SEAL_ON_COMMIT = env.bool("AUDIT_SEAL_ON_COMMIT", default=True)
AUDIT_SEAL_SECONDS = env.float("AUDIT_SEAL_SECONDS", default=1.0)
# verify_audit_chain reports events still unsealed after this many seconds (the sealer is not running).
AUDIT_UNSEALED_GRACE_SECONDS = env.int("AUDIT_UNSEALED_GRACE_SECONDS", default=60)

# Nightly and periodic jobs (celery beat). Each task is idempotent and splits its work into per-collector or
# per-chunk subtasks that any worker can take.
from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE = {
    # Each zone's worklists once a working day, after WORKLIST_BUILD_TIME on that zone's clock (desk/tasks.py).
    "build-worklists": {"task": "collections_app.build_due_worklists", "schedule": crontab(minute="*/15")},
    "close-stale-attempts": {"task": "collections_app.close_stale_attempts", "schedule": crontab(minute="*/5")},
    "detect-broken-promises": {"task": "collections_app.detect_broken_promises", "schedule": crontab(hour=1, minute=0)},
    "escalate-overdue-complaints": {
        "task": "collections_app.escalate_overdue_complaints", "schedule": crontab(minute=15),
    },
    # Seal committed audit events into the chain; a run not started within a few seconds is dropped (the next
    # one seals its events), so a slow worker does not pile them up.
    "audit-seal-chain": {
        "task": "audit_app.seal_chain", "schedule": AUDIT_SEAL_SECONDS, "options": {"expires": 5 * AUDIT_SEAL_SECONDS},
    },
    "audit-write-checkpoint": {
        "task": "audit_app.write_checkpoint", "schedule": float(AUDIT_CHECKPOINT_SECONDS),
        "options": {"expires": float(AUDIT_CHECKPOINT_SECONDS)},
    },
    # The whole chain against the signed checkpoints, as `manage.py verify_audit_chain`; a break alerts compliance.
    "audit-verify-chain": {"task": "audit_app.verify_chain", "schedule": crontab(hour=4, minute=0)},
}

# Operations alerts (audit_app.alerts): an ERROR log line and an e-mail to ALERT_EMAILS when a task of ALERT_TASKS
# fails for good (every beat job, and the subtasks the nightly job fans out to) or the audit chain has a break.
# The same alert is sent at most once per ALERT_THROTTLE_SECONDS by each worker process.
ALERT_EMAILS = env.list("ALERT_EMAILS", default=[])
ALERT_THROTTLE_SECONDS = env.int("ALERT_THROTTLE_SECONDS", default=15 * 60)
ALERT_TASKS = sorted(
    {entry["task"] for entry in CELERY_BEAT_SCHEDULE.values()}
    | {"collections_app.build_worklist_chunk", "collections_app.reevaluate_borrower_worklists"}
)
# beat's scheduler, which also alerts when a due job cannot be sent at all.
CELERY_BEAT_SCHEDULER = "audit_app.alerts:AlertingScheduler"

# The desk: an in-progress call with no outcome after this many minutes is closed automatically.
ATTEMPT_STALE_MINUTES = env.int("ATTEMPT_STALE_MINUTES", default=30)
# The nightly worklist job hands out each collector's list in chunks of at most this many loans, one Celery task
# each, so any worker takes a share and a task stays short (see collections_app/desk/tasks.py).
WORKLIST_CHUNK_SIZE = env.int("WORKLIST_CHUNK_SIZE", default=500)
# The nightly build of a team's worklists starts at this time on the team's clock (Team.timezone).
WORKLIST_BUILD_TIME = env("WORKLIST_BUILD_TIME", default="05:30")
# An open worklist page fetches its rows again this often (and whenever the collector comes back to the tab), so
# what the clock and other people change shows without Refresh.
WORKLIST_POLL_SECONDS = env.int("WORKLIST_POLL_SECONDS", default=180)

# Repayment plans and promises (collections_app.plans). Hard limits that no approval can lift; what each role may
# grant without approval is the ApprovalLimit model (admin), with PLAN_DEFAULT_APPROVAL_LIMITS when it has no row.
from decimal import Decimal  # noqa: E402
from typing import Any  # noqa: E402

PLAN_MIN_INSTALLMENT = Decimal(env("PLAN_MIN_INSTALLMENT", default="100"))
PLAN_MAX_INSTALLMENTS = env.int("PLAN_MAX_INSTALLMENTS", default=24)
PLAN_MAX_TERM_DAYS = env.int("PLAN_MAX_TERM_DAYS", default=365)
PLAN_MAX_FIRST_PAYMENT_DELAY_DAYS = env.int("PLAN_MAX_FIRST_PAYMENT_DELAY_DAYS", default=60)
PLAN_MAX_DISCOUNT_PERCENT = Decimal(env("PLAN_MAX_DISCOUNT_PERCENT", default="60"))
# Keyword arguments of collections_app.plans.terms.Limits, per role.
PLAN_DEFAULT_APPROVAL_LIMITS: dict[str, dict[str, Any]] = {
    "Collector": {"max_installments": 6, "max_discount_percent": Decimal("10"), "max_first_payment_delay_days": 14},
    "Supervisor": {"max_installments": 12, "max_discount_percent": Decimal("30"), "max_first_payment_delay_days": 30},
}
PROMISE_MAX_DAYS = env.int("PROMISE_MAX_DAYS", default=30)
# A promise or installment is broken when nothing (or not enough) was paid by its date plus this many days.
PROMISE_GRACE_DAYS = env.int("PROMISE_GRACE_DAYS", default=2)
# How long a broken promise or plan keeps the account high on the worklist and in the collector's alerts.
PROMISE_BROKEN_WORKLIST_DAYS = env.int("PROMISE_BROKEN_WORKLIST_DAYS", default=7)

# Complaints (issue 6; see collections_app/complaints/services.py).
# Deadlines: acknowledge by the end of the Nth business day after the day of receipt (Saturdays, Sundays and the
# jurisdiction's PublicHoliday rows skipped), resolve by the end of the Nth calendar day; both in the
# jurisdiction's local time. Overdue complaints are escalated to compliance by the beat task above.
COMPLAINT_ACK_BUSINESS_DAYS = env.int("COMPLAINT_ACK_BUSINESS_DAYS", default=2)
COMPLAINT_RESOLVE_CALENDAR_DAYS = env.int("COMPLAINT_RESOLVE_CALENDAR_DAYS", default=15)
# Categories whose complaint places a complaint_hold restriction on the borrower, per jurisdiction code (a code
# missing here uses "default"). Whether the hold then blocks contact is the contact policy version's
# complaint_hold_blocks flag.
COMPLAINT_HOLD_CATEGORIES = {
    "default": {"contact_frequency", "third_party_disclosure", "privacy"},
    "CN": {"contact_frequency", "third_party_disclosure", "privacy"},
    "US": {"contact_frequency", "third_party_disclosure", "privacy"},
    "UK": {"contact_frequency", "third_party_disclosure", "privacy"},
}
# Complaints that go straight to the compliance queue, whoever the collector: personal-data complaints (PIPL art.
# 50 requests, a data incident) and referrals from a regulator, which compliance answers.
COMPLAINT_COMPLIANCE_CATEGORIES = {"privacy"}
COMPLAINT_COMPLIANCE_CHANNELS = {"regulator_referral"}
# The evidence panel shows the borrower's contact attempts from this many days before the complaint was received.
COMPLAINT_EVIDENCE_LOOKBACK_DAYS = env.int("COMPLAINT_EVIDENCE_LOOKBACK_DAYS", default=30)
