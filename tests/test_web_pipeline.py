"""The web pipeline end to end (seed web -> the real seed_web DAG): WARC files the test writes, with pages of
every category, duplicates, broken records and a cut file, published at <root>/web/dt=D/ with its ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from seedlib import manifest
from seedlib.config import load_config
from seedlib.storage import open_storage
from seedlib.web import stage as web_stage
from tests.test_cli import seed, user_env
from tests.web_pages import PAGES, malformed, truncate, write_warc

DATE = "2026-05-01"
BY_NAME = {p["name"]: p for p in PAGES}


def near_copy(html: str) -> str:
    """The same page with one sentence changed: a near duplicate, not an exact one."""
    marker = "<p>"
    i = html.index(marker, html.index("<body"))
    return html[:i] + "<p>Updated for the new release, with thanks to the readers who wrote in.</p>" + html[i:]


TOPICS = [
    ("Reading CSV files", "import csv\n\nwith open('data.csv', newline='') as f:\n    for row in csv.reader(f):\n        print(row)\n",
     "The csv module reads rows lazily, so a large file never has to fit in memory. Each row is a list of "
     "strings; convert the fields you need yourself, and pass newline='' so quoted line breaks survive."),
    ("Retrying HTTP requests", "for attempt in range(5):\n    try:\n        return fetch(url)\n    except TimeoutError:\n        time.sleep(2 ** attempt)\n",
     "Exponential backoff spaces the attempts out so a struggling server gets time to recover. Cap the number "
     "of attempts, and only retry errors that can succeed later, such as timeouts or a 503 status."),
    ("Sorting with a key", "people.sort(key=lambda p: (p.last_name, p.first_name))\n",
     "A key function turns each element into the value it is compared by. Tuples compare field by field, "
     "which gives a sort by last name and then by first name in one stable pass over the list."),
    ("Joining tables in SQL", "SELECT o.id, c.name\n  FROM orders AS o\n  JOIN customers AS c ON c.id = o.customer_id\n WHERE o.total > 100;\n",
     "An inner join keeps the rows that have a match on both sides. Name the join condition explicitly and "
     "alias the tables, so the query stays readable when more tables join in later."),
]


def distinct_page(url: str, topic: tuple[str, str, str]) -> dict:
    title, code, prose = topic
    return {"url": url, "html": f"<!DOCTYPE html><html><head><title>{title}</title></head><body><main><article>"
                                f"<h1>{title}</h1><p>{prose}</p><pre><code>{code}</code></pre>"
                                f"<p>{prose.split('. ')[0]}.</p></article></main></body></html>"}


def write_inputs(folder: Path) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    first = [{"url": p["url"], "html": p["html"]} for p in PAGES]
    first += [
        # the docs page quoted whole on a forum: an exact duplicate whose docs copy is kept
        {"url": "https://forum.example.net/t/json-module-docs/77", "html": BY_NAME["python_docs"]["html"]},
        # a near duplicate of the blog post (one sentence added)
        {"url": "https://mirror.example.org/generators.html", "html": near_copy(BY_NAME["blog_generators"]["html"])},
        {"url": "https://docs.python.org/3/missing.html", "html": "<html>gone</html>", "status": 404},
        {"url": "https://docs.python.org/3/logo.png", "body": b"\x89PNG\r\n\x1a\n" + bytes(64),
         "content_type": "image/png"},
        {"raw": malformed("https://docs.python.org/3/broken.html", "bad_length")},
    ]
    write_warc(folder / "a.warc.gz", first)
    cut = [distinct_page(f"https://blog.example.com/posts/{i}", TOPICS[i]) for i in range(3)]
    write_warc(folder / "b.warc.gz", cut)
    truncate(folder / "b.warc.gz", -40)  # the last record is cut: truncated_warc, the two before it kept
    write_warc(folder / "c.warc", [distinct_page("https://dev.example.io/notes/plain-warc", TOPICS[3])], gzip=False)
    return {"glob": str(folder / "*.warc*")}


@pytest.mark.slow
def test_seed_web_publishes_pages_with_their_ledger(tmp_path):
    inputs = write_inputs(tmp_path / "warcs")
    work = tmp_path / "work"
    work.mkdir()
    # thresholds per category given by the user (the embedded rubric rates the short docs excerpt 5)
    env = user_env(SEED_SPARK_SUBMIT="false", SEED_HOME=str(tmp_path / "home"),
                   SEED_WEB_THRESHOLDS="blog=4,documentation=5,ecommerce=7,forum=4,other=5")
    out = seed("web", "--date", DATE, "--warc", inputs["glob"], cwd=work, env=env, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert f"pages of {DATE} published" in out.stdout

    storage = open_storage(f"file://{tmp_path}/home/data")  # SEED_HOME's data folder is the default root
    m = manifest.read(storage, DATE, "web")
    assert [s["name"] for s in m["stages"]] == ["ingest", "exact_dedup", "near_dedup", "recall", "quality"]
    pages = manifest.read_dataset(storage, DATE, "web", publications="web").to_pylist()
    ledger = manifest.read_dataset(storage, DATE, "web_dropped", publications="web").to_pylist()
    assert m["datasets"]["web"]["rows"] == len(pages) and m["datasets"]["web_dropped"]["rows"] == len(ledger)
    reasons = {r["reason"] for r in ledger}
    assert {"truncated_warc", "malformed_record", "not_html", "not_response", "too_few_words", "boilerplate",
            "exact_duplicate", "near_duplicate"} <= reasons, reasons
    by_url = {p["url"]: p for p in pages}
    why = {r["url"]: r for r in ledger}

    # code blocks byte for byte, and the categories of the pages that made it
    mirror = "https://mirror.example.org/generators.html"  # the longer of the two near copies is kept
    assert why[BY_NAME["blog_generators"]["url"]]["duplicate_of"] == mirror
    for name, url in (("python_docs", None), ("make_manual", None), ("stackoverflow", None), ("blog_generators", mirror)):
        p = BY_NAME[name]
        kept = by_url[url or p["url"]]
        assert kept["category"] == p["category"] and kept["has_code_tags"] is True
        for block in p["code"]:
            assert block in kept["text"], (name, block)
        assert 0 <= kept["quality_score"] <= 10 and kept["recall_score"] is not None
    assert why["https://forum.example.net/t/json-module-docs/77"]["duplicate_of"] == BY_NAME["python_docs"]["url"]
    assert why["https://docs.python.org/3/missing.html"]["reason"] == "not_response"
    assert why["https://docs.python.org/3/logo.png"]["reason"] == "not_html"
    assert why[BY_NAME["boilerplate"]["url"]]["reason"] == "boilerplate"
    assert why[BY_NAME["short"]["url"]]["reason"] == "too_few_words"
    # the pages before the cut and the plain (not gzip) WARC's page were read whole: they reached the end of
    # the chain or its last stage (the embedded rubric finds these short notes below the blog threshold)
    for url in ["https://blog.example.com/posts/0", "https://blog.example.com/posts/1",
                "https://dev.example.io/notes/plain-warc"]:
        assert url in by_url or why[url]["stage"] == "quality", why.get(url)
    assert why["https://blog.example.com/posts/2"]["reason"] == "truncated_warc"
    # pages about something else never reach the output (recall or quality drops them)
    for name in ("product", "news", "forum_hiking"):
        assert BY_NAME[name]["url"] not in by_url and why[BY_NAME[name]["url"]]["reason"] in (
            "not_code_related", "low_quality")
    # every response record is in exactly one of web / web_dropped (publish checks the invariant)
    keys = [(p["url"], p["record_id"]) for p in pages] + [(r["url"], r["record_id"]) for r in ledger]
    assert len(keys) == len(set(keys))
    recall = next(s for s in m["stages"] if s["name"] == "recall")
    assert recall["details"]["classifier"]["version"].startswith("wc-")

    # the default classifier was trained from the embedded pages and published for later runs
    assert storage.list("web_classifiers/")
    status = json.loads(seed("status", "--json", cwd=work, env=env).stdout)
    assert status["web"][0]["pages"] == len(pages)

    # a rerun of the same date publishes the same pages
    again = seed("web", "--date", DATE, "--warc", inputs["glob"], "--fresh", cwd=work, env=env, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    rerun = manifest.read_dataset(storage, DATE, "web", publications="web").to_pylist()
    assert rerun == pages


def test_a_bad_warc_spec_fails_before_airflow_starts(tmp_path):
    out = seed("web", "--warc", str(tmp_path / "nothing-*.warc.gz"), cwd=tmp_path, timeout=60)
    assert out.returncode == 2 and "web_warcs" in out.stderr and "nothing-" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def _pages(rows):
    base = {"recall_score": 0.9, "quality_score": None, "warc": "w", "sha256": "s", "words": 50, "title": None}
    return pa.Table.from_pylist([{**base, **r} for r in rows])


def test_quality_thresholds_and_sample_rates_are_per_category(tmp_path):
    """One threshold per category: a forum answer of middling quality passes where a documentation page of the
    same score does not; a sample rate of 0 drops a category's passing pages as sampled_out."""
    code = "def parse(text):\n    items = text.split(',')\n    return [int(x) for x in items]\n"
    prose = " ".join(["This explains how the parser handles each item and why it returns a list."] * 8)
    rows = [{"url": f"https://site/{cat}", "category": cat, "text": prose + "\n" + code + "\n" + prose,
             "has_code_tags": True, "record_id": f"r-{cat}"} for cat in ("documentation", "forum", "blog")]
    storage_uri = f"file://{tmp_path}"
    config = load_config({"storage": storage_uri}, {})
    score = {r["category"]: j.score for r, j in zip(rows, web_stage_judgements(config, rows))}
    assert score["documentation"] < 10, score  # so a stricter documentation threshold exists
    strict = (f"blog=0,documentation={score['documentation'] + 0.5},ecommerce=10,forum={score['forum']},"
              "other=10")
    config = load_config({"storage": storage_uri, "web_thresholds": strict,
                          "web_sample_rates": "blog=0,documentation=1,ecommerce=1,forum=1,other=1"}, {})
    kept, dropped, details = web_stage._quality_filter(config)(_pages(rows))
    assert kept.column("url").to_pylist() == ["https://site/forum"]
    assert {r["url"]: r["reason"] for r in dropped} == {"https://site/documentation": "low_quality",
                                                       "https://site/blog": "sampled_out"}
    assert details["categories"] == {"documentation:low_quality": 1, "forum:kept": 1, "blog:sampled_out": 1}
    assert kept.column("quality_score").to_pylist() == [float(score["forum"])]


def web_stage_judgements(config, rows):
    from seedlib.web import oracle

    judge = oracle.make_web_oracle(config, open_storage(config.run.storage))
    return judge.judge_pages([(r["category"], r["url"], r["text"], r["has_code_tags"]) for r in rows])


def test_sampling_is_deterministic_and_close_to_the_rate():
    kept = [web_stage.sampled(f"https://x/{i}", "blog", 0.3) for i in range(4000)]
    assert kept == [web_stage.sampled(f"https://x/{i}", "blog", 0.3) for i in range(4000)]
    assert 0.27 < sum(kept) / len(kept) < 0.33
    assert all(web_stage.sampled(f"https://x/{i}", "blog", 1.0) for i in range(100))
