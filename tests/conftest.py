"""Shared test setup: one embedded Airflow home, one Spark session and one S3 server per test run.

Airflow reads its configuration when first imported, so the embedded environment is applied here, at
import time, before any test module can import airflow.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import pytest

from seedlib import embedded

pytest_plugins = ["tests.s3"]

_HOME = Path(tempfile.mkdtemp(prefix="seed-tests-"))
embedded.apply(embedded.environment(os.environ, home=_HOME, spark_master="local[2]"))
# Tests pass their own storage; never write into the developer's ./.seed.
for _key in [k for k in os.environ if k.startswith("SEED_") and k != "SEED_HOME"]:
    del os.environ[_key]


@pytest.fixture(scope="session")
def seed_home() -> Path:
    return _HOME


@pytest.fixture(scope="session")
def airflow_db():
    """A fresh embedded metadata DB for this test run."""
    from airflow.utils import db

    db.resetdb()
    yield


@pytest.fixture(scope="session")
def spark(s3_server):
    # s3_server first: it puts the S3 test credentials into the environment, which Spark's Python workers
    # inherit when the JVM starts (stages that run in-process on this session read s3:// through them).
    # py4j logs "Closing down clientserver connection" from __del__ at interpreter exit, after pytest
    # closed its streams ("--- Logging error ---" noise at the end of the run): keep it below INFO.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    from seedlib.spark import session

    s = session("seed-tests", master="local[2]", partitions=2)
    yield s
    s.stop()
