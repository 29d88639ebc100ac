"""Commits out of a bare clone: the raw material of code-change-prediction samples.

Walks the default branch's first-parent history (newest first, capped), skips merge commits by default,
and records per commit its metadata and, per changed file, the old/new path, change type, a unified diff
and the before/after contents (each capped in size; binary or oversized sides are null and the change is
flagged). Diffs are computed from the two blobs with difflib, so odd file names never confuse a patch
parser.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from pathlib import Path

from seedlib.crawl import git

CHANGE_TYPES = {"A": "added", "D": "deleted", "M": "modified", "R": "renamed", "C": "copied", "T": "type_changed"}
NULL_SHA = "0" * 40

# Rows follow seedlib.datasets.COMMITS; a change's `skipped` is null, or why its contents and diff were
# left out: binary, too_large, undecodable.


@dataclass(frozen=True)
class CommitCriteria:
    """Which repositories get their history extracted (the report's preset: 100/10/100/100)."""

    min_stars: int = 100
    min_forks: int = 10
    min_commits: int = 100
    min_days: int = 100

    def accepts(self, stars: int | None, forks: int | None, n_commits: int, days: float) -> tuple[bool, str]:
        # Local sources have no stars/forks: only the history-based criteria apply to them.
        if stars is not None and stars < self.min_stars:
            return False, f"{stars} stars < {self.min_stars}"
        if forks is not None and forks < self.min_forks:
            return False, f"{forks} forks < {self.min_forks}"
        if n_commits < self.min_commits:
            return False, f"{n_commits} commits < {self.min_commits}"
        if days < self.min_days:
            return False, f"{days:.0f} days of history < {self.min_days}"
        return True, "ok"


def history_stats(gitdir: Path, timeout: float = 600) -> tuple[int, float]:
    """(number of first-parent commits, days between the first and the last one)."""
    out = git.run_git(["log", "--first-parent", "--format=%ct", "HEAD"], cwd=gitdir, timeout=timeout).split()
    if not out:
        return 0, 0.0
    times = [int(t) for t in out]
    return len(times), (max(times) - min(times)) / 86400


def _iso(epoch: str) -> str:
    return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).isoformat()


def _text(data: bytes | None, cap: int) -> tuple[str | None, str | None]:
    if data is None:
        return None, None
    if len(data) > cap:
        return None, "too_large"
    if b"\0" in data[:8000]:
        return None, "binary"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, "undecodable"


def _path(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def is_ancestor(gitdir: Path, older: str, newer: str, timeout: float = 60) -> bool:
    try:
        git.run_git(["merge-base", "--is-ancestor", older, newer], cwd=gitdir, timeout=timeout)
        return True
    except git.GitError:
        return False  # not an ancestor (history rewritten), or the commit is unknown here


def extract_commits(repo: str, gitdir: Path, *, max_commits: int, max_file_bytes: int,
                    include_merges: bool = False, timeout: float = 600, since: str | None = None,
                    partial: bool = False) -> list[dict]:
    """Rows of the `commits` dataset for one repository, newest first (only those after `since`).

    partial: the clone is partial; blobs it left on the remote are reported as too_large, not fetched.
    """
    revs = f"{since}..HEAD" if since else "HEAD"
    window = ["--first-parent", f"--max-count={max_commits}", revs]
    missing = git.missing_objects(gitdir, window, timeout=timeout) if partial else set()
    log = git.run_git(["log", *window, "--format=%H%x00%P%x00%at%x00%ct%x00%B%x1e"], cwd=gitdir,
                      timeout=timeout)
    rows = []
    for record in log.split(b"\x1e"):
        record = record.lstrip(b"\n")
        if not record:
            continue
        sha, parents, author_t, committer_t, message = record.decode("utf-8", "replace").split("\0", 4)
        parents_list = parents.split()
        if len(parents_list) > 1 and not include_merges:
            continue
        rows.append({
            "repo": repo, "sha": sha, "parents": parents_list,
            "author_time": _iso(author_t), "committer_time": _iso(committer_t),
            "message": message.rstrip("\n"),
            "files": _changes(gitdir, sha, parents_list[0] if parents_list else None, max_file_bytes,
                              timeout, missing),
        })
    return rows


def _changes(gitdir: Path, sha: str, parent: str | None, cap: int, timeout: float,
             missing: set[str]) -> list[dict]:
    args = ["diff-tree", "-r", "-z", "--raw", "-M", "--no-commit-id"]
    args += [parent, sha] if parent else ["--root", sha]
    out = git.run_git(args, cwd=gitdir, timeout=timeout)
    fields = out.split(b"\0")
    entries = []
    i = 0
    while i < len(fields) - 1:
        meta = fields[i].decode()
        if not meta.startswith(":"):
            i += 1
            continue
        old_mode, new_mode, old_sha, new_sha, status = meta[1:].split(" ")
        if old_mode == "160000":  # a submodule pointer is a commit of another repository, not a blob
            old_sha = NULL_SHA
        if new_mode == "160000":
            new_sha = NULL_SHA
        kind = status[0]
        if kind in "RC":
            old_path, new_path = _path(fields[i + 1]), _path(fields[i + 2])
            i += 3
        else:
            old_path = new_path = _path(fields[i + 1])
            i += 2
        if kind == "A":
            old_path = None
        if kind == "D":
            new_path = None
        entries.append((old_path, new_path, CHANGE_TYPES.get(kind, "unknown"),
                        None if old_sha == NULL_SHA else old_sha, None if new_sha == NULL_SHA else new_sha))
    wanted = sorted({s for e in entries for s in e[3:] if s and s not in missing})
    blobs = dict(git.read_blobs(gitdir, wanted, timeout=timeout)) if wanted else {}
    changes = []
    for old_path, new_path, change_type, old_sha, new_sha in entries:
        before, why_b = ((None, "too_large") if old_sha in missing else
                         _text(blobs.get(old_sha) if old_sha else None, cap))
        after, why_a = ((None, "too_large") if new_sha in missing else
                        _text(blobs.get(new_sha) if new_sha else None, cap))
        skipped = why_b or why_a
        diff = None
        if not skipped:
            diff = "".join(difflib.unified_diff(
                (before or "").splitlines(keepends=True), (after or "").splitlines(keepends=True),
                fromfile=f"a/{old_path}" if old_path else "/dev/null",
                tofile=f"b/{new_path}" if new_path else "/dev/null"))
        changes.append({"old_path": old_path, "new_path": new_path, "change_type": change_type,
                        "diff": diff, "before": before, "after": after, "skipped": skipped})
    return changes
