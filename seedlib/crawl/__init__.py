"""The crawl stage's logic: one source -> a `repos` row, raw `files` rows and `dropped` rows.

Pure functions over a scratch folder; the Spark entrypoint (spark_jobs/crawl.py) maps `crawl_source`
over repositories. A repository that cannot be fetched becomes a failed `repos` row, never an exception.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

from seedlib import ledger
from seedlib.crawl import commits, folder, git
from seedlib.languages import language_of
from seedlib.sources import FOLDER, Source

if TYPE_CHECKING:  # config.py imports this package (crawl/settings.py)
    from seedlib.config import Config

STAGE = "crawl"
HISTORY = "commit_history"  # the raw first-parent history of qualifying repositories
LFS_PREFIX = b"version https://git-lfs.github.com/spec/v1"
BINARY_SNIFF_BYTES = 8000


@dataclass
class CrawlResult:
    repo: dict
    files: list[dict] = field(default_factory=list)
    dropped: list[dict] = field(default_factory=list)
    commits: list[dict] = field(default_factory=list)
    commits_skipped: str | None = None  # why history was not extracted (criteria not met)
    commits_since: str | None = None    # set when only commits after this head were extracted
    seconds: float = 0.0


def classify(repo: str, path: str, data: bytes, config: Config) -> tuple[dict | None, dict | None]:
    """One regular file's bytes -> (files row, None) or (None, ledger row)."""
    digest = hashlib.sha256(data).hexdigest()

    def dropped(reason: str) -> tuple[None, dict]:
        return None, ledger.drop(repo, path, digest, STAGE, reason)

    if len(data) > config.crawl.max_file_bytes:
        return dropped(ledger.TOO_LARGE)
    if data.startswith(LFS_PREFIX) and len(data) < 1024:
        return dropped(ledger.LFS_POINTER)
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        return dropped(ledger.BINARY)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return dropped(ledger.UNDECODABLE)
    lang = language_of(path)
    if lang is None:
        return dropped(ledger.UNKNOWN_LANGUAGE)
    if config.run.languages and lang.lower() not in {x.lower() for x in config.run.languages}:
        return dropped(ledger.LANGUAGE_EXCLUDED)
    return {"repo": repo, "path": path, "lang": lang, "sha256": digest, "size": len(data), "content": text}, None


def _decode_path(raw: bytes) -> tuple[str, bool]:
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace"), False


class _Collector:
    """Applies the per-repository file cap and the path checks shared by git and folder sources."""

    def __init__(self, source: Source, config: Config, result: CrawlResult):
        self.source, self.config, self.result = source, config, result
        self.kept_or_seen = 0

    def special(self, raw_path: bytes, reason: str, data: bytes | None) -> None:
        path, _ = _decode_path(raw_path)
        digest = hashlib.sha256(data).hexdigest() if data is not None else None
        self.result.dropped.append(ledger.drop(self.source.repo, path, digest, STAGE, reason))

    def regular(self, raw_path: bytes, data: bytes) -> None:
        path, ok = _decode_path(raw_path)
        self.kept_or_seen += 1
        if not ok:
            self.special(raw_path, ledger.UNDECODABLE_PATH, data)
            return
        if self.kept_or_seen > self.config.crawl.max_files_per_repo:
            self.special(raw_path, ledger.REPO_FILE_CAP, data)
            return
        row, drop = classify(self.source.repo, path, data, self.config)
        if row is not None:
            self.result.files.append(row)
        else:
            self.result.dropped.append(drop)


def criteria(config: Config) -> commits.CommitCriteria:
    return config.crawl.criteria()


def _crawl_git(source: Source, config: Config, scratch: Path, out: _Collector, since: str | None) -> str:
    gitdir = scratch / "repo.git"
    timeout = config.crawl.clone_timeout_s
    git.clone_bare(source.url, gitdir, timeout=timeout, blob_limit=config.crawl.max_file_bytes)
    sha = git.head_sha(gitdir)
    partial = git.is_partial(gitdir)
    # Blobs a partial clone left on the remote are over max_file_bytes: too_large, never downloaded.
    missing = git.missing_objects(gitdir, ["--no-walk", sha], timeout=timeout) if partial else set()
    entries = git.list_tree(gitdir, sha, timeout=config.crawl.clone_timeout_s)
    blobs = [e for e in entries if e.mode != "160000" and e.sha not in missing]
    for e in entries:
        if e.mode == "160000":
            out.special(e.path, ledger.SUBMODULE, None)
        elif e.sha in missing:
            out.special(e.path, ledger.TOO_LARGE, None)  # sha256 unknown: the bytes were never fetched
    contents = git.read_blobs(gitdir, [e.sha for e in blobs], timeout=config.crawl.clone_timeout_s)
    for e, (_sha, data) in zip(blobs, contents):
        if e.mode == "120000":
            out.special(e.path, ledger.SYMLINK, data)  # the link target, never followed
        else:
            out.regular(e.path, data)
    n_commits, days = commits.history_stats(gitdir, timeout=config.crawl.clone_timeout_s)
    repo = out.result.repo
    accepted, why = criteria(config).accepts(repo["stars"], repo["forks"], n_commits, days)
    if accepted:
        since = since if since and commits.is_ancestor(gitdir, since, sha) else None
        out.result.commits_since = since
        out.result.commits = commits.extract_commits(
            source.repo, gitdir, max_commits=config.crawl.commit_max_commits,
            max_file_bytes=config.crawl.commit_max_file_bytes, timeout=timeout, since=since,
            partial=partial, context_files=config.commit_samples.context_files)
    else:
        out.result.commits_skipped = why
    return sha


def _crawl_folder(source: Source, out: _Collector) -> None:
    root = Path(source.url.removeprefix("file://"))
    for e in folder.walk(root):
        if e.is_symlink:
            out.special(e.path, ledger.SYMLINK, os.readlink(e.abspath))
            continue
        try:
            with open(e.abspath, "rb") as fh:
                data = fh.read()
        except OSError:
            out.special(e.path, ledger.UNREADABLE, None)
            continue
        out.regular(e.path, data)


def crawl_source(source: Source, config: Config, scratch_root: str | None = None,
                 since: str | None = None) -> CrawlResult:
    """Crawl one source. Never raises for bad input: failures become a failed repos row.

    since: a previously crawled head; only commits after it are extracted (when it is an ancestor).
    """
    started = time.monotonic()
    result = CrawlResult(repo={"repo": source.repo, "url": source.url, "head_sha": None, "stars": source.stars,
                               "forks": source.forks, "license": source.license, "status": "ok", "error": None,
                               "pushed_at": source.pushed_at})
    scratch = Path(tempfile.mkdtemp(prefix="seed-crawl-", dir=scratch_root))
    collector = _Collector(source, config, result)
    try:
        if source.kind == FOLDER:
            _crawl_folder(source, collector)
        else:
            result.repo["head_sha"] = _crawl_git(source, config, scratch, collector, since)
    except (git.GitError, OSError) as e:
        # The repository as a whole failed: record it, and keep no partial file list for it.
        result.files.clear()
        result.dropped.clear()
        result.commits.clear()
        # error = "<reason>: <message>"; the reason is what the manifest counts per failure kind.
        reason = e.reason if isinstance(e, git.GitError) else "unreadable"
        message = str(e) if isinstance(e, git.GitError) else f"{type(e).__name__}: {e.strerror or e}"
        result.repo.update(status="failed", error=f"{reason}: {message}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result.seconds = time.monotonic() - started
    return result


def history_reusable(rows) -> bool:
    """Whether a previous crawl's commit_history rows of a repository hold every column of today's schema
    (older runs lack the authors and the pre-commit context); None or no rows: nothing to reuse, fine."""
    from seedlib.datasets import COMMIT_HISTORY

    return rows is None or not rows.num_rows or set(COMMIT_HISTORY.names) <= set(rows.column_names)


def crawl_partition(spec_json: str, previous_parts: dict[str, list[str]] | None,
                    done: dict[int, list[dict]] | None, partition: int, sources: Iterable[dict]) -> Iterator[dict]:
    """Crawl one partition's sources and write its parts; yields one metadata row per part written.

    Runs inside a Spark executor (mapPartitionsWithIndex), or directly in a unit test. A source with a
    `prev_head` is first checked with `git ls-remote`: unchanged repositories reuse `previous_parts`.
    `done`: partitions an earlier attempt finished (their reported rows).
    """
    import sys

    from seedlib.crawl.incremental import PreviousRows, remote_head
    from seedlib.run import RunSpec
    from seedlib.stage import PartWriter

    if done and partition in done:  # finished by an earlier attempt: report it, never crawl it again
        yield from done[partition]
        return
    spec = RunSpec.from_json(spec_json)
    config = spec.load_config()
    storage = spec.storage()
    writer = PartWriter(storage, spec.stage_prefix(STAGE), partition)
    previous = PreviousRows(storage, previous_parts) if previous_parts else None
    for item in sorted(sources, key=lambda s: s["repo"]):
        item = dict(item)
        prev_head = item.pop("prev_head", None)
        source = Source(**item)
        if prev_head and previous and not history_reusable(previous.rows(HISTORY, source.repo)):
            prev_head = None  # its history was extracted before commit_history had today's columns: redo it
        head = remote_head(source.url, config.crawl.clone_timeout_s) if prev_head and previous else None
        if head is not None and head == prev_head:
            for dataset in ("repos", "files", "dropped", HISTORY):
                rows = previous.rows(dataset, source.repo)
                if rows is not None:
                    writer.add(dataset, rows)
            print(f"[crawl] {source.repo}: unchanged at {head[:12]}, reused the previous crawl",
                  file=sys.stderr, flush=True)
            continue
        result = crawl_source(source, config, since=prev_head if previous and prev_head else None)
        if prev_head and previous and result.repo["status"] == "ok" and result.commits_since:
            older = previous.rows(HISTORY, source.repo)
            if older is not None and older.num_rows:
                keep = max(0, config.crawl.commit_max_commits - len(result.commits))
                older = older.sort_by([("committer_time", "descending"), ("sha", "ascending")]).slice(0, keep)
                writer.add(HISTORY, older)
        writer.add("repos", [result.repo])
        writer.add("files", result.files)
        writer.add("dropped", result.dropped)
        writer.add(HISTORY, result.commits)
        status = "ok" if result.repo["status"] == "ok" else f"FAILED ({result.repo['error']})"
        history = f"{len(result.commits)} commits" if not result.commits_skipped else \
            f"no commits ({result.commits_skipped})"
        if result.commits_since:
            history += f" since {result.commits_since[:12]}"
        print(f"[crawl] {item['repo']}: {status}, {len(result.files)} files kept, "
              f"{len(result.dropped)} dropped, {history} ({result.seconds:.1f}s)", file=sys.stderr, flush=True)
    yield from writer.close().to_pylist()
