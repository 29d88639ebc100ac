"""The recall classifier (seedlib/web/classifier.py) on real text: Python standard library source and
docstrings as code-related pages, the licence texts installed under sys.prefix as the others.

Two labelled sets from disjoint files: set A is what the classifier is trained and measured on (its own
held-out split), set B is text it never saw, to check that the chosen threshold carries over.
"""

from __future__ import annotations

import ast
import functools
import glob
import hashlib
import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest

from seedlib.config import ConfigError
from seedlib.quality.oracle import ORACLE_ERROR, Judgement
from seedlib.storage import open_storage
from seedlib.web import classifier as wc
from seedlib.web.oracle import WebRubricOracle

STDLIB = os.path.dirname(os.__file__)


def _windows(words: list[str], size: int = 150) -> list[str]:
    return [" ".join(words[i:i + size]) for i in range(0, len(words), size) if len(words[i:i + size]) >= 40]


def _code_texts(paths: list[str]) -> list[str]:
    """Chunks of 40 lines (the first three of each file) and docstrings of 30+ words."""
    out = []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            source = f.read()
        lines = source.splitlines()
        out += [c for c in ("\n".join(lines[i:i + 40]) for i in range(0, min(len(lines), 120), 40))
                if len(c.split()) >= 30]
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        out += [d for n in ast.walk(tree) if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef))
                for d in [ast.get_docstring(n)] if d and len(d.split()) >= 30]
    return out


def _licence_texts() -> list[str]:
    """150-word windows of the licence files of Python and of the installed distributions."""
    found = set()
    for root in sorted({sys.prefix, sys.base_prefix}):
        lib = os.path.join(root, "lib", "python3*")
        for pattern in ("LICEN[CS]E*", "COPYING*"):
            for path in (glob.glob(os.path.join(lib, pattern))
                         + glob.glob(os.path.join(lib, "site-packages", "*.dist-info", "**", pattern), recursive=True)):
                if os.path.isfile(path):
                    with open(path, encoding="utf-8", errors="replace") as f:
                        found.add(f.read())
    return sorted({w for text in sorted(found) for w in _windows(text.split())})


@functools.cache
def corpus() -> dict[str, tuple[list[str], list[bool]]]:
    """{"A": (texts, labels), "B": ...}: 200 + 200 pages and 100 + 100 pages from disjoint files."""
    files = sorted(glob.glob(os.path.join(STDLIB, "*.py")))
    licences = _licence_texts()
    if len(licences) < 150 or len(files) < 120:
        pytest.fail(f"too little real text: {len(licences)} licence windows under {sys.prefix}, "
                    f"{len(files)} modules in {STDLIB}")
    rng = random.Random(0)
    code_a, code_b = _code_texts(files[0:120:2]), _code_texts(files[1:120:2])
    rng.shuffle(licences)
    other_a, other_b = licences[0::2], licences[1::2]
    n_other_a = min(200, len(other_a))
    n_other_b = min(100, len(other_b))
    out = {}
    for name, code, other, n_code, n_other in (("A", code_a, other_a, 200, n_other_a),
                                               ("B", code_b, other_b, 100, n_other_b)):
        code = rng.sample(code, n_code)
        out[name] = (code + other[:n_other], [True] * n_code + [False] * n_other)
    return out


@pytest.fixture(scope="module")
def trained() -> wc.Trained:
    texts, labels = corpus()["A"]
    return wc.train(texts, labels)


@pytest.fixture(scope="module")
def reseeded() -> wc.Trained:
    """The same labelled set trained with another seed."""
    texts, labels = corpus()["A"]
    return wc.train(texts, labels, seed=1)


def test_features_keep_code_punctuation_as_tokens() -> None:
    text = "def Area(r):\n    return 3.14159 * r ** 2  # __label__code\n>>> Area(2)\n12.56636\n"
    assert wc.features(text) == "def area ( r ) : <indent> return 0 * r ** 0 # _label_code >>> area ( 0 ) 0"
    assert "\n" not in wc.features("a\nb\r\nc") and wc.features("a\nb\r\nc") == "a b c"
    assert wc.features("x = 1; y == 2 -> z => w != v") == "x = 0 ; y == 0 -> z => w != v"
    long = wc.features("word " * (wc.MAX_TOKENS + 100))
    assert long.split() == ["word"] * wc.MAX_TOKENS
    assert wc.features("Grüße, Ελλάδα!") == "grüße , ελλάδα !"
    assert wc.features("a\ud800b\x00c\x7f") == "a ? b c"  # nothing fastText could not read or would split


def test_the_threshold_keeps_the_recall_target_on_the_held_out_split(trained: wc.Trained) -> None:
    texts, labels = corpus()["A"]
    m = trained.metrics
    assert set(m) == {"n_train", "n_holdout", "positives", "train_positives", "recall_target", "threshold",
                      "recall", "precision", "flagged_share", "auc"}
    assert m["n_train"] + m["n_holdout"] == len(texts) and m["n_holdout"] == 120  # 30% of each class
    assert m["positives"] == 60 and m["train_positives"] == 140

    # Recompute every number from the held-out pages' scores.
    _, held = wc.split(texts, labels, 0.3)
    scores = trained.classifier.scores([texts[i] for i in held])
    y = np.array([labels[i] for i in held])
    t = trained.classifier.threshold
    flagged = scores >= t
    assert m["recall"] == round((flagged & y).sum() / y.sum(), 6) >= 0.99
    assert m["precision"] == round((flagged & y).sum() / flagged.sum(), 6)
    assert m["flagged_share"] == round(flagged.mean(), 6) and m["threshold"] == round(t, 6)
    # The highest such threshold: any higher one loses a code page past the target.
    higher = scores[y & (scores > t)]
    if higher.size:
        assert ((scores >= higher.min()) & y).sum() / y.sum() < 0.99
    # Code and licence text are far apart: the 99%-recall threshold costs little precision.
    assert m["precision"] >= 0.95 and m["auc"] >= 0.99


def test_the_threshold_carries_over_to_text_it_never_saw(trained: wc.Trained) -> None:
    texts, labels = corpus()["B"]
    flagged = trained.classifier.scores(texts) >= trained.classifier.threshold
    y = np.array(labels)
    assert (flagged & y).sum() / y.sum() >= 0.95
    assert (flagged & ~y).sum() / (~y).sum() <= 0.05


def test_choose_threshold_is_the_highest_with_the_recall() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    labels = np.array([True, False, True, True, False, True])
    assert wc.choose_threshold(scores, labels, 0.75) == 0.6   # 3 of 4 positives at >= 0.6
    assert wc.choose_threshold(scores, labels, 0.76) == 0.4
    assert wc.choose_threshold(scores, labels, 0.5) == 0.7
    # AUC: of the 4 x 2 (positive, negative) pairs, 4 are ordered right; tied pairs count a half.
    assert wc._auc(scores, labels) == 4 / 8
    tied = np.array([0.5, 0.5, 0.9, 0.1])
    assert wc._auc(tied, np.array([True, False, True, False])) == (1 + 0.5 + 1 + 1) / 4


def test_training_is_deterministic_and_independent_of_the_order(trained: wc.Trained,
                                                                reseeded: wc.Trained) -> None:
    texts, labels = corpus()["A"]
    order = list(range(len(texts)))
    random.Random(7).shuffle(order)
    shuffled = wc.train([texts[i] for i in order], [labels[i] for i in order])
    assert shuffled.classifier.model_bytes() == trained.classifier.model_bytes()
    assert shuffled.version == trained.version and shuffled.metrics == trained.metrics
    assert trained.version.startswith("wc-") and len(trained.version) == 15
    assert reseeded.version != trained.version
    assert reseeded.classifier.model_bytes() != trained.classifier.model_bytes()


def test_a_fresh_process_trains_the_same_model(trained: wc.Trained) -> None:
    """fastText 0.9.2 with one thread leaves nine tenths of its input matrix uninitialised: a model that
    depended on that memory would differ between processes (and hold garbage weights)."""
    script = ("import hashlib; from tests.test_web_classifier import corpus; from seedlib.web import classifier; "
              "print(hashlib.sha256(classifier.train(*corpus()['A']).classifier.model_bytes()).hexdigest())")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == hashlib.sha256(trained.classifier.model_bytes()).hexdigest()
    weights = trained.classifier.model.get_input_matrix()
    assert np.isfinite(weights).all() and np.abs(weights).max() < 10


def test_too_few_pages_or_one_class_are_refused() -> None:
    texts, labels = corpus()["A"]
    with pytest.raises(ConfigError, match=r"200 labelled pages \(200 code-related, 0 not\); both classes"):
        wc.train(texts[:200], labels[:200])
    with pytest.raises(ConfigError, match="at least 20 pages and 5 of each class"):
        wc.train(texts[:8] + texts[-8:], labels[:8] + labels[-8:])
    with pytest.raises(ConfigError, match="at least 20 pages and 5 of each class"):
        wc.train(texts[:30] + texts[-4:], labels[:30] + labels[-4:])
    with pytest.raises(ValueError, match="labels must be True/False or 1/0"):
        wc.train(texts[:2], ["code", "other"])


def test_publish_latest_and_load_round_trip(trained: wc.Trained, reseeded: wc.Trained, tmp_path) -> None:
    storage = open_storage(tmp_path.as_uri())
    assert wc.latest(storage) is None
    meta = {"source": "file:/labels.jsonl", "labels": 400}
    version = wc.publish(storage, trained, meta)
    assert version == trained.version
    assert storage.list(wc.PREFIX) == [f"web_classifiers/{version}/_MANIFEST.json",
                                       f"web_classifiers/{version}/model.bin"]
    m = wc.manifest_of(storage, version)
    assert m["version"] == version and m["threshold"] == trained.classifier.threshold
    assert m["metrics"] == trained.metrics and m["labels"] == meta
    assert m["counts"] == {"labelled": 400, "train": 280, "holdout": 120, "positives": 200, "negatives": 200}
    assert m["params"]["fasttext"]["thread"] == 1 and m["params"]["recall_target"] == 0.99
    assert m["model"]["bytes"] == len(storage.read_bytes(f"web_classifiers/{version}/model.bin"))
    assert wc.latest(storage) == version

    loaded = wc.load(storage, version)
    texts, _ = corpus()["B"]
    assert np.array_equal(loaded.scores(texts), trained.classifier.scores(texts))
    assert loaded.threshold == trained.classifier.threshold and loaded.version == version

    assert wc.publish(storage, trained, {"source": "again"}) == version  # published once, kept as it is
    assert wc.manifest_of(storage, version) == m

    assert wc.publish(storage, reseeded, meta) == reseeded.version
    assert wc.versions(storage) == [version, reseeded.version] and wc.latest(storage) == reseeded.version


def test_an_unknown_or_damaged_version_is_a_clear_error(trained: wc.Trained, tmp_path) -> None:
    storage = open_storage(tmp_path.as_uri())
    with pytest.raises(ConfigError, match=r"no web classifier 'wc-000000000000' is published under .*"
                                          r"web_classifiers \(published: none\)"):
        wc.load(storage, "wc-000000000000")
    version = wc.publish(storage, trained, {"source": "test"})
    with pytest.raises(ConfigError, match=rf"no web classifier '\.\./x' .*\(published: {version}\)"):
        wc.load(storage, "../x")
    key = f"web_classifiers/{version}/model.bin"
    storage.write_bytes(key, storage.read_bytes(key)[:-10])
    with pytest.raises(ConfigError, match="does not match the SHA-256 its manifest records"):
        wc.load(storage, version)


def test_a_text_without_tokens_scores_zero(trained: wc.Trained) -> None:
    scores = trained.classifier.scores(["", "  \n\t", "import os\nprint(os.getcwd())"])
    assert scores[0] == 0.0 and scores[1] == 0.0 and 0 < scores[2] <= 1
    assert trained.classifier.scores([]).shape == (0,)


def test_read_labels_reads_jsonl_and_fasttext_lines(tmp_path) -> None:
    path = tmp_path / "labels.jsonl"
    rows = [{"text": "def f(): pass", "label": 1}, {"text": "The licensor grants", "label": 0},
            {"text": "x = 1", "label": True}, {"text": "Dear reader", "label": "false"},
            {"text": "int main() {}", "label": "code"}, {"text": "Free shipping", "label": "Other"}]
    lines = [json.dumps(r) for r in rows] + ["", "__label__code for i in range(3): print(i)",
                                             "__label__other\tAdd to cart and save 10%"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert wc.read_labels(str(path)) == [
        ("def f(): pass", True), ("The licensor grants", False), ("x = 1", True), ("Dear reader", False),
        ("int main() {}", True), ("Free shipping", False), ("for i in range(3): print(i)", True),
        ("Add to cart and save 10%", False)]


@pytest.mark.parametrize(("line", "error"), [
    ('{"text": "a", "label": 2}', r"line 2: label 2 is none of 1/0, true/false"),
    ('{"text": "a"}', r'line 2: expected an object with a string "text" and a "label"'),
    ('{"text": 5, "label": 1}', r'line 2: expected an object with a string "text"'),
    ('["a", 1]', r'line 2: expected an object'),
    ("not json at all", r"line 2: neither JSON nor a fastText"),
    ("__label__maybe some text", r"line 2: unknown label '__label__maybe'"),
    ("__label__code", r"line 2: a label without text"),
])
def test_read_labels_names_the_bad_line(tmp_path, line: str, error: str) -> None:
    path = tmp_path / "labels.txt"
    path.write_text('{"text": "ok", "label": 1}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"labels file {path}, {error}"):
        wc.read_labels(str(path))


def test_read_labels_refuses_a_missing_or_empty_file(tmp_path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        wc.read_labels(str(tmp_path / "missing.jsonl"))
    (tmp_path / "empty.jsonl").write_text("\n\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no labelled lines"):
        wc.read_labels(str(tmp_path / "empty.jsonl"))


class _FailingEvery:
    """An oracle whose every n-th judgement failed (as an OpenAIOracle answers when a request fails)."""

    name = "failing"

    def __init__(self, inner, n: int) -> None:
        self.inner, self.n = inner, n

    def judge_pages(self, items):
        judged = self.inner.judge_pages(items)
        return [Judgement(None, "", ORACLE_ERROR) if i % self.n == 0 else j for i, j in enumerate(judged)]


def test_label_pages_labels_with_the_web_oracle_and_counts_failures() -> None:
    code, _ = corpus()["B"]
    licences = corpus()["B"][0][100:]
    pages = ([{"category": "documentation", "url": f"https://docs.example.org/{i}", "text": t,
               "has_code_tags": False} for i, t in enumerate(code[:10])]
             + [("other", f"https://example.org/licence/{i}", t, False) for i, t in enumerate(licences[:10])])
    texts, labels, counts = wc.label_pages(WebRubricOracle(), pages)
    assert texts == code[:10] + licences[:10]
    assert labels == [True] * 10 + [False] * 10
    assert counts == {"code_related": 10, "not_code_related": 10}

    texts, labels, counts = wc.label_pages(_FailingEvery(WebRubricOracle(), 4), pages)
    assert len(texts) == 15 and counts == {"code_related": 7, "not_code_related": 8, ORACLE_ERROR: 5}
    assert code[0] not in texts and code[1] in texts
