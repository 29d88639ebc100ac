"""Garbage collection of unpublished run prefixes (`seed gc`).

A run's work lives under `snapshots/dt=D/runs/RUN/` until its manifest is published. Runs that failed,
were killed, or were superseded by a later publication of the same date are garbage once they are older
than a grace period (so a run still in progress is never touched).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from seedlib import manifest
from seedlib.run import snapshot_prefix
from seedlib.storage import Storage


@dataclass(frozen=True)
class Garbage:
    snapshot: str
    run_id: str
    prefix: str
    age_hours: float


def published_run(m: dict | None) -> str | None:
    """The run id a manifest's datasets point into (paths are `runs/RUN/...`)."""
    if not m:
        return None
    for ds in m["datasets"].values():
        for path in ds["paths"]:
            if path.startswith("runs/"):
                return path.split("/")[1]
    return None


def find_garbage(storage: Storage, older_than_hours: float, now: dt.datetime | None = None) -> list[Garbage]:
    now = now or dt.datetime.now(dt.timezone.utc)
    found = []
    for name in storage.list_dirs("snapshots/"):
        name = name.rstrip("/")
        if not name.startswith("dt="):
            continue
        snapshot = name[3:]
        keep = published_run(manifest.read(storage, snapshot))
        runs_prefix = f"{snapshot_prefix(snapshot)}/runs/"
        for run_id in storage.list_dirs(runs_prefix):
            run_id = run_id.rstrip("/")
            if run_id == keep:
                continue
            prefix = f"{runs_prefix}{run_id}/"
            run_file = f"{prefix}_RUN.json"
            created = (dt.datetime.fromisoformat(storage.read_json(run_file)["created_at"])
                       if storage.exists(run_file) else dt.datetime.min.replace(tzinfo=dt.timezone.utc))
            age = (now - created).total_seconds() / 3600
            if age >= older_than_hours:
                found.append(Garbage(snapshot, run_id, prefix, age))
    return found


def collect(storage: Storage, garbage: list[Garbage]) -> int:
    return sum(storage.delete_prefix(g.prefix) for g in garbage)
