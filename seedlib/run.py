"""A pipeline run: its identity, where its work in progress lives, how it starts and how it resumes.

Layout under the storage root (contract.md, "Storage"), for a pipeline publishing under PREFIX
(`snapshots` for seed_snapshot):

    PREFIX/dt=D/_MANIFEST.json                   the publish point, written last
    PREFIX/dt=D/runs/RUN/_RUN.json               the run's effective config, resolved sources, skipped stages
    PREFIX/dt=D/runs/RUN/stages/STAGE/...        each stage's parts, `_parts/` markers, `_STAGE.json` report
    PREFIX/dt=D/runs/RUN/_DONE.json              written after the run was published

An export (publications `exports/PHASE`) has the same layout inside its snapshot's folder:
`snapshots/dt=D/export/PHASE/_MANIFEST.json` and `snapshots/dt=D/export/PHASE/runs/RUN/...`.

A run resumes: a new DAG run of a date whose latest run did not finish, with the same configuration,
sources, skipped stages and code, continues in that run's prefix (finished stages and parts are kept);
`fresh` starts a new prefix. The published manifest is only replaced at the end.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from seedlib.config import Config, ConfigError, Secrets, config_from_dict, flat_dict, load_config
from seedlib.embedded import check_spark_master
from seedlib.sections import S3_REGION
from seedlib.sources import Discovery, parse_specs
from seedlib.sources.github import GitHubClient, Selection
from seedlib.sources.defaults import default_specs
from seedlib.storage import PROBE_S3, S3Settings, Storage, open_storage
from seedlib.version import code_version

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Run parameters (Airflow Params / CLI flags) that are not configuration keys (those are flat names).
RUN_PARAMS = ("snapshot_date", "config_file", "skip_stages", "fresh")
RUN_FILE, DONE_FILE = "_RUN.json", "_DONE.json"


# Exports are published beside the snapshot they come from, one folder per phase (contract.md, "Storage"):
# the publications `exports/PHASE` of date D live in `snapshots/dt=D/export/PHASE/` (seedlib/export/).
EXPORTS, EXPORT_FOLDER = "exports", "export"


def snapshot_prefix(snapshot: str, publications: str = "snapshots") -> str:
    """The folder of one date's publication of a pipeline (its manifest and its runs); a VERSIONED
    pipeline's folder is named by the version itself (`scorers/2026-12-01`); an export's is inside its
    snapshot's folder (`snapshots/dt=D/export/regular`)."""
    from seedlib.pipelines import VERSIONED

    if publications in VERSIONED:
        return f"{publications}/{snapshot}"
    family, _, phase = publications.partition("/")
    if family == EXPORTS:
        if not phase:
            raise ValueError(f"{EXPORTS}: publications of exports are per phase, {EXPORTS}/PHASE")
        return f"snapshots/dt={snapshot}/{EXPORT_FOLDER}/{phase}"
    return f"{publications}/dt={snapshot}"


def publication_keys(storage: Storage, publications: str) -> list[str]:
    """The dates (or versions) that have a folder under a pipeline's prefix, ascending."""
    from seedlib.pipelines import VERSIONED

    family, _, phase = publications.partition("/")
    if family == EXPORTS:  # the snapshot dates whose folder has an export of this phase
        return [d for d in publication_keys(storage, "snapshots")
                if phase in storage.list_dirs(f"snapshots/dt={d}/{EXPORT_FOLDER}/")]
    names = [n.rstrip("/") for n in storage.list_dirs(f"{publications}/")]
    if publications in VERSIONED:
        return sorted(n for n in names if _DATE.match(n))
    return sorted(n[3:] for n in names if n.startswith("dt="))


def publications_of(prefix: str) -> list[str]:
    """The publications a pipeline's runs live in: its prefix, or for exports one per phase."""
    if prefix == EXPORTS:
        from seedlib.samples.settings import PHASES

        return [f"{EXPORTS}/{phase}" for phase in PHASES]
    return [prefix]


def manifest_key(snapshot: str, publications: str = "snapshots") -> str:
    return f"{snapshot_prefix(snapshot, publications)}/_MANIFEST.json"


def storage_for(config: Config, quick: bool = False) -> Storage:
    """The configured storage root; `quick`: few attempts and short timeouts (for `storage.probe`)."""
    settings = {"max_attempts": config.s3.max_attempts} | (PROBE_S3 if quick else {})
    return open_storage(config.run.storage, S3Settings(endpoint_url=config.s3.endpoint_url or None,
                                                       region=config.s3.region, **settings))


@dataclass(frozen=True)
class RunSpec:
    """Everything a stage needs to find its run (no secrets: it travels to executors and tasks)."""

    snapshot: str
    run_id: str
    config: dict[str, Any]
    pipeline: str = "snapshots"       # name in seedlib.pipelines, or "module:ATTR"
    publications: str = "snapshots"   # the pipeline's publication prefix
    skip: tuple[str, ...] = field(default=())

    @property
    def prefix(self) -> str:
        return f"{snapshot_prefix(self.snapshot, self.publications)}/runs/{self.run_id}"

    def stage_prefix(self, stage: str) -> str:
        return f"{self.prefix}/stages/{stage}"

    def to_json(self) -> str:
        return json.dumps({"snapshot": self.snapshot, "run_id": self.run_id, "config": self.config,
                           "pipeline": self.pipeline, "publications": self.publications,
                           "skip": list(self.skip)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "RunSpec":
        data = json.loads(text)
        return cls(snapshot=data["snapshot"], run_id=data["run_id"], config=data["config"],
                   pipeline=data.get("pipeline", "snapshots"), publications=data.get("publications", "snapshots"),
                   skip=tuple(data.get("skip", ())))

    def ref(self) -> str:
        """What a task's command line carries: where the run is, not its configuration (the runner
        reads that from the run's _RUN.json)."""
        c = flat_dict(self.config)
        return json.dumps({"storage": c["storage"], "s3_endpoint_url": c.get("s3_endpoint_url", ""),
                           "s3_region": c.get("s3_region", S3_REGION), "run": self.prefix}, sort_keys=True)

    @classmethod
    def from_ref(cls, ref: str) -> "RunSpec":
        data = json.loads(ref)
        storage = open_storage(data["storage"], S3Settings(endpoint_url=data.get("s3_endpoint_url") or None,
                                                           region=data.get("s3_region", S3_REGION)))
        run = storage.read_json(f"{data['run']}/{RUN_FILE}")
        return cls(snapshot=run["snapshot"], run_id=run["run_id"], config=run["config"],
                   pipeline=run.get("pipeline", "snapshots"), publications=run.get("publications", "snapshots"),
                   skip=tuple(run.get("skip", ())))

    def load_config(self) -> Config:
        return config_from_dict(self.config)

    def storage(self) -> Storage:
        return storage_for(self.load_config())


def parse_snapshot_date(value: str, key: str = "snapshot_date") -> str:
    if not isinstance(value, str) or not _DATE.match(value):
        raise ConfigError(f"{key}: expected a date as YYYY-MM-DD, got {value!r}")
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{key}: {value!r} is not a real calendar date") from None
    return value


def safe_run_id(airflow_run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", airflow_run_id)[:200]


def split_params(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run params -> (config overrides, run options)."""
    # A trigger form's choice "configured" means not overridden; dedup_against_published's "true"/"false"
    # stand for the booleans (a nullable boolean drawn as a three-way choice).
    choice = {"true": True, "false": False}
    params = {k: None if v == "configured" else
              choice.get(v, v) if k == "dedup_against_published" and isinstance(v, str) else v
              for k, v in params.items()}
    overrides = {k: v for k, v in params.items() if k not in RUN_PARAMS and v not in (None, "", [])}
    options = {k: params.get(k) for k in RUN_PARAMS}
    return overrides, options


def discovery(config: Config, token: str | None, storage: Storage) -> Discovery | None:
    """GitHub discovery when a token is available (ETag cache on the storage root), else None."""
    if not token:
        return None
    client = GitHubClient(token=token, base_url=config.github.api_url, cache=storage)
    selection = Selection(min_stars=config.github.min_stars, min_forks=config.github.min_forks,
                          include_forks=config.github.include_forks,
                          include_archived=config.github.include_archived)
    return Discovery(client, selection)


def prepare_run(params: Mapping[str, Any], data_interval_start: dt.datetime | None, airflow_run_id: str,
                environ: Mapping[str, str], github_token: str | None = None,
                pipeline: str = "snapshots") -> RunSpec:
    """Resolve config, snapshot date, sources and skipped stages; resume the date's unfinished run with
    the same inputs (unless `fresh`), else record a new run in its prefix; return the spec.

    The snapshot date is the manual `snapshot_date` param if set, else the data interval's start
    (never "now", so backfills and reruns rebuild the same date).
    """
    from seedlib import pipelines

    declared = pipelines.get(pipeline)
    overrides, options = split_params(params)
    config = load_config(overrides=overrides, environ=environ, config_file=options.get("config_file") or None)
    if options.get("snapshot_date"):
        snapshot = parse_snapshot_date(options["snapshot_date"])
    elif data_interval_start is not None:
        snapshot = data_interval_start.date().isoformat()
    else:
        raise ConfigError("snapshot_date: not given and the run has no data interval to take it from")
    try:
        skip = tuple(sorted(declared.skipped(list(options.get("skip_stages") or []))))
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if config.run.deployment == "local" and any(s.engine == "spark" and s.name not in skip for s in declared.stages):
        # before any stage starts: an unreachable master would otherwise hold each spark-submit for a minute
        # or more before it fails (three registration attempts 20 s apart on standalone). (In kubernetes
        # mode the spark-operator starts the drivers: spark_master is not used.)
        check_spark_master(config.run.spark_master, environ)
    storage = storage_for(config)
    # a missing bucket or refused credentials: said once here, in seconds (few attempts, short timeouts),
    # not by the first stage after its retries
    storage_for(config, quick=True).check()
    sources = []
    if declared.sources:
        token = github_token or Secrets.from_env(environ).github_token
        specs = list(config.run.sources) or default_specs()
        sources = parse_specs(specs, discover=discovery(config, token, storage))
        if not sources:
            raise ConfigError("sources: nothing to crawl (no --source given and no embedded default found)")
    decided: dict[str, Any] = {}
    publications = declared.prefix
    if declared.prepare:
        module, _, name = declared.prepare.partition(":")
        made = getattr(importlib.import_module(module), name)(storage, config, snapshot, skip)
        decided = made.get("record", {})
        skip = tuple(sorted(set(skip) | set(made.get("skip", ()))))
        publications = made.get("publications", publications)  # e.g. an export's `exports/PHASE`
    record = {"snapshot": snapshot, "pipeline": pipeline, "publications": publications,
              "code_version": code_version(), "config": config.public_dict(),
              "sources": [s.to_dict() for s in sources], "skip": list(skip), **decided}
    fingerprint = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
    resumed = None if options.get("fresh") else unfinished_run(storage, publications, snapshot, fingerprint)
    run_id = resumed or safe_run_id(airflow_run_id)
    spec = RunSpec(snapshot=snapshot, run_id=run_id, config=config.public_dict(), pipeline=pipeline,
                   publications=publications, skip=skip)
    if resumed is None:
        storage.write_json(f"{spec.prefix}/{RUN_FILE}", {
            **record, "run_id": spec.run_id, "airflow_run_id": airflow_run_id, "fingerprint": fingerprint,
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
    return spec


def unfinished_run(storage: Storage, publications: str, snapshot: str, fingerprint: str) -> str | None:
    """The latest run of the date that was not published and was started with the same inputs."""
    runs = f"{snapshot_prefix(snapshot, publications)}/runs/"
    found = []
    for run_id in storage.list_dirs(runs):
        run_id = run_id.rstrip("/")
        run_file, done = f"{runs}{run_id}/{RUN_FILE}", f"{runs}{run_id}/{DONE_FILE}"
        if not storage.exists(run_file) or storage.exists(done):
            continue
        run = storage.read_json(run_file)
        if run.get("fingerprint") == fingerprint:
            found.append((run.get("created_at", ""), run_id))
    return max(found)[1] if found else None


def read_sources(spec: RunSpec, storage: Storage) -> list[dict]:
    return storage.read_json(f"{spec.prefix}/{RUN_FILE}")["sources"]
