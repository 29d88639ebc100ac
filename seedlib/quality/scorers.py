"""Published scorer versions: which one a run uses, where its model is, and publishing a trained one.

A scorer version is a publication of its own, `<root>/scorers/<version>/_MANIFEST.json` (the version is the
date of the snapshot its labels were drawn from), with datasets `labels` (Parquet) and `scorer` (a Hugging
Face model folder) and a top-level `scorer` block: version, base model, oracle, label count, held-out MAE,
class-balanced MAE and the predict-the-mean baseline.

- `seed_train_scorer` (pipeline SCORERS) labels a published snapshot and publishes a version.
- `seed_snapshot` uses the latest version (or `quality_scorer`). When none is published (or with
  `quality_retrain`) the run trains its own with the same stages, and its publish step publishes that scorer
  as version <snapshot date> too: the files are copied under `scorers/<version>/runs/...`, so the scorer
  never depends on a snapshot run that a later `seed gc` may delete.
The choice is made once when the run starts (`prepare_snapshot`, recorded in `_RUN.json`), so a resumed
run scores with the scorer it started with.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from dataclasses import dataclass
from pathlib import Path

from seedlib import manifest
from seedlib.config import Config, ConfigError
from seedlib.pipelines import SCORER, Pipeline
from seedlib.quality import models
from seedlib.run import RUN_FILE, RunSpec, manifest_key, snapshot_prefix
from seedlib.stage import StageReport
from seedlib.storage import S3Settings, Storage, open_storage
from seedlib.version import code_version

PREFIX = "scorers"
MANIFEST = "_MANIFEST.json"
MODEL = "scorer"                     # the dataset that is a model folder (manifest format "model")
TRAINING = ("label", "train_scorer")
QUALITY_STAGES = (*TRAINING, "score", "quality")


def versions(storage: Storage) -> list[str]:
    return manifest.list_snapshots(storage, PREFIX)


def latest(storage: Storage) -> str | None:
    found = versions(storage)
    return found[-1] if found else None


def prepare_snapshot(storage: Storage, config: Config, snapshot: str, skip: tuple[str, ...]) -> dict:
    """The scorer a snapshot run uses: the configured or latest version, else train one in the run."""
    if {"score", "quality"} & set(skip):
        return {"record": {"scorer": None}, "skip": list(QUALITY_STAGES)}
    q = config.quality
    if "://" in q.scorer:  # a published scorer of another storage root
        if not open_scorer_root(q.scorer, config).exists(MANIFEST):
            raise ConfigError(f"quality_scorer: no scorer manifest at {q.scorer.rstrip('/')}/{MANIFEST}")
        return {"record": {"scorer": {"uri": q.scorer}}, "skip": list(TRAINING)}
    published = versions(storage)
    if q.scorer and q.scorer not in published:
        raise ConfigError(f"quality_scorer: no scorer {q.scorer!r} is published under {storage.uri(PREFIX)} "
                          f"(published: {', '.join(published) or 'none'})")
    version = q.scorer or (published[-1] if published else None)
    if version and not q.retrain:
        return {"record": {"scorer": {"version": version}}, "skip": list(TRAINING)}
    if version is None and not q.train_if_missing:
        raise ConfigError("quality_train_if_missing: no scorer is published and this run may not train one; "
                          "run `seed train-scorer`, set quality_train_if_missing, or skip the quality stage")
    if set(TRAINING) & set(skip):
        why = "none is published" if version is None else "quality_retrain is set"
        raise ConfigError(f"skip: this run trains its scorer ({why}), so label and train_scorer cannot be skipped")
    return {"record": {"scorer": {"train": True}}}


def prepare_training(storage: Storage, config: Config, snapshot: str, skip: tuple[str, ...]) -> dict:
    """A scorer-training run labels the snapshot of its date, or the latest one published before it."""
    dates = [d for d in manifest.list_snapshots(storage) if d <= snapshot]
    if not dates:
        raise ConfigError(f"snapshot_date: no snapshot is published on or before {snapshot} under "
                          f"{storage.uri('snapshots')}; run `seed run` first")
    return {"record": {"label_source": dates[-1]}}


def run_record(storage: Storage, spec: RunSpec) -> dict:
    return storage.read_json(f"{spec.prefix}/{RUN_FILE}")


@dataclass(frozen=True)
class Scorer:
    folder: Path   # a local model folder (loaded with seedlib.quality.models.load_regressor)
    info: dict     # the manifest's `scorer` block


def for_run(storage: Storage, spec: RunSpec, report_of) -> Scorer:
    """The scorer a snapshot run decided on: this run's train_scorer output, or a published version."""
    decided = run_record(storage, spec).get("scorer") or {}
    if decided.get("train"):
        report: StageReport = report_of("train_scorer")
        keys = report.datasets[MODEL]["paths"]
        return Scorer(_fetch(storage, keys), report.details["scorer"])
    if decided.get("uri"):
        return load_uri(decided["uri"], spec.load_config())
    if not decided.get("version"):
        raise ConfigError("this run decided on no scorer (its quality stages are skipped)")
    return load_version(storage, decided["version"])


def load_version(storage: Storage, version: str) -> Scorer:
    """A scorer version published under this storage root."""
    if manifest.read(storage, version, PREFIX) is None:
        raise ConfigError(f"quality_scorer: no scorer {version!r} is published under {storage.uri(PREFIX)}")
    return _load(storage, snapshot_prefix(version, PREFIX))


def load_uri(uri: str, config: Config) -> Scorer:
    """A scorer by the URI of its folder (`.../scorers/<version>`), in any storage root."""
    return _load(open_scorer_root(uri, config), "")


def _load(storage: Storage, base: str) -> Scorer:
    m = storage.read_json(f"{base}/{MANIFEST}".lstrip("/"))
    keys = [f"{base}/{p}".lstrip("/") for p in m["datasets"][MODEL]["paths"]]
    return Scorer(_fetch(storage, keys, m["created_at"]), m["scorer"])


def open_scorer_root(uri: str, config: Config) -> Storage:
    return open_storage(uri.rstrip("/"), S3Settings(endpoint_url=config.s3.endpoint_url or None,
                                                    region=config.s3.region))


def _fetch(storage: Storage, keys: list[str], stamp: str = "") -> Path:
    prefix = posixpath.dirname(next(k for k in keys if k.endswith("config.json")))
    return models.fetch_keys(storage, keys, prefix, f"{storage.uri(prefix)}@{stamp}")


def dataset_format(name: str) -> str:
    return "model" if name == MODEL else "parquet"


def publish_trained(storage: Storage, spec: RunSpec, pipeline: Pipeline, reports: dict[str, StageReport]) -> dict | None:
    """Publish the scorer a non-scorer pipeline's run trained as version <snapshot date>; returns the
    scorer block (None when the run trained none). Its files are copied into the version's own folder."""
    stages = [s for s in pipeline.stages if s.datasets(SCORER) and not reports[s.name].skipped]
    if not stages:
        return None
    version = spec.snapshot
    base = snapshot_prefix(version, PREFIX)
    run_dir = f"{base}/runs/{pipeline.name}-{spec.run_id}"
    out, block = {}, None
    for stage in stages:
        report = reports[stage.name]
        block = report.details.get("scorer", block)
        for name in stage.datasets(SCORER):
            written = report.datasets.get(name, {"paths": [], "rows": 0})
            paths = []
            for key in written["paths"]:
                copy = f"{run_dir}/{key[len(spec.prefix) + 1:]}"
                storage.write_bytes(copy, storage.read_bytes(key))
                paths.append(copy[len(base) + 1:])
            out[name] = {"format": dataset_format(name), "paths": paths, "rows": written["rows"]}
    storage.write_json(f"{run_dir}/{RUN_FILE}", {
        "copied_from": storage.uri(spec.prefix), "run_id": spec.run_id, "snapshot": version,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
    result = manifest.build(version, code_version(), spec.config, out,
                            [reports[s.name].manifest_entry() for s in stages], scorer=block)
    manifest.publish(storage, result, storage.version(manifest_key(version, PREFIX)), PREFIX)
    return block
