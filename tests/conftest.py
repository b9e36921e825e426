"""Shared fixtures. TensorFlow's console chatter is silenced before it is imported."""

from __future__ import annotations

import os
import secrets
import warnings

import pytest

from tests import servers

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# ML Metadata's C++ INFO lines (one per PostgreSQL connection), as the CLI does.
os.environ.setdefault("GLOG_minloglevel", "1")
warnings.filterwarnings("ignore")


@pytest.fixture(scope="session")
def server_password() -> str:
    """The database password of this session: it must never appear in anything written."""
    return f"nl-secret-{secrets.token_hex(12)}"


@pytest.fixture(scope="session")
def mysql_server(server_password):
    """A MariaDB server on loopback, installed and started once per session."""
    yield from servers.mariadb(server_password)


@pytest.fixture(scope="session")
def postgresql_server(server_password):
    """A PostgreSQL server on loopback, installed and started once per session."""
    yield from servers.postgresql(server_password)
