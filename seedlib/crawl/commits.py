"""Commits out of a bare clone: the raw material of code-change-prediction samples.

Walks the default branch's first-parent history (newest first, capped at commit_max_commits), merges
included, and records per commit its metadata (author name and e-mail too, for the bot filter) and, per
changed file, the old/new path, change type, a unified diff and the before/after contents (each capped in
size; binary or oversized sides are null and the change is flagged). Diffs are computed from the two
blobs with difflib, so odd file names never confuse a patch parser. Per non-merge commit it also records
what a sample shows of the pre-commit tree: its README, directory listing and BM25 top files
(seedlib/samples/context.py).
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from pathlib import Path

from seedlib.crawl import git

CHANGE_TYPES = {"A": "added", "D": "deleted", "M": "modified", "R": "renamed", "C": "copied", "T": "type_changed"}
NULL_SHA = "0" * 40

# Rows follow seedlib.datasets.COMMIT_HISTORY; a change's `skipped` is null, or why its contents and diff
# were left out: binary, too_large, undecodable, or merge (a merge's changes against its first parent are
# listed, paths and change types, without contents: no sample is made of a merge).
MERGE = "merge"


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


@dataclass(frozen=True)
class RawChange:
    """One entry of `git diff-tree --raw` (paths as git's bytes, shas as git gives them)."""

    status: str            # A, D, M, T, R or C
    old_mode: str
    new_mode: str
    old_sha: str
    new_sha: str
    old_path: bytes | None  # None for an added file
    new_path: bytes | None  # None for a deleted file


@dataclass
class _Commit:
    sha: str
    parents: list[str]
    author_time: str
    committer_time: str
    author_name: str
    author_email: str
    message: str

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


def extract_commits(repo: str, gitdir: Path, *, max_commits: int, max_file_bytes: int,
                    include_merges: bool = True, timeout: float = 600, since: str | None = None,
                    partial: bool = False, context_files: int = 5) -> list[dict]:
    """Rows of the `commit_history` dataset for one repository, newest first (only those after `since`).

    Every first-parent commit of the window is a row, merges included (their changes against the first
    parent listed without contents, skipped = "merge"), so the commit ledger can say why a merge is no
    sample. Per non-merge commit also the pre-commit tree's README, directory listing and BM25 top
    `context_files` files (seedlib/samples/context.py); null for merges.

    Reads: one `git log`, one `git diff-tree --stdin` for every commit's changes, one `ls-tree` of the
    newest commit (older trees are derived by undoing each commit's changes), one `git cat-file --batch`
    for the changed blobs and the candidate context files, one more for the README and context files
    retrieved.

    partial: the clone is partial; blobs it left on the remote are reported as too_large, not fetched.
    """
    revs = f"{since}..HEAD" if since else "HEAD"
    window = ["--first-parent", f"--max-count={max_commits}", revs]
    log = git.run_git(["log", *window, "--format=%H%x00%P%x00%at%x00%ct%x00%an%x00%ae%x00%B%x1e"],
                      cwd=gitdir, timeout=timeout)
    commits = []
    for record in log.split(b"\x1e"):
        record = record.lstrip(b"\n")
        if not record:
            continue
        sha, parents, author_t, committer_t, name, email, message = \
            record.decode("utf-8", "replace").split("\0", 6)
        commits.append(_Commit(sha, parents.split(), _iso(author_t), _iso(committer_t), name, email,
                               message.rstrip("\n")))
    if not commits:
        return []
    missing: set[str] = set()
    if partial:
        missing = git.missing_objects(gitdir, window, timeout=timeout)
        if commits[-1].parents:  # the oldest commit's pre-commit tree is its parent's
            missing |= git.missing_objects(gitdir, ["--no-walk", commits[-1].parents[0]], timeout=timeout)
    raw = _raw_changes(gitdir, commits, timeout)
    rows_of = [i for i, c in enumerate(commits) if include_merges or not c.is_merge]

    from seedlib.samples import context  # bm25s and numpy: only where history is extracted

    head = context.Tree(git.list_tree(gitdir, commits[0].sha, timeout=timeout))
    wanted_changes = {s for i in rows_of if not commits[i].is_merge for ch in raw[i] for s in _blob_shas(ch)}
    wanted_changes -= missing
    # The blobs of the pre-commit trees of the non-merge commits (the candidates), each tokenised once.
    wanted_candidates: set[str] = set()
    if context_files > 0:
        whole = True  # the first tree is taken whole, later ones by what changed since the one before
        for i, tree, fresh in _pre_commit_trees(gitdir, commits, raw, head.copy(), timeout):
            whole = whole or fresh
            if commits[i].is_merge:
                continue
            paths = tree.paths if whole else [p for p in tree.touched if p in tree.entries]
            wanted_candidates.update(tree.entries[p][1] for p in paths
                                     if tree.entries[p][0] in context.REGULAR_MODES)
            tree.touched.clear()
            whole = False
        wanted_candidates -= missing
    retriever = context.Retriever()
    texts: dict[str, tuple[str | None, str | None]] = {}
    for sha, data in git.read_blobs(gitdir, sorted(wanted_changes | wanted_candidates), timeout=timeout):
        if sha in wanted_changes:
            texts[sha] = _text(data, max_file_bytes)
        if sha in wanted_candidates:
            retriever.add_blob(sha, data)
    views = {}
    for i, tree, _fresh in _pre_commit_trees(gitdir, commits, raw, head, timeout):
        if not commits[i].is_merge:
            views[i] = _view(commits[i], raw[i], tree, retriever, missing, context_files)
    needed = sorted({sha for v in views.values() for sha in v.blobs()})
    contents = dict(git.read_blobs(gitdir, needed, timeout=timeout)) if needed else {}
    rows = []
    for i in rows_of:
        c = commits[i]
        row = {"repo": repo, "sha": c.sha, "parents": c.parents, "author_time": c.author_time,
               "committer_time": c.committer_time, "message": c.message,
               "files": _changes(raw[i], texts, missing, merge=c.is_merge),
               "author_name": c.author_name, "author_email": c.author_email,
               "readme": None, "tree": None, "tree_size": None, "context": None}
        view = views.get(i)
        if view is not None:
            readme = context.readme_text(contents.get(view.readme[1])) if view.readme else None
            row.update(
                readme=None if readme is None else {"path": context.decode_path(view.readme[0]), "content": readme},
                tree=view.listing, tree_size=view.size,
                context=[{"path": context.decode_path(p), "content": contents[s].decode("utf-8")}
                         for p, s in view.ranked])
        rows.append(row)
    return rows


@dataclass
class _View:
    """What a sample shows of a commit's pre-commit tree (blobs by sha, read afterwards)."""

    readme: tuple[bytes, str] | None
    listing: list[str]
    size: int
    ranked: list[tuple[bytes, str]]

    def blobs(self) -> list[str]:
        return ([self.readme[1]] if self.readme else []) + [s for _, s in self.ranked]


def _pre_commit_trees(gitdir: Path, commits: list[_Commit], raw: list[list[RawChange]], tree, timeout: float):
    """Yield (i, commit i's pre-commit tree, listed afresh?) from the newest commit (whose tree is `tree`)
    down, undoing each commit's changes: the tree after undoing commit i's is its first parent's."""
    from seedlib.samples import context

    fresh = True
    for i, c in enumerate(commits):
        tree.revert(raw[i])
        yield i, tree, fresh
        fresh = False
        following = commits[i + 1].sha if i + 1 < len(commits) else None
        if following is not None and (not c.parents or c.parents[0] != following):
            # not the first-parent chain (cannot happen with --first-parent): list the next tree afresh
            tree = context.Tree(git.list_tree(gitdir, following, timeout=timeout))
            fresh = True


def _view(c: _Commit, changes: list[RawChange], tree, retriever, missing: set[str], k: int) -> _View:
    """README, listing and the BM25 top k files of one commit's pre-commit tree."""
    from seedlib.samples import context

    readme = tree.readme()
    if readme is not None and readme[1] in missing:
        readme = None
    ranked = []
    if k > 0:
        changed = list(dict.fromkeys(p for ch in changes for p in (ch.old_path, ch.new_path) if p is not None))
        query = "\n".join([c.message, *(context.decode_path(p) for p in changed)])
        pool = context.candidates(tree, retriever, changed, readme[0] if readme else None)
        ranked = retriever.rank(pool, query, k)
    return _View(readme, tree.listing(), len(tree), ranked)


def _blob_shas(ch: RawChange) -> list[str]:
    out = []
    if ch.old_path is not None and ch.old_mode != "160000" and ch.old_sha != NULL_SHA:
        out.append(ch.old_sha)
    if ch.new_path is not None and ch.new_mode != "160000" and ch.new_sha != NULL_SHA:
        out.append(ch.new_sha)
    return out


def _raw_changes(gitdir: Path, commits: list[_Commit], timeout: float) -> list[list[RawChange]]:
    """Each commit's changes against its first parent (the empty tree for a root), one diff-tree for all."""
    lines = "".join(f"{c.sha} {c.parents[0]}\n" if c.parents else f"{c.sha}\n" for c in commits)
    out = git.run_git(["diff-tree", "--stdin", "-r", "-z", "--raw", "-M", "--root", "--always"], cwd=gitdir,
                      input=lines.encode(), timeout=timeout)
    by_sha: dict[str, list[RawChange]] = {}
    current: list[RawChange] | None = None
    fields = out.split(b"\0")
    i = 0
    while i < len(fields):
        field_ = fields[i]
        if not field_:
            i += 1
            continue
        if not field_.startswith(b":"):  # a commit id: the changes that follow are this commit's
            current = by_sha.setdefault(field_.decode().strip(), [])
            i += 1
            continue
        old_mode, new_mode, old_sha, new_sha, status = field_[1:].decode().split(" ")
        kind = status[0]
        if kind in "RC":
            old_path, new_path = fields[i + 1], fields[i + 2]
            i += 3
        else:
            old_path = new_path = fields[i + 1]
            i += 2
        if current is None:
            raise git.GitError("git diff-tree --stdin printed changes before a commit id", "git_error")
        current.append(RawChange(kind, old_mode, new_mode, old_sha, new_sha,
                                 None if kind == "A" else old_path, None if kind == "D" else new_path))
    return [by_sha.get(c.sha, []) for c in commits]


def _changes(entries: list[RawChange], texts: dict[str, tuple[str | None, str | None]],
             missing: set[str], merge: bool = False) -> list[dict]:
    changes = []
    for ch in entries:
        if merge:
            changes.append({"old_path": _path(ch.old_path) if ch.old_path is not None else None,
                            "new_path": _path(ch.new_path) if ch.new_path is not None else None,
                            "change_type": CHANGE_TYPES.get(ch.status, "unknown"), "diff": None,
                            "before": None, "after": None, "skipped": MERGE})
            continue
        old_sha = None if ch.old_mode == "160000" or ch.old_sha == NULL_SHA or ch.old_path is None else ch.old_sha
        new_sha = None if ch.new_mode == "160000" or ch.new_sha == NULL_SHA or ch.new_path is None else ch.new_sha
        before, why_b = _side(old_sha, texts, missing)
        after, why_a = _side(new_sha, texts, missing)
        old_path = _path(ch.old_path) if ch.old_path is not None else None
        new_path = _path(ch.new_path) if ch.new_path is not None else None
        skipped = why_b or why_a
        diff = None
        if not skipped:
            diff = unified_diff(before or "", after or "", f"a/{old_path}" if old_path else "/dev/null",
                                f"b/{new_path}" if new_path else "/dev/null")
        changes.append({"old_path": old_path, "new_path": new_path,
                        "change_type": CHANGE_TYPES.get(ch.status, "unknown"),
                        "diff": diff, "before": before, "after": after, "skipped": skipped})
    return changes


def _side(sha: str | None, texts: dict, missing: set[str]) -> tuple[str | None, str | None]:
    """(text, why it was left out) of one side of a change."""
    if sha is None:
        return None, None
    if sha in missing:
        return None, "too_large"
    return texts.get(sha, (None, None))


def unified_diff(before: str, after: str, fromfile: str, tofile: str) -> str:
    """A unified diff of two texts, git style: a last line without a newline is followed by
    `\\ No newline at end of file` (difflib alone would glue it to the next line)."""
    out = []
    for line in difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                     fromfile=fromfile, tofile=tofile):
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)
