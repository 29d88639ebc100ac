"""The snapshot report (report.html) and the dataset card (README.md), on snapshots published the way a
run publishes them (stage reports -> seedlib.publish.publish_run), without Spark."""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
from html.parser import HTMLParser

import pyarrow as pa
import pytest
import yaml

from seedlib import datasets, ledger, manifest, report
from seedlib.config import load_config
from seedlib.publish import publish_run
from seedlib.run import RunSpec, manifest_key, snapshot_prefix
from seedlib.stage import PartWriter, StageRecorder
from seedlib.storage import open_storage
from tests.stages import pipeline_of, run_stage, write_crawl

D1, D2 = "2026-03-01", "2026-03-02"
CHAIN = ("crawl", "exact_dedup", "syntax", "decontam", "score", "quality")
STAGES = (*CHAIN, "corpus", "repo_sequences", "commit_samples")
EVIL = 'evil/<script>alert("x")</script>.js'   # a crawled path is data: it must come out escaped
ODD = 'odd/a&b "q" <i>.py'
ODD_TEXT = "y = 2  # a line that is a little longer than the others are\n"
SCORER = {"version": D1, "base_model": "minilm-l6", "oracle": "rubric-v1", "labels": 12, "mae": 1.25,
          "class_balanced_mae": 1.5, "baseline_mae": 2.0, "baseline_class_balanced_mae": 2.25}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def f(repo, path, text, lang="Python"):
    return {"repo": repo, "path": path, "lang": lang, "sha256": sha(text), "size": len(text.encode()), "content": text}


B = "def b():\n    return 'b'\n"
C = "class C:\n    x = [1, 2, 3]\n" * 3
DAY1 = [f("o/a", "a.py", "import os\n\n\ndef a():\n    return os.sep\n"),
        f("o/a", "b.py", B), f("o/b", "b.py", B),                                   # a cluster of 2
        f("o/a", "c.py", C), f("o/b", "c2.py", C), f("o/b", "c3.py", C),           # a cluster of 3
        f("o/a", "README.md", "# A\n\nSome words, ü.\n", "Markdown"),
        f("o/b", "bad.py", "def (:\n"),
        f("o/a", "low.py", "x=1\n"),
        f("o/b", ODD, ODD_TEXT), f("o/b", "zz.py", ODD_TEXT)]                   # ODD is the kept copy
DAY2 = [f("o/a", "a.py", "import os\n\n\ndef a():\n    return os.getcwd()\n"),  # changed
        f("o/a", "c.py", C), f("o/a", "new.py", "def new():\n    pass\n"),       # new.py added
        f("o/b", ODD, ODD_TEXT)]                                       # README, b.py ... removed
REPOS = [{"repo": "o/a", "url": "file:///a", "head_sha": "1" * 40, "stars": 5, "forks": 1, "license": "MIT",
          "status": "ok", "error": None},
         {"repo": "o/b", "url": "file:///b", "head_sha": "2" * 40, "stars": 3, "forks": 0, "license": "Apache-2.0",
          "status": "ok", "error": None},
         {"repo": "o/c", "url": "file:///c", "head_sha": None, "stars": None, "forks": None, "license": None,
          "status": "failed", "error": "unreachable: git clone failed"}]


def _stage(spec, name, files=None, dropped=(), rows_in=None, details=None, output="files", ledger_name="dropped",
           rows=None):
    storage = spec.storage()
    rec = StageRecorder(storage, spec.stage_prefix(name), name, output=output, ledger=ledger_name)
    w = PartWriter(storage, spec.stage_prefix(name), 0)
    w.add(output, files if files is not None else rows)
    w.add(ledger_name, list(dropped))
    return rec.finish(w.close().to_pylist(), rows_in=rows_in, details=details)


def _with(rows, **columns):
    t = datasets.table("files", [{k: r[k] for k in datasets.FILES.names} for r in rows])
    for name, fn in columns.items():
        t = t.append_column(name, pa.array([fn(r) for r in t.to_pylist()], pa.float64()))
    return t


def publish_day(uri: str, date: str, files: list[dict]) -> dict:
    """crawl (two binary drops) -> exact_dedup -> syntax -> decontam -> score -> quality -> corpus ->
    repo_sequences -> commit_samples, each recorded like the real stage, then publish_run."""
    spec = RunSpec(snapshot=date, run_id="run_1", config=load_config({"storage": uri}, {}).public_dict())
    crawl_drops = [ledger.drop("o/a", "img.png", sha("png" + date), "crawl", "binary"),
                   ledger.drop("o/b", EVIL, sha("evil"), "crawl", "binary")]
    write_crawl(spec, files, REPOS, dropped=crawl_drops)
    keep = {}
    for r in files:  # the first copy by (repo, path) of each content is kept
        keep.setdefault(r["sha256"], r)
    by_order = sorted(files, key=lambda r: (r["repo"], r["path"]))
    dups = [r for r in by_order if keep[r["sha256"]] is not r]
    kept = [r for r in by_order if keep[r["sha256"]] is r]
    _stage(spec, "exact_dedup", _with(kept), [ledger.drop(r["repo"], r["path"], r["sha256"], "exact_dedup",
                                                          "exact_duplicate", duplicate_of=r["sha256"]) for r in dups],
           rows_in=len(files))
    bad = [r for r in kept if r["path"] == "bad.py"]
    kept = [r for r in kept if r["path"] != "bad.py"]
    ratio = {"README.md": None, "a.py": 0.0, ODD: 0.0005}
    with_ratio = _with(kept, syntax_error_ratio=lambda r: ratio.get(r["path"], 0.0))
    _stage(spec, "syntax", with_ratio, [ledger.drop(r["repo"], r["path"], r["sha256"], "syntax", "syntax_error")
                                        for r in bad],
           rows_in=len(kept) + len(bad), details={"unparsed": {"Markdown": 1}})
    _stage(spec, "decontam", with_ratio, [], rows_in=len(kept))
    score_of = {"low.py": 1.0, "README.md": 6.5, "a.py": 7.25, "c.py": 8.0, ODD: 9.75}
    scores = [{"repo": r["repo"], "path": r["path"], "lang": r["lang"], "quality_score": score_of.get(r["path"], 5.0)}
              for r in kept]
    _stage(spec, "score", output="scores", rows=scores, rows_in=len(kept), details={"scorer": SCORER})
    low = [r for r in kept if r["path"] == "low.py"]
    final = [r for r in kept if r["path"] != "low.py"]
    _stage(spec, "quality", _with(final, syntax_error_ratio=lambda r: ratio.get(r["path"], 0.0),
                                  quality_score=lambda r: score_of.get(r["path"], 5.0)),
           [ledger.drop(r["repo"], r["path"], r["sha256"], "quality", "low_quality") for r in low],
           rows_in=len(kept), details={"quality_cut": {"Python": 1.0} if low else {}, "quality_cut_from": None})
    run_stage(None, spec, "corpus", after=CHAIN)
    _stage(spec, "repo_sequences", output="repo_sequences", rows_in=2,
           rows=[{"repo": "o/a", "part": 0, "paths": ["a.py"], "text": "a"},
                 {"repo": "o/a", "part": 1, "paths": ["c.py"], "text": "c"}])
    _stage(spec, "commit_samples", output="commit_samples", ledger_name="commit_dropped",
           rows=[{"repo": "o/a", "sha": "3" * 40, "message": "fix", "changed_paths": ["a.py"],
                  "context_paths": [], "text": "<commit>"}],
           dropped=[ledger.drop_commit("o/a", "4" * 40, "commit_samples", "merge_commit")])
    return publish_run(spec, pipeline_of(spec, STAGES))


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    root = tmp_path_factory.mktemp("report") / "data"
    uri = root.as_uri()
    m1 = publish_day(uri, D1, DAY1)
    m2 = publish_day(uri, D2, DAY2)
    storage = open_storage(uri)
    return {"root": root, "storage": storage, "m1": m1, "m2": m2,
            "html1": report.build_report(storage, D1), "html2": report.build_report(storage, D2)}


def report_data(text: str) -> dict:
    block = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text, re.S)
    return json.loads(block.group(1))


def plot_specs(text: str) -> dict[str, dict]:
    return {m.group(1): json.loads(m.group(2)) for m in re.finditer(
        r'<script type="application/json" class="plot-spec" data-target="([^"]+)">(.*?)</script>', text, re.S)}


def files_of(storage, date, columns=("repo", "path", "lang", "size", "content")):
    return manifest.read_dataset(storage, date, "files", list(columns)).to_pylist()


def test_every_section_is_there_and_drawn_from_the_manifest(published):
    text, m = published["html1"], published["m1"]
    for sid, title in report.SECTIONS:
        assert f'<section id="{sid}"><h2>{html.escape(title)}</h2>' in text
    d = report_data(text)
    assert d["snapshot"] == D1 and d["created_at"] == m["created_at"]
    assert d["datasets"] == {n: ds["rows"] for n, ds in m["datasets"].items()}
    # the funnel: files from the manifest's chain stages; bytes from the files and the crawl's sizes
    chain = {s["name"]: s for s in m["stages"]
             if s["name"] in ("crawl", "exact_dedup", "syntax", "decontam", "quality")}
    assert [(s["name"], s["rows_in"], s["rows_out"]) for s in d["funnel"]["stages"]] == [
        (n, s["rows_in"], s["rows_out"]) for n, s in chain.items()]
    assert [s["rows_out"] for s in d["funnel"]["stages"]] == [11, 7, 6, 6, 5]
    size = {(r["repo"], r["path"]): r["size"] for r in DAY1}
    final = sum(r["size"] for r in files_of(published["storage"], D1))
    funnel = {s["name"]: s for s in d["funnel"]["stages"]}
    assert funnel["quality"]["bytes_out"] == final
    assert funnel["quality"]["bytes_in"] == final + size[("o/a", "low.py")]
    assert funnel["crawl"]["bytes_out"] == sum(size.values())
    assert funnel["crawl"]["bytes_in"] is None and funnel["crawl"]["dropped_without_size"] == 2
    assert any("crawl: bytes in are not derivable: 2 of the 2 files" in n for n in d["funnel"]["notes"])
    spec = plot_specs(text)["fig-funnel-files"]
    assert spec["data"][0]["x"] == [13, 11, 7, 6, 6, 5]
    # drops by stage and reason: exactly the manifest's
    assert {(r["stage"], r["reason"]): r["count"] for r in d["drops"]["rows"]} == {
        (s["name"], k): v for s in m["stages"] for k, v in s["dropped"].items()}
    assert {(r["stage"], r["reason"]) for r in d["drops"]["rows"]} >= {("commit_samples", "merge_commit"),
                                                                       ("exact_dedup", "exact_duplicate")}
    drops_plot = plot_specs(text)["fig-drops"]
    binary = next(t for t in drops_plot["data"] if t["name"] == "binary")
    assert dict(zip(binary["x"], binary["y"]))["crawl"] == 2
    # run time per stage and the scorer: the manifest's
    assert [(t["name"], t["seconds"]) for t in d["timing"]] == [(s["name"], s["seconds"]) for s in m["stages"]]
    assert d["scorer"] == m["scorer"] == SCORER


def test_languages_tokens_and_distributions(published):
    d = report_data(published["html1"])
    rows = {r["lang"]: r for r in d["languages"]["rows"]}
    kept = files_of(published["storage"], D1)
    assert rows["Python"]["after_files"] == sum(r["lang"] == "Python" for r in kept) == 4
    assert rows["Markdown"]["after_files"] == 1
    assert rows["Python"]["before_files"] == 10  # every .py the crawl saw, kept or dropped later
    assert rows["JavaScript"] == {**rows["JavaScript"], "before_files": 1, "after_files": 0, "before_bytes": None,
                                  "before_without_size": 1}  # the binary .js: no size anywhere
    assert rows["(none)"]["before_files"] == 1  # img.png
    # tokens: the export's tokenizer, exactly (the sample holds every file of so small a snapshot)
    from seedlib.export import tokens

    tok = tokens.load("smollm2-135m")
    assert d["languages"]["tokens"]["method"] == "exact"
    py = [r["content"] for r in kept if r["lang"] == "Python"]
    assert rows["Python"]["after_tokens"] == sum(tok.count(py))
    assert rows["Python"]["after_lines"] == sum(t.count("\n") for t in py)
    # sizes: every kept file in one bin; line lengths of the sample
    sizes = d["distributions"]["size"]
    assert sum(sum(c) for c in sizes["by_lang"].values()) == len(kept)
    ll = d["distributions"]["line_length"]
    assert ll["sample_files"] == len(kept) and sum(ll["counts"]) == ll["sample_lines"] == sum(
        t.count("\n") for t in (r["content"] for r in kept))
    spec = plot_specs(published["html1"])["fig-sizes"]
    assert {t["name"]: t["y"] for t in spec["data"]} == sizes["by_lang"]


def test_duplicates_syntax_quality_and_samples(published):
    d = report_data(published["html1"])
    dup = d["duplicates"]
    assert dup["cluster_sizes"] == {"2": 2, "3": 1} and dup["dropped_copies"] == 4
    biggest = dup["largest"][0]
    assert (biggest["size"], biggest["kept_repo"], biggest["kept_path"], biggest["kept"]) == (3, "o/a", "c.py", "kept")
    assert plot_specs(published["html1"])["fig-duplicates"]["data"][0]["y"] == [2, 1]
    syn = d["syntax"]
    assert syn["syntax_error_drops"] == {"Python": 1}
    assert syn["by_lang"]["Markdown"][-1] == 1               # not parsed
    assert syn["by_lang"]["Python"][0] == 3 and syn["by_lang"]["Python"][2] == 1  # 0, and (0.0001, 0.001]
    assert syn["thresholds"]["Python"] == 0.001
    q = d["quality"]
    assert q["cut"] == {"Python": 1.0} and q["low_quality_drops"] == {"Python": 1}
    assert q["by_lang"]["Python"][q["labels"].index("9.5-10")] == 1   # 9.75
    qplot = plot_specs(published["html1"])["fig-quality-python"]
    assert qplot["layout"]["shapes"][0]["x0"] == 1.0
    s = d["samples"]
    assert (s["commit_samples"], s["commit_dropped"], s["repo_sequences"], s["repo_sequence_repos"]) == (1, 1, 2, 1)
    assert s["commit_dropped_by_reason"] == {"merge_commit": 1} and s["commit_history"] == 0


def test_the_report_opens_without_network_and_inlines_plotly_once(published):
    from plotly.offline import get_plotlyjs

    text = published["html1"]

    class Refs(HTMLParser):
        def __init__(self):
            super().__init__()
            self.refs, self.scripts = [], 0

        def handle_starttag(self, tag, attrs):
            self.scripts += tag == "script"
            self.refs += [(tag, k, v) for k, v in attrs if k in ("src", "href") and not (v or "").startswith("#")]

    parser = Refs()
    parser.feed(text)
    assert parser.refs == []                                     # no script src, no stylesheet link, no iframe
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)\s*=\s*[\"']?https?://", text, re.I)
    assert text.count(get_plotlyjs()[:500]) == 1                 # one copy of plotly.js for every figure
    specs = plot_specs(text)
    assert len(specs) >= 12 and all(f'id="{fid}"' in text for fid in specs)
    assert parser.scripts == len(specs) + 5                      # data, config, PlotlyConfig, plotly.js, render


def test_ledger_samples_are_escaped(published):
    text = published["html1"]
    assert "<script>alert" not in text and '</script>.js' not in text
    assert html.escape(EVIL) in text                             # shown in the ledger table, escaped
    assert html.escape(ODD) in text and ODD not in text
    d = report_data(text)
    sample = {(r["reason"], r["path"]): r for r in d["ledger_samples"]}
    assert ("binary", EVIL) in sample                            # the JSON block round-trips the raw value
    dup = next(r for r in d["ledger_samples"] if r["reason"] == "exact_duplicate")
    assert (dup["duplicate_of"], dup["kept_copy"]) in ((sha(B), "o/a/b.py"), (sha(C), "o/a/c.py"))
    assert {r["reason"] for r in d["ledger_samples"]} == {"binary", "exact_duplicate", "syntax_error", "low_quality"}


def test_difference_from_the_previous_snapshot(published):
    assert report_data(published["html1"])["previous"] == {"snapshot": None}
    assert "No snapshot was published before this one." in published["html1"]
    p = report_data(published["html2"])["previous"]
    assert p["snapshot"] == D1
    py = next(r for r in p["files"] if r["lang"] == "Python")
    # D1 kept a.py, c.py, b.py (o/a), ODD; D2 keeps a.py (changed), c.py, new.py, ODD
    assert (py["before"], py["now"], py["added"], py["removed"], py["changed"]) == (4, 4, 1, 1, 1)
    md = next(r for r in p["files"] if r["lang"] == "Markdown")
    assert (md["before"], md["now"], md["removed"]) == (1, 0, 1)
    crawl = next(r for r in p["stages"] if r["name"] == "crawl")
    assert (crawl["rows_in_before"], crawl["rows_in"]) == (13, 6)
    assert {r["name"]: (r["before"], r["now"]) for r in p["datasets"]}["files"] == (5, 4)
    assert "corpus" in p                                       # both publish their corpus_index
    fig = plot_specs(published["html2"])["fig-previous-languages"]
    assert dict(zip(fig["data"][0]["x"], fig["data"][0]["y"]))["Python"] == 1


def test_the_report_is_deterministic_and_published_beside_the_manifest(published):
    storage = published["storage"]
    assert report.build_report(storage, D1) == published["html1"]
    before = storage.read_bytes(manifest_key(D1))
    uri = report.write_report(storage, D1)
    assert uri == storage.uri(f"{snapshot_prefix(D1)}/report.html")
    assert storage.read_bytes(f"{snapshot_prefix(D1)}/report.html").decode() == published["html1"]
    assert storage.read_bytes(manifest_key(D1)) == before      # the manifest is not touched


def test_a_report_of_an_earlier_publication_of_the_date_is_not_current(published, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(published["root"], root)
    storage = open_storage(root.as_uri())
    assert report.current_report(storage, D2) is None            # never written
    uri = report.write_report(storage, D2, tokenizer=None)
    assert report.current_report(storage, D2) == uri
    data = report.report_data(storage.read_bytes(f"{snapshot_prefix(D2)}/report.html").decode())
    assert report.summary(storage, D2) == {
        "report": uri, "tokens": data["languages"]["tokens"]["total"], "tokens_method": "estimate",
        "tokens_how": "rough estimate: UTF-8 bytes / 4 (no tokenizer was asked for)",
        "tokens_by_language": {"Python": round(sum(r["size"] for r in DAY2) / 4)}}
    m = storage.read_json(manifest_key(D2))                      # a rerun of the date publishes again
    manifest.publish(storage, dict(m, created_at=f"{D2}T23:59:59+00:00"), storage.version(manifest_key(D2)))
    assert report.current_report(storage, D2) is None and report.summary(storage, D2) is None


def test_byte_counts_without_the_crawl_output_are_said_to_be_unknown(published, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(published["root"], root)
    storage = open_storage(root.as_uri())
    crawl = f"{snapshot_prefix(D1)}/runs/run_1/stages/crawl"  # its files parts and report; the ledger stays
    storage.delete_prefix(f"{crawl}/files")
    os.remove(root / crawl / "_STAGE.json")
    d = report.collect(storage, D1, tokenizer=None)
    funnel = {s["name"]: s for s in d["funnel"]["stages"]}
    # low.py (dropped by quality) has no copy anywhere published: its size is unknown, so are the bytes
    # into quality and every stage before it; never a made-up number
    assert funnel["quality"]["bytes_out"] == sum(r["size"] for r in files_of(published["storage"], D1))
    assert funnel["quality"]["bytes_in"] is None and funnel["quality"]["dropped_without_size"] == 1
    assert funnel["syntax"]["dropped_without_size"] == 1 and funnel["syntax"]["bytes_in"] is None
    # exact duplicates have the same raw bytes as their kept copy, so their sizes are still known
    assert funnel["exact_dedup"]["dropped_without_size"] == 0 and funnel["exact_dedup"]["bytes_dropped_known"] == (
        len(B) + 2 * len(C) + len(ODD_TEXT))
    assert d["languages"]["tokens"]["how"].startswith("rough estimate: UTF-8 bytes / 4")


def test_a_bounded_sample_gives_labelled_estimates(published):
    d = report.collect(published["storage"], D1, sample_bytes=1)
    ll, tokens = d["distributions"]["line_length"], d["languages"]["tokens"]
    assert ll["sample_files"] == tokens["sample_files"] == 1
    assert tokens["method"] == "estimate" and "sample of 1 files" in tokens["how"]
    assert all(r["after_tokens"] > 0 for r in d["languages"]["rows"] if r["after_files"])
    # a tokenizer that cannot be loaded: the labelled bytes/4 fallback, saying why
    d = report.collect(published["storage"], D1, tokenizer=str(published["root"] / "no-such-tokenizer"))
    assert d["languages"]["tokens"]["how"].startswith("rough estimate: UTF-8 bytes / 4 (tokenizer ")
    assert "could not be loaded: ConfigError" in d["languages"]["tokens"]["how"]
    python = next(r for r in d["languages"]["rows"] if r["lang"] == "Python")
    assert python["after_tokens"] == round(python["after_bytes"] / 4)


def test_an_unpublished_snapshot_is_refused(published):
    with pytest.raises(report.ReportError, match="snapshot 2026-01-01: not published"):
        report.build_report(published["storage"], "2026-01-01")


def _offline(monkeypatch, tmp_path):
    for k in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.setenv(k, "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import datasets as hf

    monkeypatch.setattr(hf.config, "HF_HUB_OFFLINE", True, raising=False)
    monkeypatch.setattr(hf.config, "HF_DATASETS_OFFLINE", True, raising=False)
    return hf


def front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


def test_the_dataset_card_loads_every_dataset_with_the_manifests_row_counts(published, tmp_path, monkeypatch):
    storage, m = published["storage"], published["m2"]
    uri = report.write_card(storage, D2)
    assert uri == storage.uri(f"{snapshot_prefix(D2)}/README.md")
    text = storage.read_bytes(f"{snapshot_prefix(D2)}/README.md").decode()
    meta = front_matter(text)
    names = [c["config_name"] for c in meta["configs"]]
    assert names[0] == "files" and meta["configs"][0]["default"] is True
    assert set(names) == {n for n, ds in m["datasets"].items() if ds["rows"]}   # empty ones have no parts
    assert "commit_history: empty (0 rows)" in text
    assert meta["license"] == ["apache-2.0", "mit"]
    for heading in ("## Sources", "## Stages", "## Counts", "## Tokens"):
        assert heading in text
    assert "| MIT | 1 |" in text and "| Apache-2.0 | 1 |" in text
    hf = _offline(monkeypatch, tmp_path)
    folder = str(published["root"] / snapshot_prefix(D2))
    for name in names:
        ds = hf.load_dataset(folder, name, split="train", cache_dir=str(tmp_path / "cache"))
        assert ds.num_rows == m["datasets"][name]["rows"], name
    files = hf.load_dataset(folder, "files", split="train", cache_dir=str(tmp_path / "cache"))
    assert sorted(files["path"]) == sorted(r["path"] for r in DAY2)


def test_card_leaves_out_parts_without_rows(tmp_path, monkeypatch):
    storage = open_storage((tmp_path / "data").as_uri())
    base = snapshot_prefix(D1)
    rows = [f("o/a", "x.py", "x = 1\n"), f("o/a", "y.py", "y = 2\n")]
    parts = {"runs/r/stages/s/files/part-00000-0000.parquet": datasets.table("files", rows),
             "runs/r/stages/s/files/part-00001-0000.parquet": datasets.table("files", []),
             "runs/r/stages/s/dropped/part-00000-0000.parquet": datasets.table("dropped", [])}
    for path, t in parts.items():
        storage.write_parquet(f"{base}/{path}", t)
    out = {"files": {"format": "parquet", "rows": 2, "paths": sorted(p for p in parts if "/files/" in p)},
           "dropped": {"format": "parquet", "rows": 0, "paths": [p for p in parts if "/dropped/" in p]}}
    stages = [{"name": "crawl", "rows_in": 2, "rows_out": 2, "dropped": {}, "seconds": 0.5, "resumed_parts": 0,
               "skipped": False}]
    manifest.publish(storage, manifest.build(D1, "test", {}, out, stages, created_at=f"{D1}T03:00:00+00:00"), None)
    report.write_all(storage, D1, tokenizer=None)
    text = storage.read_bytes(f"{base}/README.md").decode()
    meta = front_matter(text)
    assert meta["configs"] == [{"config_name": "files", "default": True, "data_files": [
        {"split": "train", "path": ["runs/r/stages/s/files/part-00000-0000.parquet"]}]}]
    assert meta["license"] == "other" and "dropped: empty (0 rows)" in text
    hf = _offline(monkeypatch, tmp_path)
    ds = hf.load_dataset(str(tmp_path / "data" / base), "files", split="train", cache_dir=str(tmp_path / "cache"))
    assert ds.num_rows == 2
    # a snapshot without quality or syntax columns still gets every section, saying what is missing
    page = storage.read_bytes(f"{base}/report.html").decode()
    assert all(f'<section id="{sid}">' in page for sid, _ in report.SECTIONS)
    assert "files has no quality_score column" in page and "files has no syntax_error_ratio column" in page
