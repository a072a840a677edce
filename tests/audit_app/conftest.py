"""Fixtures of the audit tests (helpers.py holds the helpers the tests import)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def checkpoint_dir(settings, tmp_path):
    """Checkpoints describe one database: each test gets its own directory, as each gets its own data."""
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "audit-checkpoints"
    return settings.AUDIT_CHECKPOINT_DIR
