"""What `seed status` shows, as data: every publication, unfinished runs with their progress, the scorer.

`collect(storage)` returns one JSON-able dict (`seed status --json` prints it as is; the text view is drawn
from the same dict, so the two never disagree):

    {"root": URI, "now": ISO-8601,
     "snapshots": [{"snapshot", "created_at", "age_hours", "files", "corpus", "dropped", "repos",
                    "datasets": {name: rows}, "stages": [{"name", "rows_in", "rows_out", "dropped", "seconds"}],
                    "tokens": {"files": n, "method": exact|sample|..., "report": URI (from its current
                               report), "regular"/"continued": n (from its exports)}, "scorer": version or null}],
     "web": [... the same for web publications: "pages", "dropped" ...],
     "unfinished": [{"publications", "snapshot", "run_id", "created_at", "stages_done", "stages",
                     "running": stage or null, "parts_done", "parts_planned", "failed": {stage, error} or null}],
     "scorer": {"latest": version or null, "versions": n}}
"""

from __future__ import annotations

import datetime as dt

from seedlib import manifest, pipelines
from seedlib.run import DONE_FILE, RUN_FILE, publication_keys, publications_of, snapshot_prefix
from seedlib.stage import FAILED_FILE, PARTS_DIR, PLAN_FILE, STAGE_FILE
from seedlib.storage import Storage


def _age_hours(created_at: str, now: dt.datetime) -> float | None:
    try:
        created = dt.datetime.fromisoformat(created_at)
    except (TypeError, ValueError):
        return None
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.timezone.utc)
    return round((now - created).total_seconds() / 3600, 2)


def _stages(m: dict) -> list[dict]:
    return [{k: s.get(k) for k in ("name", "rows_in", "rows_out", "dropped", "seconds", "skipped")}
            for s in m.get("stages", [])]


def _tokens(storage: Storage, snapshot: str) -> dict:
    """Token totals: of the kept files, from the snapshot's current report (`method` says whether counted
    exactly or estimated from a sample), and of its published exports per phase (counted at export time)."""
    from seedlib import report

    out: dict = {}
    summary = report.summary(storage, snapshot)
    if summary:
        out["files"], out["method"], out["report"] = summary["tokens"], summary["tokens_method"], summary["report"]
    for phase in ("regular", "continued"):
        e = manifest.read(storage, snapshot, f"exports/{phase}")
        if e and e.get("export"):
            out[phase] = e["export"].get("tokens")
    return out


def _snapshot(storage: Storage, m: dict, now: dt.datetime) -> dict:
    ds = m["datasets"]
    rows = {name: d["rows"] for name, d in sorted(ds.items())}
    return {"snapshot": m["snapshot"], "created_at": m["created_at"], "age_hours": _age_hours(m["created_at"], now),
            "files": rows.get("files"), "corpus": rows.get("corpus_index"), "dropped": rows.get("dropped"),
            "repos": rows.get("repos"), "datasets": rows, "stages": _stages(m),
            "tokens": _tokens(storage, m["snapshot"]), "scorer": (m.get("scorer") or {}).get("version")}


def _web(m: dict, now: dt.datetime) -> dict:
    rows = {name: d["rows"] for name, d in sorted(m["datasets"].items())}
    return {"snapshot": m["snapshot"], "created_at": m["created_at"], "age_hours": _age_hours(m["created_at"], now),
            "pages": rows.get("web"), "dropped": rows.get("web_dropped"), "datasets": rows, "stages": _stages(m)}


def _progress(storage: Storage, publications: str, snapshot: str, run_id: str, run: dict) -> dict:
    """How far an unfinished run got: stages with a report, the first one without (running or failed)."""
    prefix = f"{snapshot_prefix(snapshot, publications)}/runs/{run_id}"
    try:
        stages = pipelines.get(run.get("pipeline", "snapshots")).names
    except (KeyError, ValueError, ImportError, AttributeError, TypeError):
        stages = []
    out = {"publications": publications, "snapshot": snapshot, "run_id": run_id,
           "created_at": run.get("created_at"), "stages": len(stages), "stages_done": 0, "running": None,
           "parts_done": None, "parts_planned": None, "failed": None}
    for name in stages:
        stage = f"{prefix}/stages/{name}"
        if storage.exists(f"{stage}/{STAGE_FILE}"):
            out["stages_done"] += 1
            continue
        if storage.exists(f"{stage}/{FAILED_FILE}"):
            out["failed"] = {"stage": name, "error": storage.read_json(f"{stage}/{FAILED_FILE}").get("error")}
        out["running"] = None if out["failed"] else name
        out["parts_done"] = len(storage.list(f"{stage}/{PARTS_DIR}"))
        if storage.exists(f"{stage}/{PLAN_FILE}"):
            out["parts_planned"] = storage.read_json(f"{stage}/{PLAN_FILE}").get("parts")
        break
    return out


def unfinished(storage: Storage) -> list[dict]:
    """Runs with a _RUN.json and no _DONE.json, in every pipeline's publications, oldest first."""
    out = []
    for pipeline in pipelines.PIPELINES.values():
        families = publications_of(pipeline.prefix)
        for publications in families:
            for date in publication_keys(storage, publications):
                runs = f"{snapshot_prefix(date, publications)}/runs/"
                for run_id in storage.list_dirs(runs):
                    run_id = run_id.rstrip("/")
                    if storage.exists(f"{runs}{run_id}/{DONE_FILE}") or not storage.exists(f"{runs}{run_id}/{RUN_FILE}"):
                        continue
                    run = storage.read_json(f"{runs}{run_id}/{RUN_FILE}")
                    out.append(_progress(storage, publications, date, run_id, run))
    return sorted(out, key=lambda r: (r["created_at"] or "", r["run_id"]))


def collect(storage: Storage, only: str | None = None, now: dt.datetime | None = None) -> dict:
    """Everything `seed status` shows (`only`: one snapshot date)."""
    from seedlib.quality import scorers

    now = now or dt.datetime.now(dt.timezone.utc)
    dates = [only] if only else manifest.list_snapshots(storage)
    snaps = [_snapshot(storage, m, now) for m in (manifest.read(storage, d) for d in dates) if m]
    web_dates = [only] if only else manifest.list_snapshots(storage, pipelines.WEB.prefix)
    web = [_web(m, now) for m in (manifest.read(storage, d, pipelines.WEB.prefix) for d in web_dates) if m]
    versions = scorers.versions(storage)
    return {"root": storage.root, "now": now.isoformat(timespec="seconds"), "snapshots": snaps, "web": web,
            "unfinished": [r for r in unfinished(storage) if not only or r["snapshot"] == only],
            "scorer": {"latest": scorers.latest(storage), "versions": len(versions)}}
