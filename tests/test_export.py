"""`seed export`: FIM, sampling weights, shards, token counts, and the export of a small published snapshot
(built here through seedlib.manifest) run through the EXPORTS pipeline's stages in this process."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pytest

from seedlib import cleanup, datasets, manifest
from seedlib.config import ConfigError, load_config
from seedlib.export import fim, mixture, shards, tokens
from seedlib.export.stage import prepare_export
from seedlib.pipelines import EXPORTS
from seedlib.publish import publish_run
from seedlib.run import manifest_key, prepare_run, snapshot_prefix
from seedlib.runner import StageFailed, launch
from seedlib.stage_operator import triggered_date
from seedlib.storage import open_storage
from tests.test_cli import seed, user_env


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def doc_unit(label: str, seed_: str) -> float:
    """u(label) exactly as docs/export.md and seedlib/export/fim.py define it."""
    return int.from_bytes(hashlib.sha256(f"{label}\0{seed_}".encode()).digest()[:8], "big") / 2**64


# ---------- FIM ----------

TEXT = "def add(a, b):\n    # sum of two numbers: ü, 漢字, 🙂\n    return a + b\n"


def test_fim_is_spm_with_the_reports_markers_and_reassembles_exactly():
    digest = sha(TEXT)
    a, b = fim.split_points(digest, len(TEXT))
    # the documented formula, recomputed here
    i, j = int(doc_unit("begin", digest) * (len(TEXT) + 1)), int(doc_unit("end", digest) * (len(TEXT) + 1))
    assert (a, b) == (min(i, j), max(i, j))
    sample = fim.spm(TEXT, a, b)
    assert sample == "<[fim-suffix]>" + TEXT[b:] + "<[fim-prefix]>" + TEXT[:a] + "<[fim-middle]>" + TEXT[a:b]
    assert fim.restore(sample) == TEXT
    assert fim.restore(sample).encode("utf-8") == TEXT.encode("utf-8")
    # every split of a text with multi-byte characters restores byte for byte
    for a in range(0, len(TEXT) + 1, 7):
        for b in range(a, len(TEXT) + 1, 5):
            assert fim.restore(fim.spm(TEXT, a, b)).encode() == TEXT.encode()


def test_fim_is_deterministic_per_file_and_per_copy():
    at_one = [fim.apply(TEXT, sha(TEXT), 1.0, copy) for copy in range(3)]
    assert at_one == [fim.apply(TEXT, sha(TEXT), 1.0, copy) for copy in range(3)]
    assert all(fimmed and text.startswith(fim.SUFFIX) for text, fimmed in at_one)
    assert all(fim.restore(text) == TEXT for text, _ in at_one)
    assert len({text for text, _ in at_one}) == 3  # each copy is split at its own points
    assert fim.apply(TEXT, sha(TEXT), 0.0) == (TEXT, False)
    # the choice is u("rate", sha256) < rate: the same files at every rerun
    assert fim.apply(TEXT, sha(TEXT), 0.5)[1] == (doc_unit("rate", sha(TEXT)) < 0.5)
    assert fim.apply("", sha(""), 1.0) == ("<[fim-suffix]><[fim-prefix]><[fim-middle]>", True)


def test_fim_rate_is_close_to_the_configured_share():
    digests = [sha(f"file {i}") for i in range(4000)]
    for rate in (0.1, 0.5, 0.9):
        share = sum(fim.chosen(d, rate) for d in digests) / len(digests)
        assert abs(share - rate) < 0.03, (rate, share)
    assert sum(fim.chosen(d, 1.0) for d in digests) == 4000 and sum(fim.chosen(d, 0.0) for d in digests) == 0


# ---------- sampling weights ----------

def test_weights_are_a_deterministic_sampling_rate_and_repeat_above_one():
    keys = [f"o/r\0src/f{i}.py" for i in range(4000)]
    assert {mixture.copies("file", k, 0.0) for k in keys} == {0}
    assert {mixture.copies("file", k, 1.0) for k in keys} == {1}
    assert {mixture.copies("file", k, 2.0) for k in keys} == {2}
    half = [k for k in keys if mixture.copies("file", k, 0.5)]
    assert abs(len(half) / len(keys) - 0.5) < 0.03
    assert half == [k for k in keys if doc_unit("weight:file", k) < 0.5]  # exactly the documented rule
    quarter = {k for k in keys if mixture.copies("file", k, 0.25)}
    assert quarter < set(half)  # a lower weight keeps a subset of the rows a higher one keeps
    one_and_half = [mixture.copies("file", k, 1.5) for k in keys]
    assert set(one_and_half) == {1, 2} and abs(sum(one_and_half) / len(keys) - 1.5) < 0.03
    # the hash is per source: the same key is not kept by every source alike
    assert [mixture.copies("web", k, 0.5) for k in keys] != [mixture.copies("file", k, 0.5) for k in keys]
    assert mixture.weights_of((("web", 0.5),), ("file", "web")) == {"file": 1.0, "web": 0.5}


# ---------- shards ----------

def test_shard_layout_cuts_the_mixture_in_order():
    assert shards.layout([3, 0, 5, 2], 4) == [[(0, 0, 3), (2, 0, 1)], [(2, 1, 5)], [(3, 0, 2)]]
    assert shards.layout([], 4) == [] and shards.layout([4], 4) == [[(0, 0, 4)]]
    assert shards.name(2, 12, "parquet") == "shard-00002-of-00012.parquet"
    assert shards.name(0, 1, "jsonl") == "shard-00000-of-00001.jsonl.gz"


def test_jsonl_shards_are_reproducible_and_read_back():
    rows = [{"text": "x = 1\n", "source": "file", "id": "o/r:a.py", "repo": "o/r", "path": "a.py", "lang": "Python",
             "fim": False, "repeat": 0, "tokens": 4},
            {"text": "página 🙂", "source": "web", "id": "https://e.x/p", "repo": None, "path": None, "lang": None,
             "fim": False, "repeat": 1, "tokens": 5}]
    table = pa.Table.from_pylist(rows, schema=mixture.MIXTURE)
    data = shards.jsonl_gz(table)
    assert data == shards.jsonl_gz(table)  # no timestamp in the gzip header
    assert shards.read_jsonl_gz(data) == rows
    assert list(shards.read_jsonl_gz(data)[0]) == mixture.MIXTURE.names  # the columns, in order


# ---------- tokens ----------

@pytest.fixture(scope="module")
def tokenizer():
    return tokens.load(tokens.SMOLLM2)


def test_token_counts_are_the_tokenizers_and_never_special(tokenizer):
    texts = ["def f():\n    return 1\n", "", "<|im_end|><|im_start|>", "x" * 5000,
             *(f"v{i} = {i}\n" for i in range(300))]
    expected = [len(tokenizer.backend(t, add_special_tokens=False, split_special_tokens=True)["input_ids"])
                for t in texts]
    assert tokenizer.count(texts) == expected
    assert expected[1] == 0
    special = tokenizer.backend("<|im_end|>", add_special_tokens=False)["input_ids"]
    assert len(special) == 1 and tokenizer.count(["<|im_end|>"])[0] > 1  # crawled text injects no control token
    info = tokenizer.info()
    assert info["name"] == "smollm2-135m" and info["vocab_size"] == 49152 and len(info["sha256"]) == 64
    assert (tokens.cache_dir() / "smollm2-135m" / "tokenizer.json").exists()  # converted once, then reused


def test_a_tokenizer_folder_that_is_none_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="export_tokenizer: .* no tokenizer.json"):
        tokens.folder(str(tmp_path))


# ---------- the export of a published snapshot ----------

OLD, NEW, NO_SNAPSHOT = "2026-03-01", "2026-03-02", "2026-03-05"


def file_row(repo, path, text, lang="Python", score=6.0):
    return {"repo": repo, "path": path, "lang": lang, "sha256": sha(text), "size": len(text.encode()),
            "content": text, "quality_score": score}


OLD_FILES = [file_row("o/a", "a.py", "import os\n\nprint(os.sep)\n"), file_row("o/a", "b.py", "B = 'gone'\n")]
NEW_FILES = [file_row("o/a", "c.py", "from a import *\n\ndef c():\n    return 'ç'\n"),
             file_row("o/b", "d.js", "export const d = () => 42;\n", lang="JavaScript"),
             file_row("o/b", "empty.py", "")]
COMMITS = [{"repo": "o/a", "sha": "1" * 40, "message": "add c", "changed_paths": ["c.py"], "context_paths": ["a.py"],
            "text": "<commit>add c\n+def c(): ...\n"},
           {"repo": "o/b", "sha": "2" * 40, "message": "answer", "changed_paths": ["d.js"], "context_paths": [],
            "text": "<commit>answer\n+42\n"}]
SEQUENCES = [{"repo": "o/a", "part": 0, "paths": ["a.py", "c.py"], "text": "# a.py\nimport os\n# c.py\ndef c(): ...\n"}]
WEB = [{"url": "https://docs.example/py", "category": "docs", "text": "Use <code>print()</code> to print.",
        "has_code_tags": True, "recall_score": 1.0, "quality_score": 7.0, "warc": "w.warc.gz", "record_id": "r1"}]


def publish_fixture(storage, date, parts: dict[str, list[dict]], publications="snapshots"):
    """A publication made the way publish does: parts under a run, then the manifest, through seedlib.manifest."""
    base = snapshot_prefix(date, publications)
    out = {}
    for name, rows in parts.items():
        key = f"{base}/runs/fixture/stages/s/{name}/part-00000-0000.parquet"
        table = datasets.table(name, rows) if name in datasets.SCHEMAS else pa.Table.from_pylist(rows)
        storage.write_parquet(key, table)
        out[name] = {"format": "parquet", "rows": table.num_rows,
                     "paths": [manifest.relative_to_manifest(date, key, publications)]}
    m = manifest.build(date, "test", {}, out, [], created_at=f"{date}T03:00:00+00:00")
    manifest.publish(storage, m, storage.version(manifest_key(date, publications)), publications)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """Snapshot OLD (files only), snapshot NEW (new files, its corpus_index naming a file of OLD, commit samples,
    repository sequences) and the web pipeline's NEW."""
    root = tmp_path_factory.mktemp("export") / "data"
    storage = open_storage(root.as_uri())
    publish_all(storage)
    return SimpleNamespace(root=root, uri=root.as_uri(), storage=storage, params={})


def publish_all(storage):
    publish_fixture(storage, OLD, {"files": OLD_FILES})
    index = [{k: f[k] for k in ("repo", "path", "sha256", "lang", "size", "quality_score")} | {"snapshot": s}
             for f, s in [(OLD_FILES[0], OLD), *((f, NEW) for f in NEW_FILES)]]  # b.py is no longer current
    publish_fixture(storage, NEW, {"files": NEW_FILES, "corpus_index": index, "commit_samples": COMMITS,
                                   "repo_sequences": SEQUENCES})
    publish_fixture(storage, NEW, {"web": WEB}, publications="web")


SETTINGS = {"export_shard_rows": 3, "fim_rate": 0.5}


def run_export(published, date, run_id, stages=EXPORTS.names, **params):
    params = {"storage": published.uri, **published.params, "snapshot_date": date, **SETTINGS, **params}
    spec = prepare_run(params, None, run_id, {"SEED_HOME": os.environ["SEED_HOME"]}, pipeline=EXPORTS.name)
    reports = {name: launch(EXPORTS.name, name, spec.ref()) for name in stages}
    return spec, reports


def shard_rows(storage, m, spec, name="mixture"):
    base = snapshot_prefix(spec.snapshot, spec.publications)
    keys = [f"{base}/{p}" for p in m["datasets"][name]["paths"]]
    if name == "mixture":
        return [storage.read_parquet([k]).to_pylist() for k in keys]
    return [shards.read_jsonl_gz(storage.read_bytes(k)) for k in keys]


def test_export_of_a_published_snapshot(published, tokenizer):
    storage = published.storage
    spec, _ = run_export(published, NEW, "manual__one", export_phase="continued",
                         export_weights="file=1,commit=1,repo=2,web=1")
    assert spec.publications == "exports/continued"
    m = publish_run(spec)
    key = "snapshots/dt=2026-03-02/export/continued/_MANIFEST.json"
    assert storage.read_json(key) == m and manifest.read(storage, NEW, "exports/continued") == m
    assert m["datasets"]["mixture"]["format"] == "parquet" and m["datasets"]["mixture_jsonl"]["format"] == "jsonl.gz"
    assert all(p.startswith("runs/manual__one/stages/shards/") for ds in m["datasets"].values() for p in ds["paths"])

    parquet, jsonl = shard_rows(storage, m, spec), shard_rows(storage, m, spec, "mixture_jsonl")
    assert [len(s) for s in parquet] == [3, 3, 2] == [len(s) for s in jsonl]  # shard_rows 3, 8 rows
    assert parquet == jsonl
    rows = [r for s in parquet for r in s]
    assert [(r["source"], r["id"], r["repeat"]) for r in rows] == [
        ("file", "o/a:a.py", 0),             # the corpus as of NEW: a.py from OLD's files, not b.py
        ("file", "o/a:c.py", 0), ("file", "o/b:d.js", 0),  # empty.py has no text: counted, not exported
        ("commit", "o/a@" + "1" * 40, 0), ("commit", "o/b@" + "2" * 40, 0),
        ("repo", "o/a#0", 0), ("repo", "o/a#0", 1),       # weight 2: written twice
        ("web", "https://docs.example/py", 0)]
    contents = {f"{f['repo']}:{f['path']}": f for f in OLD_FILES + NEW_FILES}
    for r in rows[:3]:
        original = contents[r["id"]]
        assert r["fim"] == fim.chosen(original["sha256"], 0.5)
        assert (fim.restore(r["text"]) if r["fim"] else r["text"]) == original["content"]
        assert (r["repo"], r["path"], r["lang"]) == (original["repo"], original["path"], original["lang"])
    assert not any(r["fim"] for r in rows[3:]) and rows[3]["text"] == COMMITS[0]["text"]
    for r in rows:
        assert r["tokens"] == len(tokenizer.backend(r["text"], add_special_tokens=False,
                                                    split_special_tokens=True)["input_ids"])

    e = m["export"]
    assert (e["phase"], e["snapshot"], e["fim_rate"], e["shard_rows"], e["shards"], e["rows"]) == \
        ("continued", NEW, 0.5, 3, 3, 8)
    assert e["weights"] == {"file": 1.0, "commit": 1.0, "repo": 2.0, "web": 1.0}
    assert e["tokenizer"] == tokenizer.info() and e["formats"] == ["parquet", "jsonl"]
    for source in ("file", "commit", "repo", "web"):
        mine = [r for r in rows if r["source"] == source]
        got = e["sources"][source]
        assert (got["rows"], got["characters"], got["tokens"], got["fim"]) == (
            len(mine), sum(len(r["text"]) for r in mine), sum(r["tokens"] for r in mine), sum(r["fim"] for r in mine))
        assert got["published"] is True
    assert (e["sources"]["file"]["input_rows"], e["sources"]["file"]["empty"]) == (4, 1)
    assert (e["sources"]["repo"]["input_rows"], e["sources"]["repo"]["repeats"]) == (1, 1)
    assert e["tokens"] == sum(r["tokens"] for r in rows)

    # The snapshots pipeline still sees two snapshots; the export folder is no date of its own.
    assert manifest.list_snapshots(storage) == [OLD, NEW]
    assert manifest.list_snapshots(storage, "exports/continued") == [NEW]

    # A rerun that has not finished publishes nothing; finished, it writes the same bytes.
    rerun, _ = run_export(published, NEW, "manual__two", stages=["mixture"], export_phase="continued",
                          export_weights="file=1,commit=1,repo=2,web=1", fresh=True)
    assert storage.read_json(key) == m
    launch(EXPORTS.name, "shards", rerun.ref())
    again = publish_run(rerun)
    assert again["datasets"]["mixture"]["paths"] == [p.replace("manual__one", "manual__two")
                                                     for p in m["datasets"]["mixture"]["paths"]]
    base = snapshot_prefix(NEW, "exports/continued")
    for name in ("mixture", "mixture_jsonl"):
        for p1, p2 in zip(m["datasets"][name]["paths"], again["datasets"][name]["paths"]):
            assert storage.read_bytes(f"{base}/{p1}") == storage.read_bytes(f"{base}/{p2}")
    assert again["export"] == m["export"]

    # seed gc: the superseded export run is garbage; the snapshots' fixture runs are published, so kept.
    garbage = cleanup.find_garbage(storage, older_than_hours=0)
    assert [(g.snapshot, g.prefix) for g in garbage] == [(NEW, f"{base}/runs/manual__one")]


def test_export_on_s3(s3_root):
    uri, settings = s3_root
    storage = open_storage(uri, settings)
    publish_all(storage)
    on_s3 = SimpleNamespace(uri=uri, storage=storage, params={"s3_endpoint_url": settings.endpoint_url})
    spec, _ = run_export(on_s3, NEW, "manual__s3", export_phase="continued")
    m = publish_run(spec)
    assert storage.exists("snapshots/dt=2026-03-02/export/continued/_MANIFEST.json")
    assert manifest.list_snapshots(storage) == [OLD, NEW]
    assert manifest.list_snapshots(storage, "exports/continued") == [NEW]
    rows = [r for s in shard_rows(storage, m, spec, "mixture_jsonl") for r in s]
    assert [r["id"] for r in rows] == ["o/a:a.py", "o/a:c.py", "o/b:d.js", "o/a@" + "1" * 40, "o/b@" + "2" * 40,
                                       "o/a#0", "https://docs.example/py"]
    assert m["export"]["rows"] == 7 and m["datasets"]["mixture"]["rows"] == 7


def test_shards_resume_per_shard_and_rewrite_nothing_finished(published):
    spec, reports = run_export(published, NEW, "manual__resume", export_phase="continued", fresh=True)
    storage, prefix = published.storage, spec.stage_prefix("shards")
    first = {k: storage.read_bytes(k) for k in storage.list(prefix) if "/mixture" in k}
    assert len(first) == 6  # 3 shards x 2 formats (7 rows, shard_rows 3)
    # as if the task died after shards 0 and 2: shard 1's files and marker and the report are gone
    lost = [k for k in first if "shard-00001-" in k]
    for key in [*lost, f"{prefix}/_parts/part-00001.json", f"{prefix}/_STAGE.json"]:
        os.remove(published.storage.local_path(key))
    before = {k: os.stat(published.storage.local_path(k)).st_mtime_ns for k in first if k not in lost}
    report = launch(EXPORTS.name, "shards", spec.ref())
    assert report.resumed_parts == 2 and report.rows_out == reports["shards"].rows_out == 7
    assert {k: storage.read_bytes(k) for k in first} == first
    assert {k: os.stat(published.storage.local_path(k)).st_mtime_ns for k in before} == before


def test_regular_phase_beside_and_a_snapshot_without_corpus_or_web(published):
    storage = published.storage
    spec, _ = run_export(published, OLD, "manual__old", export_weights="file=0.5")
    m = publish_run(spec)
    assert manifest_key(OLD, spec.publications) == "snapshots/dt=2026-03-01/export/regular/_MANIFEST.json"
    e = m["export"]
    assert list(e["sources"]) == ["file", "web"]  # regular: file-level code and web pages
    assert e["sources"]["web"] == {"published": False, "weight": 1.0, "input_rows": 0, "rows": 0, "fim": 0,
                                   "repeats": 0, "empty": 0, "characters": 0, "tokens": 0}
    kept = [f for f in OLD_FILES if doc_unit("weight:file", f"{f['repo']}\0{f['path']}") < 0.5]
    rows = [r for s in shard_rows(storage, m, spec) for r in s]
    assert [r["id"] for r in rows] == [f"{f['repo']}:{f['path']}" for f in kept]  # no corpus_index: its files
    assert (e["sources"]["file"]["input_rows"], e["rows"]) == (2, len(kept))


def test_a_corpus_index_that_does_not_match_its_files_stops_the_export(tmp_path):
    storage = open_storage((tmp_path / "data").as_uri())
    publish_fixture(storage, OLD, {"files": OLD_FILES})
    stale = {k: OLD_FILES[0][k] for k in ("repo", "path", "lang", "size", "quality_score")}
    publish_fixture(storage, NEW, {"files": NEW_FILES[:1], "corpus_index": [
        {**stale, "sha256": sha("another version"), "snapshot": OLD},  # OLD holds a.py, but not this content
        {k: NEW_FILES[0][k] for k in ("repo", "path", "sha256", "lang", "size", "quality_score")} | {"snapshot": NEW}]})
    bad = SimpleNamespace(uri=storage.root, storage=storage, params={})
    with pytest.raises(StageFailed, match="corpus_index lists 2 files but the snapshots it names .* hold 1 of them"):
        run_export(bad, NEW, "manual__bad")


def test_an_export_that_would_be_empty_is_refused(published):
    with pytest.raises(StageFailed, match="has no rows .* allow_empty"):
        run_export(published, OLD, "manual__empty", export_weights="file=0")


def test_a_date_without_a_published_snapshot_is_refused(published, tmp_path):
    config = load_config({"storage": published.root.as_uri()}, {})
    with pytest.raises(ConfigError, match=f"no snapshot is published for {NO_SNAPSHOT} .*published: {OLD}, {NEW}"):
        prepare_export(published.storage, config, NO_SNAPSHOT, ())
    out = seed("export", "--date", NO_SNAPSHOT, "--storage", published.root.as_uri(), cwd=tmp_path, env=user_env())
    assert out.returncode == 2, out.stderr
    assert f"--date {NO_SNAPSHOT}: no snapshot is published for that date" in out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / ".seed" / "airflow").exists()


def test_the_dag_is_triggered_by_published_snapshots():
    asset = "seed_snapshots"  # the accessor is keyed by the Asset; any key stands for it here
    events = {asset: [SimpleNamespace(extra={"snapshot": "2026-03-01", "manifest": "file:///m"}),
                      SimpleNamespace(extra={"snapshot": "2026-03-02"}), SimpleNamespace(extra={})]}
    assert triggered_date(events, asset) == "2026-03-02"
    assert triggered_date({}, asset) is None and triggered_date(None, asset) is None
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(Path(__file__).parents[1] / "dags" / "seed_export.py"))
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags["seed_export"]
    assert [t.task_id for t in dag.topological_sort()] == ["prepare", "mixture", "shards", "publish"]
    assert [(a.name, a.uri) for a in dag.timetable.asset_condition.objects] == [
        ("seed_snapshots", "x-seed://snapshots")]
    assert [(a.name, a.uri) for a in dag.get_task("publish").outlets] == [("seed_exports", "x-seed://exports")]


def test_seed_export_runs_the_dag_and_prints_what_it_published(published, tokenizer, tmp_path):
    """The one Airflow run: `seed export` as a user types it (the latest snapshot, the regular phase), with
    a local tokenizer folder (the session's converted SmolLM2 one)."""
    out = seed("export", "--storage", published.root.as_uri(), "--tokenizer", str(tokenizer.path),
               "--weights", "web=2", cwd=tmp_path, env=user_env(), timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    m = manifest.read(published.storage, NEW, "exports/regular")
    e = m["export"]
    assert (e["tokenizer"]["name"], e["tokenizer"]["sha256"]) == (str(tokenizer.path), tokenizer.info()["sha256"])
    assert (e["sources"]["file"]["rows"], e["sources"]["web"]["rows"], e["sources"]["web"]["repeats"]) == (3, 2, 1)
    lines = out.stdout.splitlines()
    assert any(line.split()[:5] == ["file", "yes", "1", "4", "3"] for line in lines), out.stdout
    assert any(line.split()[:5] == ["web", "yes", "2", "1", "2"] for line in lines), out.stdout
    assert f"export: {published.storage.uri(manifest_key(NEW, 'exports/regular'))}" in out.stdout
