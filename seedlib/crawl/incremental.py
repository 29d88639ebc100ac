"""Incremental re-crawl: reuse the last published crawl for repositories whose HEAD did not move.

The crawl driver looks up the latest published snapshot on or before this one, finds its run's crawl
output (kept as long as that run is published) and tells each repository its previous `head_sha`. An
executor then asks the remote for HEAD (`git ls-remote`, no clone): unchanged -> the previous rows are
copied; changed -> the repository is crawled again and only commits after the previous head are extracted,
the older ones being copied.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from seedlib import manifest
from seedlib.cleanup import published_runs
from seedlib.config import flat_dict
from seedlib.crawl import git
from seedlib.run import snapshot_prefix
from seedlib.stage import StageError, read_report
from seedlib.storage import Storage


@dataclass(frozen=True)
class PreviousCrawl:
    snapshot: str
    parts: dict[str, list[str]]          # dataset -> part keys of that run's crawl stage
    heads: dict[str, str]                # repo -> head_sha of repositories crawled ok


# Settings that change what the crawl extracts (flat names): reuse needs them equal to the previous run's.
CRAWL_KEYS = ("max_file_bytes", "max_files_per_repo", "languages", "commit_min_stars", "commit_min_forks",
              "commit_min_commits", "commit_min_days", "commit_max_commits", "commit_max_file_bytes",
              "commit_samples_context_files")  # the crawl retrieves the commit samples' context files


def find_previous(storage: Storage, snapshot: str, config: dict) -> PreviousCrawl | None:
    """The crawl of the latest published snapshot on or before `snapshot`, if it can be reused."""
    for date in reversed([d for d in manifest.list_snapshots(storage) if d <= snapshot]):
        published = manifest.read(storage, date)
        runs = sorted(published_runs(published))
        if not runs:
            continue
        before, now = flat_dict(published["config"]), flat_dict(config)  # old manifests are flat
        if any(before.get(k) != now.get(k) for k in CRAWL_KEYS):
            return None  # extracted with other settings: crawl everything again
        try:
            report = read_report(storage, f"{snapshot_prefix(date)}/runs/{runs[0]}/stages/crawl")
        except StageError:
            continue
        parts = {name: ds["paths"] for name, ds in report.datasets.items()}
        if "commits" in parts:  # published before the dataset was renamed commit_history
            parts.setdefault("commit_history", parts.pop("commits"))
        repos = storage.read_parquet(parts["repos"], columns=["repo", "head_sha", "status"]) \
            if parts.get("repos") else pa.table({"repo": [], "head_sha": [], "status": []})
        heads = {r["repo"]: r["head_sha"] for r in repos.to_pylist() if r["status"] == "ok" and r["head_sha"]}
        return PreviousCrawl(date, parts, heads)
    return None


def remote_head(url: str, timeout: float) -> str | None:
    """HEAD of a remote without cloning it, or None when it cannot be asked."""
    try:
        out = git.run_git(["ls-remote", "--", url, "HEAD"], timeout=timeout).decode().split()
    except git.GitError:
        return None
    return out[0] if out else None


@dataclass
class PreviousRows:
    """Reads the previous crawl's parts once per partition and hands out one repository's rows."""

    storage: Storage
    parts: dict[str, list[str]]
    _tables: dict[str, pa.Table] = field(default_factory=dict)

    def rows(self, dataset: str, repo: str) -> pa.Table | None:
        if dataset not in self._tables:
            keys = self.parts.get(dataset, [])
            self._tables[dataset] = self.storage.read_parquet(keys) if keys else None
        table = self._tables[dataset]
        if table is None:
            return None
        return table.filter(pc.equal(table.column("repo"), repo))
