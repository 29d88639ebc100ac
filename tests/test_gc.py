"""`seed gc`: unpublished runs older than the grace period are deleted, everything else is left alone.

Each storage holds one snapshot date with three runs, as a superseding rerun leaves them: the published
one (its manifest points into it; it is the oldest), a stale unpublished one (48 h old) and a fresh
unpublished one (still running, say). gc with the default 24 h grace deletes exactly the stale one.
"""

from __future__ import annotations

import datetime as dt

import pytest

from seedlib import cleanup, manifest
from seedlib.storage import open_storage
from tests.test_cli import seed, user_env

DATE = "2026-01-01"
BASE = f"snapshots/dt={DATE}"
# Run ids as safe_run_id() writes Airflow's run ids (':' and '+' become '_').
PUBLISHED = "scheduled__2026-01-01T02_00_00_00_00"
STALE = "manual__2026-01-02T10_00_00.000001_00_00"
FRESH = "manual__2026-01-03T09_00_00.000001_00_00"


def _write_run(store, run_id: str, age_hours: float) -> None:
    created = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=age_hours)
    store.write_json(f"{BASE}/runs/{run_id}/_RUN.json",
                     {"snapshot": DATE, "run_id": run_id, "created_at": created.isoformat(timespec="seconds")})
    store.write_bytes(f"{BASE}/runs/{run_id}/stages/crawl/files/part-00000.parquet", b"not really parquet")


def make_layout(store) -> None:
    _write_run(store, PUBLISHED, age_hours=24 * 10)
    _write_run(store, STALE, age_hours=48)
    _write_run(store, FRESH, age_hours=0.1)
    store.write_json(f"{BASE}/_MANIFEST.json", {
        "snapshot": DATE, "created_at": "2026-01-02T02:30:00+00:00", "code_version": "test", "config": {},
        "stages": [],
        "datasets": {"files": {"format": "parquet", "rows": 1,
                               "paths": [f"runs/{PUBLISHED}/stages/crawl/files/part-00000.parquet"]},
                     "commits": {"format": "parquet", "rows": 0, "paths": []}},
    })


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return open_storage(str(tmp_path / "data"))
    uri, settings = request.getfixturevalue("s3_root")
    return open_storage(uri, settings)


def test_gc_deletes_exactly_the_stale_unpublished_run(store):
    make_layout(store)
    before = store.list()
    published = manifest.read(store, DATE)

    garbage = cleanup.find_garbage(store, older_than_hours=24)
    assert [(g.snapshot, g.run_id, g.prefix) for g in garbage] == [(DATE, STALE, f"{BASE}/runs/{STALE}")]
    assert 47.9 < garbage[0].age_hours < 48.1
    assert cleanup.collect(store, garbage) == 2  # _RUN.json and the part

    assert store.list() == [k for k in before if f"/runs/{STALE}/" not in k]
    assert store.list_dirs(f"{BASE}/runs") == sorted([PUBLISHED, FRESH])
    assert manifest.read(store, DATE) == published
    assert cleanup.find_garbage(store, older_than_hours=24) == []


def test_gc_without_grace_takes_every_unpublished_run_but_never_the_published_one(store):
    make_layout(store)
    store.write_bytes(f"{BASE}/runs/crashed/stages/crawl/_FAILED.json", b"{}")  # no _RUN.json at all
    garbage = cleanup.find_garbage(store, older_than_hours=0)
    assert sorted(g.run_id for g in garbage) == sorted(["crashed", STALE, FRESH])
    assert [g.age_hours for g in garbage if g.run_id == "crashed"] == [None]
    cleanup.collect(store, garbage)
    assert store.list_dirs(f"{BASE}/runs") == [PUBLISHED]


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_seed_gc_dry_run_lists_then_gc_deletes(tmp_path, request, backend):
    """The CLI as a user runs it: dry run lists the stale run and deletes nothing; gc deletes it; then
    there is nothing to delete."""
    if backend == "local":
        uri, env = str(tmp_path / "data"), user_env()
        store = open_storage(uri)
    else:
        uri, settings = request.getfixturevalue("s3_root")
        env = user_env(SEED_S3_ENDPOINT_URL=settings.endpoint_url)  # AWS_* come from the s3 fixture
        store = open_storage(uri, settings)
    make_layout(store)
    before = store.list()
    work = tmp_path / "work"
    work.mkdir()

    dry = seed("gc", "--dry-run", "--storage", uri, cwd=work, env=env, timeout=120)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[0].startswith(f"would delete {store.uri(f'{BASE}/runs/{STALE}')}/ "
                                                 "(unpublished, 48.0 h old)"), dry.stdout
    assert "would delete 1 unpublished runs" in dry.stdout and FRESH not in dry.stdout
    assert store.list() == before

    gc = seed("gc", "--storage", uri, cwd=work, env=env, timeout=120)
    assert gc.returncode == 0, gc.stderr
    assert f"deleting {store.uri(f'{BASE}/runs/{STALE}')}/" in gc.stdout
    assert "deleted 1 unpublished runs (2 objects)" in gc.stdout
    assert store.list_dirs(f"{BASE}/runs") == sorted([PUBLISHED, FRESH])

    again = seed("gc", "--storage", uri, cwd=work, env=env, timeout=120)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("nothing to delete"), again.stdout
    assert not (work / ".seed" / "airflow").exists()  # gc never starts Airflow
