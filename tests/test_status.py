"""seed status as data (seedlib/status.py): unfinished runs with their progress, publications, the scorer."""

from __future__ import annotations

import datetime as dt

from seedlib import status
from seedlib.storage import open_storage


def test_unfinished_run_progress_and_failure(tmp_path):
    storage = open_storage(f"file://{tmp_path}")
    run = "snapshots/dt=2026-03-01/runs/r1"
    storage.write_json(f"{run}/_RUN.json", {"pipeline": "snapshots", "created_at": "2026-03-01T02:00:00+00:00"})
    storage.write_json(f"{run}/stages/crawl/_STAGE.json", {"name": "crawl"})
    storage.write_json(f"{run}/stages/exact_dedup/_PLAN.json", {"parts": 3})
    storage.write_json(f"{run}/stages/exact_dedup/_parts/part-00000.json", {"part": 0, "rows": []})
    done = "snapshots/dt=2026-03-02/runs/r2"  # a published run is not unfinished
    storage.write_json(f"{done}/_RUN.json", {"pipeline": "snapshots", "created_at": "2026-03-02T02:00:00+00:00"})
    storage.write_json(f"{done}/_DONE.json", {})
    web = "web/dt=2026-03-03/runs/w1"
    storage.write_json(f"{web}/_RUN.json", {"pipeline": "web", "created_at": "2026-03-03T02:00:00+00:00"})
    storage.write_json(f"{web}/stages/ingest/_FAILED.json", {"stage": "ingest", "error": "boom", "retry": False})

    seen = status.collect(storage, now=dt.datetime(2026, 3, 4, tzinfo=dt.timezone.utc))
    assert seen["snapshots"] == [] and seen["web"] == [] and seen["scorer"] == {"latest": None, "versions": 0}
    first, second = seen["unfinished"]
    assert (first["run_id"], first["stages_done"], first["running"], first["parts_done"], first["parts_planned"]) \
        == ("r1", 1, "exact_dedup", 1, 3)
    assert first["stages"] > 5 and first["failed"] is None
    assert (second["publications"], second["running"], second["failed"]) == ("web", None, {"stage": "ingest", "error": "boom"})
    assert status.collect(storage, only="2026-03-03")["unfinished"][0]["run_id"] == "w1"
