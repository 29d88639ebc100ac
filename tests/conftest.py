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

pytest_plugins = ["tests.s3", "tests.oracle_server"]

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


# The one small scorer the tests share (trained once per test run by the real label -> train_scorer
# stages on tests/quality.py's corpus): DAG tests that score files point quality_scorer at it.
SCORER_DATE = "2026-11-01"
SCORER_SETTINGS = {"quality_max_tokens": 64, "quality_epochs": 4, "quality_batch_size": 8,
                   "quality_learning_rate": 3e-4, "quality_min_steps": 0}
ORACLE_KEY = "sk-test-oracle-5ec1e7-never-logged"


@pytest.fixture(scope="session")
def trained_scorer(tmp_path_factory, s3_server):
    """Runs corpus -> label -> train_scorer -> score -> quality and publishes it (a snapshot and, since the
    run trained its own scorer, scorer version SCORER_DATE). An oracle key in the environment must end up
    nowhere (tests/test_quality.py greps for it).

    s3_server first, as for `spark`: these stages start this process's Spark JVM, and a JVM started before
    the S3 test credentials are in the environment leaves every later in-process s3:// stage without them."""
    from types import SimpleNamespace

    from seedlib.publish import publish_run
    from seedlib.quality import scorers
    from seedlib.run import prepare_run, snapshot_prefix
    from seedlib.runner import launch
    from tests.quality import QUALITY

    root = tmp_path_factory.mktemp("scorer") / "data"
    os.environ["SEED_ORACLE_API_KEY"] = ORACLE_KEY
    try:
        spec = prepare_run({"storage": root.as_uri(), "snapshot_date": SCORER_DATE, **SCORER_SETTINGS}, None,
                           "manual__scorer", os.environ, pipeline="tests.quality:QUALITY")
        reports = {s.name: launch("tests.quality:QUALITY", s.name, spec.ref()) for s in QUALITY.stages}
        published = publish_run(spec, QUALITY)
    finally:
        del os.environ["SEED_ORACLE_API_KEY"]
    storage = spec.storage()
    return SimpleNamespace(root=root, storage=storage, spec=spec, reports=reports, snapshot=published,
                           uri=storage.uri(snapshot_prefix(SCORER_DATE, scorers.PREFIX)),
                           scorer=storage.read_json(f"{snapshot_prefix(SCORER_DATE, scorers.PREFIX)}/_MANIFEST.json"))


@pytest.fixture
def shared_scorer(trained_scorer, monkeypatch):
    """Runs in this test score with the shared scorer (never train one)."""
    monkeypatch.setenv("SEED_QUALITY_SCORER", trained_scorer.uri)
    return trained_scorer
