"""Test settings: fast hashing, eager Celery, fixed keys. DATABASE_URL selects PostgreSQL when set."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALERT_EMAILS = ["compliance-alerts@example.test"]

FERNET_KEYS = ["test-fernet-key-one", "test-fernet-key-old"]
BLIND_INDEX_KEY = "test-blind-index-key"
AUDIT_CHAIN_KEYS = ["t2:test-audit-chain-key-two-000000000000000000", "t1:test-audit-chain-key-one-00000000000000000"]
AUDIT_CHECKPOINT_SIGNING_KEY = "O88lGrIx4joqPPajUVVp503eXm3enXRS89qTAYVZy+s="
AUDIT_CHECKPOINT_PUBLIC_KEY = ""
# Per test process: checkpoints must never outlive the test database they describe (tests/audit_app overrides it
# with a fresh directory per test).
AUDIT_CHECKPOINT_DIR = Path(tempfile.gettempdir()) / f"collector-desk-test-audit-checkpoints-{os.getpid()}"
AUDIT_SEAL_ON_COMMIT = True

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = "memory://"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
# Assertions read in English; tests/test_translations.py checks the zh-hans default explicitly.
LANGUAGE_CODE = "en"
