"""Development on one machine: SQLite, eager Celery, console e-mail. The keys below are for development only
and are printed nowhere; production.py refuses to start without real ones."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-insecure-secret-key-change-me-in-production")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

# Development keys (never used in production: production.py has no defaults).
FERNET_KEYS = env.list("FERNET_KEYS", default=["dev-only-fernet-key-0000000000000000000000"])
BLIND_INDEX_KEY = env("BLIND_INDEX_KEY", default="dev-only-blind-index-key-00000000000000")
AUDIT_CHAIN_KEYS = env.list("AUDIT_CHAIN_KEYS", default=["dev1:dev-only-audit-chain-key-000000000000000000"])
AUDIT_CHECKPOINT_SIGNING_KEY = env(
    "AUDIT_CHECKPOINT_SIGNING_KEY", default="l9j3I185CCEM8vMabq0Xd/2OSZIT4pyBWdFHgGaqCJo="
)

CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="memory://")

EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
