"""What a commit sample shows of its repository, taken at crawl time from the pre-commit tree.

The clones exist only inside the crawl task, so the crawl's commit extraction (seedlib/crawl/commits.py)
calls this module for every non-merge commit of the history it extracts. The *pre-commit tree* is the
tree of the commit's first parent (the empty tree for a root commit): what the repository looked like
before the change, so a file the commit adds is never part of its own input.

- README: the first root-level file named, ignoring case, README.md, README.rst, README or README.txt
  (in that order), as UTF-8 text cut to `README_MAX_CHARS` characters; none if it is binary, not UTF-8 or
  was left on the remote by a partial clone.
- Directory structure: the paths of every entry of the tree (files, symlinks, submodules) in git's byte
  order, the first `TREE_MAX_PATHS` of them, and the tree's size (so a sample can say how many it left out).
- Context files: the top `commit_samples_context_files` (5) files of the tree by BM25, in rank order.
  * Candidates: regular files of the pre-commit tree that are UTF-8 text (no NUL byte in the first 8 KB,
    not a Git LFS pointer) of at most `CANDIDATE_MAX_BYTES` bytes, except the README (already shown).
    The commit's changed files are candidates too: their pre-commit contents are what a unified diff of
    the target applies to, so they belong in the input when they are relevant (the changed paths are in
    the query, so they usually are). A tree with more than `MAX_CANDIDATES` candidates keeps those
    nearest to the changed paths (most leading directories shared with one, then path order).
  * Query: the commit message plus the changed paths (old and new). Documents: a file's path plus its
    contents. Both are tokenised by `tokens`: ASCII letter runs split at camelCase and snake_case
    boundaries (`readBlobs`, `read_blobs` -> `read`, `blobs`), lower-cased, words of one letter and
    bm25s's English stopwords left out; digits and other characters only separate words. A query word
    counts once.
  * Scoring: bm25s (`bm25s.BM25()` defaults: Lucene variant, k1=1.5, b=0.75) indexes the candidates of
    each pre-commit tree, so document frequencies and the average length are those of that tree. Only
    files with a positive score are retrieved; equal scores are ordered by path.
  * Cost: a file's tokens are counted once per blob (cached by blob sha across the commits of a
    repository), and each tree's index is built over the query's words only: every other word of a
    document is replaced by one filler word the query never asks for. That leaves everything BM25 uses
    unchanged (the number of documents, each document's length and the average length, and the term and
    document frequencies of the query's words), so the scores equal those of an index of the whole
    documents (tests/test_commit_samples.py checks it) while the index of a tree holds a few columns
    instead of its whole vocabulary.
Blobs are read straight from the object database (`git cat-file --batch`); crawled code is never run.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass, field

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN

README_NAMES = ("readme.md", "readme.rst", "readme", "readme.txt")
README_MAX_CHARS = 8_000
TREE_MAX_PATHS = 1_000
CANDIDATE_MAX_BYTES = 32_768
MAX_CANDIDATES = 1_000
SNIFF_BYTES = 8_000
LFS_PREFIX = b"version https://git-lfs.github.com/spec/v1"
REGULAR_MODES = frozenset({"100644", "100755"})

_RUN = re.compile(r"[A-Za-z]+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")
_STOP = frozenset(STOPWORDS_EN)


def _split(run: str) -> list[str]:
    """One run of letters -> its lower-cased words (camelCase split), the short and stop words left out."""
    parts = [run] if run.islower() or run.isupper() else _CAMEL.findall(run)
    return [w for w in (p.lower() for p in parts) if len(w) > 1 and w not in _STOP]


def tokens(text: str) -> list[str]:
    """The words BM25 sees in a query or a document, in order (see the module docstring)."""
    return [w for run in _RUN.findall(text) for w in _split(run)]


def word_counts(text: str, cache: dict[str, list[str]] | None = None) -> Counter:
    """Counter(tokens(text)), computed per distinct run of letters (documents repeat their words);
    `cache` keeps each run's words across calls (a repository repeats its identifiers)."""
    out: Counter = Counter()
    for run, n in Counter(_RUN.findall(text)).items():
        words = cache.get(run) if cache is not None else None
        if words is None:
            words = _split(run)
            if cache is not None:
                cache[run] = words
        for w in words:
            out[w] += n
    return out


def decode_path(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def text_of(data: bytes | None, max_bytes: int = CANDIDATE_MAX_BYTES) -> str | None:
    """A blob's contents as text when it can be a context file, else None."""
    if data is None or len(data) > max_bytes or b"\0" in data[:SNIFF_BYTES]:
        return None
    if data.startswith(LFS_PREFIX) and len(data) < 1024:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def readme_text(data: bytes | None) -> str | None:
    """A README's text, cut to README_MAX_CHARS; None if binary or not UTF-8."""
    if data is None or b"\0" in data[:SNIFF_BYTES]:
        return None
    try:
        return data.decode("utf-8")[:README_MAX_CHARS]
    except UnicodeDecodeError:
        return None


class Tree:
    """A git tree as path -> (mode, sha), with its paths kept sorted, changed in place commit by commit.

    Walking a first-parent history newest first, the tree of a commit's parent is the commit's tree with
    the commit's changes (its diff against that parent) undone: `revert` does that, so one `ls-tree` per
    repository is enough.
    """

    def __init__(self, entries=()):
        self.entries: dict[bytes, tuple[str, str]] = {e.path: (e.mode, e.sha) for e in entries}
        self.paths: list[bytes] = sorted(self.entries)
        self.root: set[bytes] = {p for p in self.paths if b"/" not in p}  # root-level names (the README)
        self.touched: set[bytes] = set()  # paths set or removed since the caller last cleared it

    def copy(self) -> "Tree":
        other = Tree()
        other.entries, other.paths, other.root = dict(self.entries), list(self.paths), set(self.root)
        return other

    def __len__(self) -> int:
        return len(self.entries)

    def set(self, path: bytes, mode: str, sha: str) -> None:
        self.touched.add(path)
        if path not in self.entries:
            bisect.insort(self.paths, path)
            if b"/" not in path:
                self.root.add(path)
        self.entries[path] = (mode, sha)

    def remove(self, path: bytes) -> None:
        self.touched.add(path)
        if self.entries.pop(path, None) is None:
            return
        del self.paths[bisect.bisect_left(self.paths, path)]
        self.root.discard(path)

    def revert(self, changes) -> None:
        """Undo one commit's raw changes (`RawChange`s of its diff against its first parent)."""
        for c in changes:
            if c.status in ("A", "C", "R"):
                self.remove(c.new_path)
            if c.status in ("D", "M", "T", "R"):
                self.set(c.old_path, c.old_mode, c.old_sha)

    def readme(self) -> tuple[bytes, str] | None:
        """(path, blob sha) of the README at the root, or None (names compared ignoring case; of two
        spellings of one name the first in byte order)."""
        regular = sorted(p for p in self.root if self.entries[p][0] in REGULAR_MODES)
        for name in README_NAMES:
            for path in regular:
                if path.decode("utf-8", "replace").lower() == name:
                    return path, self.entries[path][1]
        return None

    def listing(self, cap: int = TREE_MAX_PATHS) -> list[str]:
        return [decode_path(p) for p in self.paths[:cap]]


@dataclass
class _Doc:
    ids: np.ndarray     # word ids (the repository's vocabulary), each once
    counts: np.ndarray  # how often each occurs
    length: int         # words in all


@dataclass
class Retriever:
    """BM25 over the pre-commit trees of one repository's commits (see the module docstring).

    `add_blob` is fed every blob that may be a candidate, once (through one `git cat-file --batch`);
    `rank` then retrieves from any tree made of those blobs.
    """

    vocab: dict[str, int] = field(default_factory=dict)
    blobs: dict[str, _Doc | None] = field(default_factory=dict)   # blob sha -> its words, None: no candidate
    docs: dict[tuple[bytes, str], _Doc] = field(default_factory=dict)  # (path, sha) -> path + contents
    runs: dict[str, list[str]] = field(default_factory=dict)  # a run of letters -> its words

    def _doc(self, counts: Counter) -> _Doc:
        vocab = self.vocab
        ids = np.fromiter((vocab.setdefault(w, len(vocab)) for w in counts), dtype=np.int64, count=len(counts))
        n = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
        return _Doc(ids, n, int(n.sum()))

    def add_blob(self, sha: str, data: bytes | None) -> None:
        text = text_of(data)
        self.blobs[sha] = None if text is None else self._doc(word_counts(text, self.runs))

    def is_candidate(self, sha: str) -> bool:
        return self.blobs.get(sha) is not None

    def doc(self, path: bytes, sha: str) -> _Doc:
        key = (path, sha)
        found = self.docs.get(key)
        if found is None:
            blob = self.blobs[sha]
            head = self._doc(word_counts(decode_path(path), self.runs))
            ids = np.concatenate([head.ids, blob.ids])
            counts = np.concatenate([head.counts, blob.counts])
            uniq, inverse = np.unique(ids, return_inverse=True)
            found = _Doc(uniq, np.bincount(inverse, weights=counts).astype(np.int64), head.length + blob.length)
            self.docs[key] = found
        return found

    def scores(self, candidates: list[tuple[bytes, str]], query: str) -> np.ndarray:
        """BM25 scores of `candidates` ((path, blob sha), each a candidate blob) for `query`: bm25s over
        the candidates, each word the query does not ask for replaced by one filler word."""
        docs = [self.doc(path, sha) for path, sha in candidates]  # (may add path words to the vocabulary)
        q = np.array(sorted({self.vocab[w] for w in tokens(query) if w in self.vocab}), dtype=np.int64)
        if not len(q) or not docs:
            return np.zeros(len(docs), dtype=np.float32)
        local = np.zeros(len(self.vocab), dtype=np.int64)
        local[q] = np.arange(1, len(q) + 1)
        corpus, found = [], False
        for d in docs:
            hit = local[d.ids]
            mask = hit > 0
            words = np.repeat(hit[mask], d.counts[mask]).tolist() if mask.any() else []
            found = found or bool(words)
            words.extend([0] * (d.length - len(words)))  # 0: the filler word no query asks for
            corpus.append(words)
        if not found:
            return np.zeros(len(docs), dtype=np.float32)
        retriever = bm25s.BM25()
        retriever.index((corpus, {i: i for i in range(len(q) + 1)}), create_empty_token=False,
                        show_progress=False)
        return retriever.get_scores(list(range(1, len(q) + 1)))

    def rank(self, candidates: list[tuple[bytes, str]], query: str, k: int) -> list[tuple[bytes, str]]:
        """The top k of `candidates` for `query`, best first: positive scores only, ties by path."""
        if k <= 0 or not candidates:
            return []
        scores = self.scores(candidates, query)
        best = sorted(np.flatnonzero(scores > 0), key=lambda i: (-float(scores[i]), candidates[i][0]))
        return [candidates[i] for i in best[:k]]


def candidates(tree: Tree, retriever: Retriever, changed: list[bytes],
               readme: bytes | None, cap: int = MAX_CANDIDATES) -> list[tuple[bytes, str]]:
    """The tree's candidate files (path, sha) in path order; over `cap`, those nearest the changes."""
    out = [(p, sha) for p in tree.paths
           for mode, sha in (tree.entries[p],)
           if mode in REGULAR_MODES and p != readme and retriever.is_candidate(sha)]
    if len(out) <= cap:
        return out
    dirs = [c.split(b"/")[:-1] for c in changed]

    def shared(path: bytes) -> int:
        parts = path.split(b"/")[:-1]
        best = 0
        for d in dirs:
            n = 0
            for a, b in zip(parts, d):
                if a != b:
                    break
                n += 1
            best = max(best, n)
        return best

    nearest = sorted(range(len(out)), key=lambda i: (-shared(out[i][0]), out[i][0]))[:cap]
    return [out[i] for i in sorted(nearest)]
