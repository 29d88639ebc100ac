"""Garbage collection of unpublished run prefixes (`seed gc`).

A run's work lives under `PREFIX/dt=D/runs/RUN/` (PREFIX: each declared pipeline's publications, e.g.
`snapshots`; an export's runs are under `snapshots/dt=D/export/PHASE/runs/RUN/`) until its manifest is
published. Runs that failed, were killed, or were superseded by a later publication of the same date
are garbage once they are older than a grace period (so a run still in progress is never touched).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from seedlib import manifest
from seedlib.run import publication_keys, publications_of, snapshot_prefix
from seedlib.storage import Storage


@dataclass(frozen=True)
class Garbage:
    snapshot: str
    run_id: str
    prefix: str  # `snapshots/dt=D/runs/RUN`: a key prefix as Storage takes it (no trailing '/')
    age_hours: float | None  # None: the prefix has no _RUN.json


def published_runs(m: dict | None) -> set[str]:
    """The run ids a manifest's datasets point into (paths are `runs/RUN/...`): all of them are kept."""
    if not m:
        return set()
    return {path.split("/")[1] for ds in m["datasets"].values() for path in ds["paths"]
            if path.startswith("runs/")}


def find_garbage(storage: Storage, older_than_hours: float, now: dt.datetime | None = None) -> list[Garbage]:
    """Every run prefix that no published manifest points into and whose run started that long ago.

    A run's age is taken from its `_RUN.json` (prepare writes it before anything else of the run), so a
    prefix without one is left over from a crash or an interrupted delete and is always garbage.
    """
    from seedlib.pipelines import PIPELINES

    now = now or dt.datetime.now(dt.timezone.utc)
    found = []
    for publications in sorted({pubs for p in PIPELINES.values() for pubs in publications_of(p.prefix)}):
        found += _garbage_of(storage, publications, older_than_hours, now)
    return found


def _garbage_of(storage: Storage, publications: str, older_than_hours: float, now: dt.datetime) -> list[Garbage]:
    found = []
    for snapshot in publication_keys(storage, publications):
        keep = published_runs(manifest.read(storage, snapshot, publications))
        runs_prefix = f"{snapshot_prefix(snapshot, publications)}/runs"
        for run_id in storage.list_dirs(runs_prefix):
            if run_id in keep:
                continue
            prefix = f"{runs_prefix}/{run_id}"
            run_file = f"{prefix}/_RUN.json"
            age = None
            if storage.exists(run_file):
                created = dt.datetime.fromisoformat(storage.read_json(run_file)["created_at"])
                age = (now - created).total_seconds() / 3600
            if age is None or age >= older_than_hours:
                found.append(Garbage(snapshot, run_id, prefix, age))
    return found


def collect(storage: Storage, garbage: list[Garbage]) -> int:
    """Delete the garbage's prefixes; returns how many objects were deleted."""
    return sum(storage.delete_prefix(g.prefix) for g in garbage)
