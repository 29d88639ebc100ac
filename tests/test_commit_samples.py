"""Commit samples: the pre-commit context the crawl extracts (README, tree, BM25 files), the filters and
their ledger reasons, the rendered text, exact dedup and the stage on the shared Spark session."""

from __future__ import annotations

import gzip
import json
import random
import subprocess

import bm25s
import numpy as np
import pytest

from seedlib.config import load_config
from seedlib.crawl import crawl_source
from seedlib.run import RunSpec
from seedlib.samples import commits as cs
from seedlib.samples import context, decontam
from seedlib.sources import GIT, Source
from seedlib.stage import PartWriter, StageRecorder
from tests.repos import GIT_ENV, git, make_repo, write_files
from tests.stages import run_stage

HISTORY = {"commit_min_commits": 1, "commit_min_days": 0}

CALC = {
    "README.md": "# calc\nA small calculator.\n",
    "calc/tokenizer.py": "def tokens(text):\n    \"\"\"Split text into tokens: numbers, operators, identifiers.\"\"\"\n"
                         "    return text.split()\n",
    "calc/parser.py": "from calc.tokenizer import tokens\n\ndef parse(text):\n    return list(tokens(text))\n",
    "calc/render.py": "def html(tree):\n    return '<p>' + str(tree) + '</p>'\n",
    "docs/usage.md": "Run the calculator from the command line.\n",
}
TEST_TOKENIZER = "from calc.tokenizer import tokens\n\ndef test_unicode():\n    assert tokens('x') == ['x']\n"


def commit(repo, message, files=None, author=None, allow_empty=False):
    """One commit of `files` (path -> content; None removes the path) with an optional author."""
    for path, content in (files or {}).items():
        if content is None:
            git(repo, "rm", "-q", path)
        else:
            write_files(repo, {path: content})
            git(repo, "add", path)
    args = ["commit", "-q", "-m", message] + (["--author", author] if author else [])
    git(repo, *args, *(["--allow-empty"] if allow_empty else []))
    return git(repo, "rev-parse", "HEAD").strip()


def crawl(repo, name="local/r", **settings):
    cfg = load_config({**HISTORY, **settings}, {})
    result = crawl_source(Source(name, repo.as_uri(), GIT), cfg)
    assert result.repo["status"] == "ok", result.repo["error"]
    return {c["message"]: c for c in result.commits}, cfg


def calc_repo(path):
    repo = make_repo(path, CALC, message="Add the calculator")
    commit(repo, "Tokenizer: accept unicode identifiers", {"tests/test_tokenizer.py": TEST_TOKENIZER})
    commit(repo, "Describe unicode support in the README",
           {"README.md": "# calc\nA small calculator with unicode support.\n"})
    return repo


# ---------- the pre-commit context (crawl) ----------

def test_tokens_split_identifiers_and_drop_stopwords():
    assert context.tokens("readBlobs(read_blobs) is HTTPServer's 2nd x") == [
        "read", "blobs", "read", "blobs", "http", "server", "nd"]
    assert context.word_counts("a_b foo fooBar foo") == {"foo": 3, "bar": 1}


def test_bm25_over_the_query_words_equals_an_index_of_the_whole_documents():
    rng = random.Random(7)
    words = [f"w{chr(97 + i)}{chr(97 + j)}" for i in range(8) for j in range(8)]
    texts = {f"src/m{i}.py".encode(): " ".join(rng.choice(words) for _ in range(rng.randint(0, 300)))
             for i in range(40)}
    r = context.Retriever()
    for i, (path, text) in enumerate(texts.items()):
        r.add_blob(f"{i:040x}", text.encode())
    candidates = [(p, f"{i:040x}") for i, p in enumerate(texts)]
    query = "waa wab wzz src " + " ".join(rng.sample(words, 10))
    full = bm25s.BM25()
    full.index([context.tokens(p.decode()) + context.tokens(t) for p, t in texts.items()], show_progress=False)
    expected = full.get_scores(sorted(set(context.tokens(query))))
    got = r.scores(candidates, query)
    assert np.count_nonzero(got) > 20 and np.allclose(got, expected, rtol=1e-5, atol=1e-6)
    ranked = r.rank(candidates, query, 5)
    assert [p for p, _ in ranked] == [candidates[i][0] for i in np.argsort(-expected, kind="stable")[:5]]


def test_context_readme_and_tree_come_from_the_pre_commit_tree(tmp_path):
    repo = calc_repo(tmp_path / "r")
    rows, _ = crawl(repo)
    unicode = rows["Tokenizer: accept unicode identifiers"]
    # BM25 over the pre-commit tree (query: message + changed paths): the tokenizer first, the parser that
    # imports it next, then render.py (only its path's "py"); docs/usage.md shares no word; the README
    # is shown on its own, never retrieved.
    assert [c["path"] for c in unicode["context"]] == ["calc/tokenizer.py", "calc/parser.py", "calc/render.py"]
    assert unicode["context"][0]["content"] == CALC["calc/tokenizer.py"]
    # The tree before the commit: the test file the commit adds is not in it.
    assert unicode["tree"] == ["README.md", "calc/parser.py", "calc/render.py", "calc/tokenizer.py",
                               "docs/usage.md"]
    assert unicode["tree_size"] == 5
    assert unicode["readme"] == {"path": "README.md", "content": CALC["README.md"]}
    assert (unicode["author_name"], unicode["author_email"]) == ("t", "t@example.com")
    # The README commit shows the README as it was before it.
    described = rows["Describe unicode support in the README"]
    assert described["readme"]["content"] == CALC["README.md"]
    assert "tests/test_tokenizer.py" in described["tree"]
    root = rows["Add the calculator"]
    assert (root["readme"], root["tree"], root["tree_size"], root["context"]) == (None, [], 0, [])
    fewer, _ = crawl(repo, commit_samples_context_files=1)
    assert [c["path"] for c in fewer["Tokenizer: accept unicode identifiers"]["context"]] == ["calc/tokenizer.py"]
    none, _ = crawl(repo, commit_samples_context_files=0)
    assert none["Tokenizer: accept unicode identifiers"]["context"] == []


def test_trees_are_undone_through_renames_deletions_links_and_merges(tmp_path):
    repo = make_repo(tmp_path / "r", {"a.py": "alpha = 1\n", "b/c.py": "c = 1\n", "readme.rst": "Hi\n"},
                     message="one")
    git(repo, "mv", "a.py", "b/a.py")
    commit(repo, "move a into b", {"d.txt": "d\n"})
    git(repo, "checkout", "-q", "-b", "topic")
    commit(repo, "topic work on c", {"b/c.py": "c = 2\n", "e.py": "e = 1\n"})
    git(repo, "checkout", "-q", "main")
    commit(repo, "drop d", {"d.txt": None})
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge branch topic", "topic")
    (repo / "link").symlink_to("b/a.py")
    git(repo, "add", "link")
    commit(repo, "Point a link at alpha after the merge", {"b/a.py": "alpha = 2\n"})
    rows, _ = crawl(repo)
    # the first-parent history: the topic commit is behind the merge
    assert set(rows) == {"one", "move a into b", "drop d", "Merge branch topic",
                         "Point a link at alpha after the merge"}
    for message, row in rows.items():
        if len(row["parents"]) > 1:
            assert row["tree"] is None and row["context"] is None and row["readme"] is None
            assert {f["new_path"] for f in row["files"]} == {"b/c.py", "e.py"}
            assert all(f["skipped"] == "merge" and f["diff"] is None for f in row["files"])
            continue
        parent = row["parents"][0] if row["parents"] else None
        listed = git(repo, "ls-tree", "-r", "--name-only", parent).split() if parent else []
        assert row["tree"] == listed, message
        assert row["readme"] == ({"path": "readme.rst", "content": "Hi\n"} if parent else None)
    after = rows["Point a link at alpha after the merge"]
    assert "e.py" in after["tree"] and "link" not in after["tree"]  # the merge's tree, not the link's
    assert [c["path"] for c in after["context"]][0] == "b/a.py"


def test_a_previous_crawl_without_the_context_columns_is_not_reused():
    import pyarrow as pa

    from seedlib.crawl import history_reusable
    from seedlib.datasets import COMMIT_HISTORY

    old = pa.table({"repo": ["o/r"], "sha": ["1" * 40], "message": ["m"]})
    assert not history_reusable(old)
    assert history_reusable(pa.Table.from_pylist([{"repo": "o/r", "sha": "1" * 40}], schema=COMMIT_HISTORY))
    assert history_reusable(None) and history_reusable(old.slice(0, 0))


def test_a_diff_of_a_last_line_without_newline_is_not_glued_to_the_next(tmp_path):
    repo = make_repo(tmp_path / "r", {"x.py": "x = 1"}, message="one")
    commit(repo, "change x", {"x.py": "x = 2"})
    rows, _ = crawl(repo)
    assert rows["change x"]["files"][0]["diff"].splitlines()[-4:] == [
        "-x = 1", "\\ No newline at end of file", "+x = 2", "\\ No newline at end of file"]


# ---------- the filters ----------

def test_each_filter_puts_its_reason_in_the_ledger(tmp_path):
    repo = calc_repo(tmp_path / "r")
    commit(repo, "Bump calc from 1.0 to 1.1", {"calc/VERSION": "1.1\n"},
           author="dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>")
    commit(repo, "wip", {"calc/render.py": CALC["calc/render.py"] + "# more\n"})
    commit(repo, "Add the logo of the calculator", {"logo.png": b"\x89PNG\r\n\x1a\n\x00\x00"})
    commit(repo, "Vendor the whole lookup table", {"calc/table.py": "T = 1\n" * 400})
    commit(repo, "An empty commit that says a lot", allow_empty=True)
    git(repo, "checkout", "-q", "-b", "side")
    commit(repo, "Side work on the parser", {"calc/parser.py": CALC["calc/parser.py"] + "# side\n"})
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge the side branch into main", "side")
    rows, cfg = crawl(repo, commit_max_file_bytes=1000)
    reasons = {m: cs.decide(r, cfg.commit_samples)[0] for m, r in rows.items()}
    assert reasons == {
        "Add the calculator": None, "Tokenizer: accept unicode identifiers": None,
        "Describe unicode support in the README": None,
        "Bump calc from 1.0 to 1.1": "bot_author", "wip": "trivial_message",
        "Add the logo of the calculator": "binary", "Vendor the whole lookup table": "too_large",
        "An empty commit that says a lot": "no_changes", "Merge the side branch into main": "merge_commit",
    }
    assert cs.is_trivial("Update README.md", 8) and cs.is_trivial("  Fix.  ", 8) and cs.is_trivial("", 8)
    assert not cs.is_trivial("Fix the parser on empty input", 8)
    assert cs.is_bot("Renovate Bot", "bot@renovateapp.com", ("renovate",))
    assert not cs.is_bot("Ada", "ada@example.com", cfg.commit_samples.bot_authors)


def row(files, message="Rename the parser and fix it", repo="o/r", sha="1" * 40, **extra):
    return {"repo": repo, "sha": sha, "parents": ["0" * 40], "message": message, "author_name": "Ada",
            "author_email": "ada@example.com", "files": files, "readme": None, "tree": ["a.py"], "tree_size": 1,
            "context": [], **extra}


def change(old, new, kind, before, after, diff=None, skipped=None):
    return {"old_path": old, "new_path": new, "change_type": kind, "before": before, "after": after,
            "diff": diff if diff is not None else (f"--- a/{old}\n+++ b/{new}\n" if before != after else ""),
            "skipped": skipped}


def test_size_limits_and_contamination_through_the_files_ledger_and_the_benchmarks():
    s = load_config({"commit_samples_max_changed_files": 2, "commit_samples_max_change_chars": 200}, {}).commit_samples
    small = [change("p.py", "q.py", "renamed", "x = 1\n", "x = 2\n")]
    assert cs.decide(row(small), s)[0] is None
    assert cs.decide(row(small * 3), s)[0] == "too_large"  # 3 files > max_changed_files
    assert cs.decide(row([change("p.py", "p.py", "modified", "", "x", diff="+" * 300)]), s)[0] == "too_large"
    undecodable = [change("p.py", "p.py", "modified", None, None, skipped="undecodable")]
    assert cs.decide(row(undecodable), s)[0] == "undecodable"
    mode_only = [change("p.py", "p.py", "modified", "x\n", "x\n", diff="")]
    assert cs.decide(row(mode_only), s)[0] == "no_changes"
    # the old path of a rename is in decontam's ledger as contaminated
    assert cs.decide(row(small), s, frozenset({("o/r", "p.py")}))[:2] == ("contaminated", "files")
    assert cs.decide(row(small), s, frozenset({("other/r", "p.py")}))[0] is None
    # a HumanEval solution in the context (or anywhere in the text) hits the benchmark index
    index = decontam.build_index(load_config({}, {}))
    with gzip.open(decontam.humaneval_path(), "rt") as fh:
        problem = json.loads(fh.readline())
    tainted = row(small, context=[{"path": "sol.py", "content": problem["prompt"] + problem["canonical_solution"]}])
    assert cs.decide(tainted, s, frozenset(), index)[:2] == ("contaminated", problem["task_id"])
    assert cs.decide(row(small), s, frozenset(), index)[0] is None


# ---------- rendering ----------

RENDER_ROW = row([
    change("a.py", "a.py", "modified", "a = 1\n", "a = 2\n",
           diff="--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n"),
    change("old.py", "new.py", "renamed", "n = 1\n", "n = 1\n", diff=""),
    change("gone.py", None, "deleted", "g = 1", None, diff="--- a/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-g = 1\n"
                                                            "\\ No newline at end of file\n"),
    change(None, "added.txt", "added", None, "hello",
           diff="--- /dev/null\n+++ b/added.txt\n@@ -0,0 +1 @@\n+hello\n\\ No newline at end of file\n"),
    change("sub", "sub", "modified", None, None, diff=""),  # a submodule pointer: nothing to show
], message="Bump a, rename old to new", readme={"path": "README", "content": "Read me"},
    tree=["README", "a.py", "gone.py"], tree_size=4,
    context=[{"path": "a.py", "content": "a = 1\n"}, {"path": "gone.py", "content": "g = 1"}])

RENDER_INPUT = ("<[commit-message]>\nBump a, rename old to new\n"
                "<[readme]> README\nRead me\n"
                "<[tree]> first 3 of 4 paths\nREADME\na.py\ngone.py\n"
                "<[context]> a.py\na = 1\n"
                "<[context]> gone.py\ng = 1\n")


def test_rendering_of_both_diff_formats_byte_for_byte():
    unified = cs.sample(RENDER_ROW, "unified")
    assert unified["text"] == RENDER_INPUT + (
        "<[changes]>\n"
        "<[change]> modified a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n"
        "<[change]> renamed old.py -> new.py\n"
        "<[change]> deleted gone.py\n--- a/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-g = 1\n"
        "\\ No newline at end of file\n"
        "<[change]> added added.txt\n--- /dev/null\n+++ b/added.txt\n@@ -0,0 +1 @@\n+hello\n"
        "\\ No newline at end of file\n")
    assert unified["changed_paths"] == ["a.py", "new.py", "gone.py", "added.txt"]
    assert unified["context_paths"] == ["a.py", "gone.py"]
    whole = cs.sample(RENDER_ROW, "whole")
    assert whole["text"] == RENDER_INPUT + (
        "<[changes]>\n"
        "<[change]> modified a.py\na = 2\n"
        "<[change]> renamed old.py -> new.py\nn = 1\n"
        "<[change]> deleted gone.py\n"
        "<[change]> added added.txt\nhello\n")
    s = load_config({}, {}).commit_samples
    assert cs.decide(RENDER_ROW, s)[2] == unified  # what the filters saw is what is written
    bare = cs.sample(row([change(None, "x.py", "added", None, "", diff="")], tree=[], tree_size=0), "unified")
    assert bare["text"] == "<[commit-message]>\nRename the parser and fix it\n<[changes]>\n<[change]> added x.py\n"


# ---------- the stage ----------

def replay(path, history, author):
    """A repository with the same trees and messages as `history` (message -> files), another author."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    env = {**GIT_ENV, "GIT_AUTHOR_NAME": author, "GIT_COMMITTER_NAME": author,
           "GIT_AUTHOR_DATE": "2020-01-01T00:00:00", "GIT_COMMITTER_DATE": "2020-01-01T00:00:00"}
    for message, files in history:
        write_files(path, files)
        subprocess.run(["git", "-C", str(path), "add", "-A"], check=True, env=env)
        subprocess.run(["git", "-C", str(path), "commit", "-q", "-m", message], check=True, env=env)
    return path


@pytest.mark.slow
def test_stage_writes_samples_and_the_commit_ledger(tmp_path, spark):
    history = [("Add the calculator", CALC), ("Tokenizer: accept unicode identifiers",
                                              {"tests/test_tokenizer.py": TEST_TOKENIZER}),
               ("wip", {"calc/render.py": "# wip\n"}),
               ("Parser: parse an empty text", {"calc/parser.py": CALC["calc/parser.py"] + "\n# empty\n"})]
    # a/calc and b/calc: the same changes by different authors (other shas, the same sample texts)
    a = replay(tmp_path / "a", history, "Ada")
    b = replay(tmp_path / "b", history, "Bob")
    cfg = load_config({"storage": (tmp_path / "data").as_uri(), **HISTORY}, {})
    spec = RunSpec(snapshot="2026-03-04", run_id="run_1", config=cfg.public_dict())
    storage = spec.storage()
    crawled = {name: crawl_source(Source(name, repo.as_uri(), GIT), cfg).commits
               for name, repo in (("b/calc", b), ("a/calc", a))}
    parts = []
    for p, name in enumerate(crawled):  # part 0: b/calc, part 1: a/calc
        w = PartWriter(storage, spec.stage_prefix("crawl"), p)
        w.add("commit_history", crawled[name])
        parts += w.close().to_pylist()
    StageRecorder(storage, spec.stage_prefix("crawl"), "crawl").finish(parts)
    w = PartWriter(storage, spec.stage_prefix("decontam"), 0)  # decontam found calc/parser.py of b/calc
    w.add("dropped", [{"repo": "b/calc", "path": "calc/parser.py", "sha256": "0" * 64, "stage": "decontam",
                       "reason": "contaminated", "duplicate_of": None}])
    StageRecorder(storage, spec.stage_prefix("decontam"), "decontam", "crawl").finish(w.close().to_pylist())

    report = run_stage(spark, spec, "commit_samples", after=("crawl", "decontam"))

    assert (report.rows_in, report.rows_out) == (8, 3)
    assert report.dropped == {"contaminated": 2, "exact_duplicate": 1, "trivial_message": 2}
    assert report.rows_in == report.rows_out + sum(report.dropped.values())
    assert report.details["contaminated_by"] == {"files": 2, "benchmark": 0}
    samples = storage.read_parquet(report.datasets["commit_samples"]["paths"]).to_pylist()
    dropped = storage.read_parquet(report.datasets["commit_dropped"]["paths"]).to_pylist()
    sha = {(r, c["message"]): c["sha"] for r, rows in crawled.items() for c in rows}
    # a/calc < b/calc: a's samples are kept, b's are their duplicates, except b's commits that changed its
    # contaminated calc/parser.py (the first one adds it): those are contaminated, a's copies of them kept
    assert sorted((s["repo"], s["message"]) for s in samples) == [
        ("a/calc", "Add the calculator"), ("a/calc", "Parser: parse an empty text"),
        ("a/calc", "Tokenizer: accept unicode identifiers")]
    assert sorted((d["repo"], d["sha"], d["reason"], d["duplicate_of"]) for d in dropped) == sorted([
        ("a/calc", sha["a/calc", "wip"], "trivial_message", None),
        ("b/calc", sha["b/calc", "wip"], "trivial_message", None),
        ("b/calc", sha["b/calc", "Parser: parse an empty text"], "contaminated", None),
        ("b/calc", sha["b/calc", "Add the calculator"], "contaminated", None),
        ("b/calc", sha["b/calc", "Tokenizer: accept unicode identifiers"], "exact_duplicate",
         sha["a/calc", "Tokenizer: accept unicode identifiers"])])
    unicode = next(s for s in samples if s["message"].startswith("Tokenizer"))
    assert unicode["context_paths"] == ["calc/tokenizer.py", "calc/parser.py", "calc/render.py"]
    assert unicode["changed_paths"] == ["tests/test_tokenizer.py"]
    assert unicode["text"] == cs.sample(next(c for c in crawled["a/calc"] if c["sha"] == unicode["sha"]),
                                        "unified")["text"]
    # one output part per input part, named by its index
    assert sorted(k.rsplit("/", 1)[1] for k in report.datasets["commit_dropped"]["paths"]) == [
        "part-00000-0000.parquet", "part-00001-0000.parquet"]
