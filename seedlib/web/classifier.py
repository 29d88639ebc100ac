"""The recall classifier: fastText P(code-related) of a page's text, and the threshold it is applied with.

The report's recipe: a fastText model trained on pages labelled code-related or not, applied to the pages
without code tags (pages with <pre>/<code> are code-related by construction), with its threshold chosen on a
held-out split as the highest one whose recall is at least the target (0.99): the classifier's job is to
lose almost no code-related page; the quality stage after it does the selecting.

- `features(text)`: the one line fastText reads, lower case, code punctuation kept as tokens (the best
  signal there is: `(`, `)`, `=`, `{`, `;`, `->`, `>>>` are rare in prose), numbers collapsed to `0`, an
  `<indent>` token for indented lines, at most MAX_TOKENS tokens (the page's beginning).
- `train(texts, labels)`: a stratified split by hash (per class, the pages with the smallest SHA-256 of
  (seed, text) are held out, so the same labelled set always gives the same split whatever its order),
  fastText supervised with one thread, a fixed seed and its input vectors drawn here from that seed (see
  PARAMS: the same data gives the same model bytes, in any process), then the threshold and metrics on the
  held-out split.
- `publish`/`latest`/`load`/`manifest_of`: versions under `web_classifiers/<version>/` (model.bin, then
  _MANIFEST.json, written last). The version is "wc-" + the first 12 hex digits of the SHA-256 of the
  labelled data and the parameters, so publishing the same training twice gives the same version.
- `read_labels(path)`: a labelled file (JSONL or fastText format); `label_pages(oracle, pages)`: labels
  from the web oracle (seedlib/web/oracle.py, `code_related`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import re
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from seedlib.config import ConfigError
from seedlib.storage import Storage
from seedlib.version import code_version

__all__ = [
    "FEATURES",
    "MAX_TOKENS",
    "MIN_PAGES",
    "MIN_PER_CLASS",
    "PARAMS",
    "PREFIX",
    "Classifier",
    "Trained",
    "choose_threshold",
    "features",
    "label_pages",
    "latest",
    "load",
    "manifest_of",
    "publish",
    "read_labels",
    "split",
    "train",
    "versions",
]

PREFIX = "web_classifiers"
MANIFEST = "_MANIFEST.json"
MODEL = "model.bin"
FEATURES = "tokens-v1"   # the name of the feature function below: a change must change it (and so the version)
MAX_TOKENS = 1500        # tokens of a page the classifier reads (fastText averages them: more adds little)
MIN_PER_CLASS = 5        # labelled pages each class needs: at least one in each of the two splits
MIN_PAGES = 20           # labelled pages in all

POSITIVE, NEGATIVE = "__label__code", "__label__other"
# fastText settings. One thread and a fixed seed: fastText's threads race on shared weights (Hogwild), so
# only one thread gives the same model for the same data. But with one thread fastText 0.9.2 initialises
# only the first tenth of its input matrix (`DenseMatrix::uniform` fills one block of ten per thread) and
# trains on whatever the rest of the allocation held: different models run to run, and now and then
# "Encountered NaN". So the input matrix comes from `pretrainedVectors`, a vector for every word of the
# training set drawn here from the seed, and there are no hashed n-gram buckets (bucket 0, unigrams, no
# subwords), which no pretrained file can initialise. Unigrams suffice: the punctuation tokens carry it.
PARAMS: dict[str, Any] = {"dim": 16, "epoch": 50, "lr": 0.1, "wordNgrams": 1, "bucket": 0, "minCount": 1,
                          "minn": 0, "maxn": 0, "loss": "softmax", "thread": 1, "seed": 0}
_EOS = "</s>"  # the end-of-line word fastText adds to every line

_TOKEN = re.compile(r"""
    (?P<num>\d[\w.]*)                                            # 3, 3.14, 0x1f, 1e-5 (as far as the word goes)
  | (?P<word>[^\W\d]\w*)                                         # identifiers and words, any script
  | (?P<op>>>>|\.\.\.|->|=>|::|==|!=|<=|>=|&&|\|\||\+\+|--|\+=|-=|\*=|/=|//|/\*|\*/|<<|>>|\*\*|:=|</|/>)
  | (?P<punct>[^\w\s\x00-\x1f\x7f])                               # every other symbol on its own
""", re.VERBOSE)


def features(text: str) -> str:
    """The page as fastText's one line of tokens (see the module docstring)."""
    text = text.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate cannot be written for fastText
    out: list[str] = []
    for line in text.splitlines():
        if len(out) >= MAX_TOKENS:
            break
        if line[:1] in (" ", "\t") and line.strip():
            out.append("<indent>")
        for m in _TOKEN.finditer(line.lower()):
            kind = m.lastgroup
            if kind == "num":
                out.append("0")
            elif kind == "word":
                # A page cannot smuggle in a label: fastText reads any token starting with the label prefix
                # as a label.
                out.append(m.group().replace("__label__", "_label_"))
            else:
                out.append(m.group())
    return " ".join(out[:MAX_TOKENS])


# ---------------------------------------------------------------------------------------------------------
# The model


class Classifier:
    """A fastText model and its threshold: scores(texts)[i] >= threshold means page i is code-related."""

    def __init__(self, model: Any, threshold: float, version: str | None = None) -> None:
        self.model, self.threshold, self.version = model, threshold, version

    def __repr__(self) -> str:
        return f"Classifier(version={self.version!r}, threshold={self.threshold:.6f})"

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """P(code-related) of each text, float64, in order; 0 for a text without a token (fastText would
        answer from its end-of-line token alone, i.e. from nothing on the page)."""
        lines = [features(t) for t in texts]
        out = np.zeros(len(lines), dtype=np.float64)
        present = [i for i, line in enumerate(lines) if line]
        if present:
            labels, probs = self.model.predict([lines[i] for i in present], k=2)
            out[present] = [_positive(ls, ps) for ls, ps in zip(labels, probs)]
        return out

    def model_bytes(self) -> bytes:
        """model.bin as fastText writes it (save_model takes a path only)."""
        with tempfile.TemporaryDirectory(prefix="seed-wc-") as tmp:
            path = os.path.join(tmp, MODEL)
            self.model.save_model(path)
            with open(path, "rb") as f:
                return f.read()


def _positive(labels: Sequence[str], probs: Sequence[float]) -> float:
    for label, p in zip(labels, probs):
        if label == POSITIVE:
            return min(1.0, max(0.0, float(p)))
    # fastText returns both labels for k=2; only a model that never saw a positive has none
    return 0.0


@dataclass(frozen=True)
class Trained:
    """A trained classifier with what publishing records about it."""

    classifier: Classifier
    metrics: dict[str, Any]   # held-out: n_train, n_holdout, positives, recall, precision, threshold, ...
    params: dict[str, Any]    # fastText parameters, features, holdout, recall_target, seed
    digest: str               # SHA-256 of the labelled data and params (the version's source)

    @property
    def version(self) -> str:
        return "wc-" + self.digest[:12]


def _rank(seed: int, text: str) -> str:
    return hashlib.sha256(f"{seed}\x00{text}".encode("utf-8", "surrogatepass")).hexdigest()


def split(texts: Sequence[str], labels: Sequence[bool], holdout: float, seed: int = 0) -> tuple[list[int], list[int]]:
    """(train indices, held-out indices): per class, the share `holdout` with the smallest hash rank, at
    least one page and at most all but one. Both lists in hash order (fastText does not shuffle: trained on
    pages sorted by class it would learn the last class best)."""
    ranked = sorted(range(len(texts)), key=lambda i: (_rank(seed, texts[i]), i))
    held: list[int] = []
    for cls in (True, False):
        members = [i for i in ranked if labels[i] is cls]
        k = min(max(1, round(holdout * len(members))), len(members) - 1)
        held += members[:k]
    held_set = set(held)
    return [i for i in ranked if i not in held_set], [i for i in ranked if i in held_set]


def choose_threshold(scores: np.ndarray, labels: np.ndarray, recall_target: float) -> float:
    """The highest threshold t with recall(score >= t) >= recall_target on these labelled scores: the
    k-th highest positive score, k = ceil(recall_target x positives)."""
    positives = np.sort(scores[labels])[::-1]
    if positives.size == 0:
        raise ValueError("choose_threshold: no positive page to measure recall on")
    k = max(1, math.ceil(recall_target * positives.size - 1e-9))
    return float(positives[k - 1])


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney rank statistic (tied scores share their mean rank), O(n log n)."""
    order = np.argsort(scores, kind="stable")
    _, tie_group, counts = np.unique(scores[order], return_inverse=True, return_counts=True)
    mean_rank = np.cumsum(counts) - (counts - 1) / 2.0   # 1-based
    ranks = np.empty(scores.size)
    ranks[order] = mean_rank[tie_group]
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _checked(texts: Sequence[str], labels: Sequence[Any]) -> list[bool]:
    if len(texts) != len(labels):
        raise ValueError(f"train: {len(texts)} texts but {len(labels)} labels")
    bad = [y for y in labels if not isinstance(y, (bool, np.bool_, int, np.integer)) or y not in (0, 1)]
    if bad:
        raise ValueError(f"train: labels must be True/False or 1/0 (1 = code-related), got {bad[0]!r}")
    labels = [bool(y) for y in labels]
    counts = Counter(labels)
    have = f"{len(labels)} labelled pages ({counts[True]} code-related, {counts[False]} not)"
    if not counts[True] or not counts[False]:
        raise ConfigError(f"cannot train the web classifier: {have}; both classes are needed (check the labels "
                          f"or the pages the oracle judged)")
    if len(labels) < MIN_PAGES or min(counts[True], counts[False]) < MIN_PER_CLASS:
        raise ConfigError(f"cannot train the web classifier: {have}; it needs at least {MIN_PAGES} pages and "
                          f"{MIN_PER_CLASS} of each class (to train and to measure recall on a held-out split)")
    return labels


def _initial_vectors(lines: list[str], dim: int, seed: int) -> str:
    """A .vec file (fastText's text format) with a vector for every word of the training lines, uniform in
    +-1/dim as fastText's own initialisation, drawn in sorted word order from the seed."""
    words = sorted({w for line in lines for w in line.split()[1:]} | {_EOS})
    vectors = np.random.default_rng(seed).uniform(-1.0 / dim, 1.0 / dim, size=(len(words), dim))
    rows = (f"{w} {' '.join(f'{x:.8f}' for x in v)}" for w, v in zip(words, vectors))
    return f"{len(words)} {dim}\n" + "\n".join(rows) + "\n"


def _fit(lines: list[str], params: dict[str, Any]) -> Any:
    import fasttext

    with tempfile.TemporaryDirectory(prefix="seed-wc-") as tmp:
        path, vec = os.path.join(tmp, "train.txt"), os.path.join(tmp, "init.vec")
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))
        with open(vec, "w", encoding="utf-8") as f:
            f.write(_initial_vectors(lines, params["dim"], params["seed"]))
        return fasttext.train_supervised(input=path, pretrainedVectors=vec, verbose=0, **params)


def train(texts: Sequence[str], labels: Sequence[bool], *, holdout: float = 0.3, recall_target: float = 0.99,
          seed: int = 0) -> Trained:
    """Train on (1 - holdout) of the labelled pages and choose the threshold on the rest (module docstring).

    Metrics, all on the held-out split: n_train, n_holdout, positives (held-out code-related pages),
    recall and precision at the threshold, flagged_share (the share of held-out pages at or above it),
    auc; plus recall_target and train_positives. ConfigError when there are too few pages or one class."""
    labels = _checked(texts, labels)
    if not 0 < holdout < 1:
        raise ValueError(f"train: holdout must be between 0 and 1, got {holdout}")
    params = {**PARAMS, "seed": seed}
    train_ix, held_ix = split(texts, labels, holdout, seed)
    lines = [f"{POSITIVE if labels[i] else NEGATIVE} {features(texts[i])}" for i in train_ix]
    model = _fit(lines, params)

    classifier = Classifier(model, 0.0)
    held_scores = classifier.scores([texts[i] for i in held_ix])
    held_labels = np.array([labels[i] for i in held_ix], dtype=bool)
    threshold = choose_threshold(held_scores, held_labels, recall_target)
    classifier.threshold = threshold
    flagged = held_scores >= threshold
    true_pos = int((flagged & held_labels).sum())
    metrics = {
        "n_train": len(train_ix), "n_holdout": len(held_ix), "positives": int(held_labels.sum()),
        "train_positives": int(sum(labels[i] for i in train_ix)), "recall_target": recall_target,
        "threshold": round(threshold, 6), "recall": round(true_pos / int(held_labels.sum()), 6),
        "precision": round(true_pos / int(flagged.sum()), 6), "flagged_share": round(float(flagged.mean()), 6),
        "auc": round(_auc(held_scores, held_labels), 6),
    }
    recorded = {"fasttext": params, "features": FEATURES, "max_tokens": MAX_TOKENS, "holdout": holdout,
                "recall_target": recall_target, "seed": seed}
    digest = hashlib.sha256()
    digest.update(json.dumps(recorded, sort_keys=True).encode())
    for h, y in sorted((hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest(), y)
                       for t, y in zip(texts, labels)):
        digest.update(f"\n{h} {int(y)}".encode())
    return Trained(classifier, metrics, recorded, digest.hexdigest())


# ---------------------------------------------------------------------------------------------------------
# Publication


def _base(version: str) -> str:
    return f"{PREFIX}/{version}"


def publish(storage: Storage, trained: Trained, labels_meta: Mapping[str, Any]) -> str:
    """Write web_classifiers/<version>/model.bin, then its _MANIFEST.json (last: a version exists once its
    manifest does); returns the version. A version already published is left as it is (the same labelled
    data and parameters give the same model)."""
    version = trained.version
    base = _base(version)
    if storage.exists(f"{base}/{MANIFEST}"):
        return version
    data = trained.classifier.model_bytes()
    storage.write_bytes(f"{base}/{MODEL}", data)
    m = trained.metrics
    storage.write_json(f"{base}/{MANIFEST}", {
        "version": version,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds"),  # orders `latest`
        "code_version": code_version(),
        "model": {"path": MODEL, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)},
        "threshold": trained.classifier.threshold,
        "metrics": m,
        "params": trained.params,
        "labels": dict(labels_meta),
        "counts": {"labelled": m["n_train"] + m["n_holdout"], "train": m["n_train"], "holdout": m["n_holdout"],
                   "positives": m["train_positives"] + m["positives"],
                   "negatives": m["n_train"] + m["n_holdout"] - m["train_positives"] - m["positives"]},
    })
    return version


def versions(storage: Storage) -> list[str]:
    """Published versions (those with a manifest), oldest first (by created_at, then name)."""
    found = []
    for name in storage.list_dirs(PREFIX):
        key = f"{_base(name)}/{MANIFEST}"
        if storage.exists(key):
            found.append((str(storage.read_json(key).get("created_at", "")), name))
    return [name for _, name in sorted(found)]


def latest(storage: Storage) -> str | None:
    """The most recently published version, None when there is none."""
    found = versions(storage)
    return found[-1] if found else None


def manifest_of(storage: Storage, version: str) -> dict[str, Any]:
    """A published version's manifest; ConfigError naming the published ones when it is not published."""
    key = f"{_base(version)}/{MANIFEST}" if re.fullmatch(r"[A-Za-z0-9][\w.-]*", version or "") else None
    if key is None or not storage.exists(key):
        published = ", ".join(versions(storage)) or "none"
        raise ConfigError(f"web_classifier: no web classifier {version!r} is published under "
                          f"{storage.uri(PREFIX)} (published: {published})")
    return storage.read_json(key)


def load(storage: Storage, version: str) -> Classifier:
    """A published classifier (fastText loads from a path: the model goes through a temporary file)."""
    import fasttext

    m = manifest_of(storage, version)
    data = storage.read_bytes(f"{_base(version)}/{m['model']['path']}")
    if hashlib.sha256(data).hexdigest() != m["model"]["sha256"]:
        raise ConfigError(f"web_classifier: {storage.uri(_base(version))}/{m['model']['path']} does not match "
                          f"the SHA-256 its manifest records (a partial or replaced upload?)")
    with tempfile.TemporaryDirectory(prefix="seed-wc-") as tmp:
        path = os.path.join(tmp, MODEL)
        with open(path, "wb") as f:
            f.write(data)
        model = fasttext.load_model(path)
    return Classifier(model, float(m["threshold"]), version)


# ---------------------------------------------------------------------------------------------------------
# Labels

_TRUE = {True: True, 1: True, "1": True, "true": True, "code": True, "yes": True}
_FALSE = {False: False, 0: False, "0": False, "false": False, "other": False, "no": False}


def _label(value: Any) -> bool | None:
    if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
        return bool(value)
    if isinstance(value, str):
        v = value.strip().lower()
        return _TRUE.get(v, _FALSE.get(v))
    return None


def read_labels(path: str) -> list[tuple[str, bool]]:
    """(text, code-related) pairs of a labelled file: JSONL lines {"text": ..., "label": 1/0, true/false or
    "code"/"other"}, or fastText lines `__label__code TEXT` / `__label__other TEXT` (the format is chosen
    per line; blank lines are skipped). A bad line is a ConfigError naming the file and the line number."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"labels file {path}: cannot be read ({e})") from e
    out: list[tuple[str, bool]] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"labels file {path}, line {n}"
        if line.startswith("__label__"):
            head, text = (re.split(r"[ \t]", line, maxsplit=1) + [""])[:2]
            label = {POSITIVE: True, NEGATIVE: False}.get(head)
            if label is None:
                raise ConfigError(f"{where}: unknown label {head!r} (expected {POSITIVE} or {NEGATIVE})")
            if not text.strip():
                raise ConfigError(f"{where}: a label without text")
            out.append((text, label))
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            raise ConfigError(f"{where}: neither JSON nor a fastText `__label__code|__label__other TEXT` line "
                              f"({e})") from e
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) or "label" not in row:
            raise ConfigError(f"{where}: expected an object with a string \"text\" and a \"label\"")
        label = _label(row["label"])
        if label is None:
            raise ConfigError(f"{where}: label {row['label']!r} is none of 1/0, true/false, \"code\"/\"other\"")
        out.append((row["text"], label))
    if not out:
        raise ConfigError(f"labels file {path}: no labelled lines")
    return out


def label_pages(oracle: Any, pages: Sequence[Mapping[str, Any] | Sequence[Any]]) -> tuple[list[str], list[bool], Counter[str]]:
    """Label pages with the web oracle: (texts, labels, counts). Pages are mappings with category, url,
    text and has_code_tags (or such 4-tuples). A page the oracle could not judge is left out and counted
    under its error; counts also has "code_related" and "not_code_related"."""
    from seedlib.web.oracle import code_related

    items = [(p["category"], p["url"], p["text"], bool(p["has_code_tags"])) if isinstance(p, Mapping)
             else (p[0], p[1], p[2], bool(p[3])) for p in pages]
    judgements = oracle.judge_pages(items)
    texts: list[str] = []
    labels: list[bool] = []
    counts: Counter[str] = Counter()
    for (_, _, text, _), j in zip(items, judgements):
        label = code_related(j)
        if label is None:
            counts[j.error or "unjudged"] += 1
            continue
        counts["code_related" if label else "not_code_related"] += 1
        texts.append(text)
        labels.append(label)
    return texts, labels, counts
