"""Production: every secret comes from the environment and has no default (a missing one stops start-up)."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)

FERNET_KEYS = env.list("FERNET_KEYS")
BLIND_INDEX_KEY = env("BLIND_INDEX_KEY")
# The audit chain's HMAC keys ("id:key,...", first seals) and the checkpoint signer's Ed25519 private key.
AUDIT_CHAIN_KEYS = env.list("AUDIT_CHAIN_KEYS")
AUDIT_CHECKPOINT_SIGNING_KEY = env("AUDIT_CHECKPOINT_SIGNING_KEY")
# Beat seals every AUDIT_SEAL_SECONDS; enqueueing a seal per committed transaction would flood the broker.
AUDIT_SEAL_ON_COMMIT = env.bool("AUDIT_SEAL_ON_COMMIT", default=False)

CELERY_BROKER_URL = env("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = False

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
