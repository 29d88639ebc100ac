"""A snapshot run: its identity, where its work in progress lives, and how it starts.

Layout under the storage root (contract.md, "Storage"):

    snapshots/dt=D/_MANIFEST.json                   the publish point, written last
    snapshots/dt=D/runs/RUN/_RUN.json               the run's effective config and resolved sources
    snapshots/dt=D/runs/RUN/stages/STAGE/...        each stage's parts and its _STAGE.json report

A run's prefix is keyed by the Airflow run id, so a retried or cleared task resumes its own run; a new
run of the same date works in a fresh prefix and the published manifest is only replaced at the end.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any, Mapping

from seedlib.config import Config, ConfigError, Secrets, config_from_dict, load_config
from seedlib.sources import Discovery, parse_specs
from seedlib.sources.github import GitHubClient, Selection
from seedlib.sources.defaults import default_specs
from seedlib.storage import S3Settings, Storage, open_storage
from seedlib.version import code_version

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Run parameters (Airflow Params / CLI flags) that are not Config keys.
RUN_PARAMS = ("snapshot_date", "config_file")


def snapshot_prefix(snapshot: str) -> str:
    return f"snapshots/dt={snapshot}"


def manifest_key(snapshot: str) -> str:
    return f"{snapshot_prefix(snapshot)}/_MANIFEST.json"


def storage_for(config: Config) -> Storage:
    return open_storage(config.storage, S3Settings(endpoint_url=config.s3_endpoint_url or None,
                                                   region=config.s3_region,
                                                   max_attempts=config.s3_max_attempts))


@dataclass(frozen=True)
class RunSpec:
    """Everything a stage process needs to find its run (no secrets: it travels on command lines)."""

    snapshot: str
    run_id: str
    config: dict[str, Any]

    @property
    def prefix(self) -> str:
        return f"{snapshot_prefix(self.snapshot)}/runs/{self.run_id}"

    def stage_prefix(self, stage: str) -> str:
        return f"{self.prefix}/stages/{stage}"

    def to_json(self) -> str:
        return json.dumps({"snapshot": self.snapshot, "run_id": self.run_id, "config": self.config},
                          sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "RunSpec":
        data = json.loads(text)
        return cls(snapshot=data["snapshot"], run_id=data["run_id"], config=data["config"])

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
    overrides = {k: v for k, v in params.items() if k not in RUN_PARAMS and v not in (None, "", [])}
    options = {k: params.get(k) for k in RUN_PARAMS}
    return overrides, options


def discovery(config: Config, token: str | None, storage: Storage) -> Discovery | None:
    """GitHub discovery when a token is available (ETag cache on the storage root), else None."""
    if not token:
        return None
    client = GitHubClient(token=token, base_url=config.github_api_url, cache=storage)
    selection = Selection(min_stars=config.github_min_stars, min_forks=config.github_min_forks,
                          include_forks=config.github_include_forks,
                          include_archived=config.github_include_archived)
    return Discovery(client, selection)


def prepare_run(params: Mapping[str, Any], data_interval_start: dt.datetime | None, airflow_run_id: str,
                environ: Mapping[str, str], github_token: str | None = None) -> RunSpec:
    """Resolve config, snapshot date and sources; record them in the run prefix; return the spec.

    The snapshot date is the manual `snapshot_date` param if set, else the data interval's start
    (never "now", so backfills and reruns rebuild the same date).
    """
    overrides, options = split_params(params)
    config = load_config(overrides=overrides, environ=environ, config_file=options.get("config_file") or None)
    if options.get("snapshot_date"):
        snapshot = parse_snapshot_date(options["snapshot_date"])
    elif data_interval_start is not None:
        snapshot = data_interval_start.date().isoformat()
    else:
        raise ConfigError("snapshot_date: not given and the run has no data interval to take it from")
    storage = storage_for(config)
    token = github_token or Secrets.from_env(environ).github_token
    specs = list(config.sources) or default_specs()
    sources = parse_specs(specs, discover=discovery(config, token, storage))
    if not sources:
        raise ConfigError("sources: nothing to crawl (no --source given and no embedded default found)")
    spec = RunSpec(snapshot=snapshot, run_id=safe_run_id(airflow_run_id), config=config.public_dict())
    storage.write_json(f"{spec.prefix}/_RUN.json", {
        "snapshot": snapshot,
        "run_id": spec.run_id,
        "airflow_run_id": airflow_run_id,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "config": config.public_dict(),
        "sources": [s.to_dict() for s in sources],
    })
    return spec


def read_sources(spec: RunSpec, storage: Storage) -> list[dict]:
    return storage.read_json(f"{spec.prefix}/_RUN.json")["sources"]
