"""Repository-level sequences: imports per language (seedlib/samples/deps.py), dependency order, cycles,
the seeded order of files without imports, parts over the budget, the quality selection, and the
repo_sequences stage on the test session's Spark (seedlib/samples/sequences.py)."""

from __future__ import annotations

import hashlib
import random

import pyarrow as pa

from seedlib import datasets, ledger, manifest
from seedlib.config import load_config
from seedlib.publish import publish_run
from seedlib.run import RunSpec
from seedlib.samples import sequences
from seedlib.samples.deps import Graph, Source, go_imports, python_imports, resolve, strip_comments
from seedlib.samples.sequences import build, order, render, select, split
from seedlib.stage import PartWriter, StageRecorder
from tests.stages import pipeline_of, run_stage


def imports(*files, repo=None):
    return {k: sorted(v) for k, v in resolve([Source(*f) for f in files], repo).imports.items()}


# ---------- imports per language ----------

def test_python_absolute_relative_and_package_imports():
    got = imports(
        ("pkg/__init__.py", "Python", "from .core import X\n"),
        ("pkg/core.py", "Python", "from . import util\nimport os, sys\n# import pkg.gone\n"),
        ("pkg/util.py", "Python", "x = 1\n"),
        ("pkg/sub/__init__.py", "Python", ""),
        ("pkg/sub/deep.py", "Python",
         "from ..core import (\n    X,  # the class\n    Y,\n)\nfrom ... import nothing\n"),
        ("main.py", "Python", "import pkg.sub.deep\nfrom pkg import util, core as c\n"),
        ("src/lib/__init__.py", "Python", ""),
        ("src/lib/a.py", "Python", "from lib import b\n"),
        ("src/lib/b.py", "Python", ""),
        ("tests/test_a.py", "Python", "import helpers\nfrom lib.a import f\n"),
        ("tests/helpers.py", "Python", ""),
    )
    assert got == {
        # a package's own __init__ is not an edge of its modules; its explicit relative import is
        "pkg/__init__.py": ["pkg/core.py"],
        "pkg/core.py": ["pkg/util.py"],  # `from . import util` is the submodule; os, sys are not files here
        "pkg/sub/deep.py": ["pkg/core.py"],  # `from ... import` leaves the repository: nothing
        # import pkg.sub.deep runs pkg/__init__ and pkg/sub/__init__; `from pkg import util` is a submodule
        "main.py": ["pkg/__init__.py", "pkg/core.py", "pkg/sub/__init__.py", "pkg/sub/deep.py", "pkg/util.py"],
        "src/lib/a.py": ["src/lib/b.py"],  # src/ is a source root (the parent of a top-level package)
        "tests/test_a.py": ["src/lib/__init__.py", "src/lib/a.py", "tests/helpers.py"],  # script dir first
    }


def test_a_package_crawled_as_a_folder_has_its_init_at_the_root():
    # the embedded default crawls installed packages as folders: the repository root is a package
    got = imports(("__init__.py", "Python", "from .core import X\n"), ("core.py", "Python", "from . import util\n"),
                  ("util.py", "Python", ""), ("sub/__init__.py", "Python", "from ..core import X\n"))
    assert got == {"__init__.py": ["core.py"], "core.py": ["util.py"], "sub/__init__.py": ["core.py"]}


def test_python_import_statements_are_parsed():
    text = "from a.b import c as d, e\nimport x.y as z, w\nfrom .. import (p,\n  q)\nfrom . import *\n"
    assert sorted(python_imports(text)) == [(0, "a.b", ["c", "e"]), (0, "w", []), (0, "x.y", []),
                                            (1, "", ["*"]), (2, "", ["p", "q"])]


def test_java_imports_wildcards_static_nested_and_same_package():
    base = "src/main/java/com/x/"
    got = imports(
        (base + "App.java", "Java", "package com.x;\nimport com.x.util.Strings;\nimport com.x.model.*;\n"
                                    "import static com.x.util.Maths.add;\n// import com.x.Gone;\n"
                                    "import java.util.List;\nclass App { Helper h; }\n"),
        (base + "Helper.java", "Java", "package com.x;\n/* uses App */ class Helper {}\n"),
        (base + "Gone.java", "Java", "package com.x;\nclass Gone {}\n"),
        (base + "util/Strings.java", "Java", "package com.x.util;\npublic class Strings {}\n"),
        (base + "util/Maths.java", "Java", "package com.x.util;\npublic class Maths {}\n"),
        (base + "model/User.java", "Java", "package com.x.model;\nimport com.x.util.Strings.Inner;\nclass User {}\n"),
        (base + "model/Role.java", "Java", "package com.x.model;\nclass Role { User owner; }\n"),
    )
    assert got == {
        base + "App.java": [base + "Helper.java", base + "model/Role.java", base + "model/User.java",
                            base + "util/Maths.java", base + "util/Strings.java"],
        base + "model/Role.java": [base + "model/User.java"],  # same package, no import
        base + "model/User.java": [base + "util/Strings.java"],  # a nested class is its outer class's file
    }


def test_typescript_index_files_extensions_and_js_specifiers_of_ts_sources():
    got = imports(
        ("src/index.ts", "TypeScript", "import { a } from './lib';\nimport b from \"./b.js\";\n"
                                       "export * from './c'\nimport React from 'react';\n"
                                       "const d = require('../../outside');\n// import e from './e'\n"),
        ("src/lib/index.ts", "TypeScript", "import type {X} from '../types'\n"),
        ("src/types.d.ts", "TypeScript", ""),
        ("src/b.ts", "TypeScript", "import('./c').then(m => m)\n"),
        ("src/c.tsx", "TypeScript", "import './styles.css'\n"),
        ("src/e.ts", "TypeScript", ""),
        ("web/app.js", "JavaScript", "const u = require('./util');\nimport {\n  x,\n  y\n} from '../src/b';\n"),
        ("web/util.js", "JavaScript", ""),
        ("web/util.ts", "TypeScript", ""),
    )
    assert got == {
        "src/index.ts": ["src/b.ts", "src/c.tsx", "src/lib/index.ts"],  # ./lib -> lib/index.ts, ./b.js -> b.ts
        "src/lib/index.ts": ["src/types.d.ts"],
        "src/b.ts": ["src/c.tsx"],
        "web/app.js": ["src/b.ts", "web/util.js"],  # a JavaScript importer prefers .js
    }


def test_c_includes_relative_to_the_file_and_to_include_roots():
    got = imports(
        ("src/main.c", "C", '#include <stdio.h>\n#include "util.h"\n#include "net/http.h"\n'
                            '/* #include "gone.h" */\n#include <proj/api.h>\n'),
        ("src/util.h", "C", "#pragma once\n"),
        ("src/gone.h", "C", ""),
        ("src/net/http.h", "C", '#include "../util.h"\n#include "tls.h"\n'),
        ("src/net/tls.h", "C", ""),
        ("include/proj/api.h", "C", '#include "proj/types.h"\n'),
        ("include/proj/types.h", "C", ""),
        ("tests/t.cpp", "C++", '#include "proj/api.h"\n#include <vector>\n'),
        ("compat/stdio.h", "C", ""),
    )
    assert got == {
        "src/main.c": ["include/proj/api.h", "src/net/http.h", "src/util.h"],  # <stdio.h> is never local
        "src/net/http.h": ["src/net/tls.h", "src/util.h"],
        "include/proj/api.h": ["include/proj/types.h"],  # found from the include root include/
        "tests/t.cpp": ["include/proj/api.h"],
    }


def test_go_imports_through_the_module_path_of_go_mod():
    got = resolve([
        Source("go.mod", None, "module example.com/app\n\ngo 1.22\n"),
        Source("main.go", "Go", 'package main\n\nimport (\n\t"fmt"\n\tu "example.com/app/internal/util"\n'
                                '\t"example.com/app/store" // the store\n)\n'),
        Source("internal/util/a.go", "Go", "package util\n"),
        Source("internal/util/b.go", "Go", 'package util\n\nimport "github.com/other/lib"\n'),
        Source("internal/util/a_test.go", "Go", "package util\n"),
        Source("store/store.go", "Go", 'package store\n\nimport "example.com/app/internal/util"\n'),
    ])
    assert {k: sorted(v) for k, v in got.imports.items()} == {
        "main.go": ["internal/util/a.go", "internal/util/b.go", "store/store.go"],  # a package is its files
        "store/store.go": ["internal/util/a.go", "internal/util/b.go"],
        "internal/util/a_test.go": ["internal/util/a.go", "internal/util/b.go"],
    }
    assert got.links == [("internal/util/a.go", "internal/util/b.go")]  # one package: kept together


def test_go_without_go_mod_matches_paths_that_name_the_repository():
    files = [("main.go", "Go", 'package main\nimport "github.com/o/r/store"\nimport "github.com/other/lib/store"\n'
                               'import "net/http"\n'),
             ("store/store.go", "Go", "package store\n"), ("net/http/x.go", "Go", "package http\n")]
    assert imports(*files, repo="o/r") == {"main.go": ["store/store.go"]}
    assert go_imports('import (\n\t"a/b"\n\tx "c/d"\n\t_ "e"\n)\n') == ["a/b", "c/d", "e"]


def test_comment_stripping_keeps_strings_whole():
    text = 'a = "http://x/*y*/"; // gone\n/* one\ntwo */ b\n'
    assert strip_comments(text) == 'a = "http://x/*y*/";  \n\n b\n'


# ---------- order ----------

def test_exact_dependency_order_of_a_small_repository():
    files = [Source("app/views.py", "Python", "from app import models\n"),
             Source("app/models.py", "Python", "from app.db import conn\n"),
             Source("app/db.py", "Python", "conn = None\n"),
             Source("app/__init__.py", "Python", ""),
             Source("cli.py", "Python", "import app.views\n"),
             Source("a_tool.py", "Python", "")]
    graph = resolve(files)
    # db before models before views before cli; independent files by path
    assert order("o/r", files, graph, 0) == ["a_tool.py", "app/__init__.py", "app/db.py", "app/models.py",
                                             "app/views.py", "cli.py"]


def test_a_cycle_is_broken_the_same_way_every_time():
    files = [Source("b.py", "Python", "import c\nimport base\n"), Source("c.py", "Python", "import a\n"),
             Source("a.py", "Python", "import b\n"), Source("d.py", "Python", "import a\n"),
             Source("base.py", "Python", ""), Source("z.py", "Python", "import base\nimport c\n")]
    expected = ["base.py", "a.py", "b.py", "c.py", "d.py", "z.py"]  # the cycle a-b-c in path order
    for seed in range(5):
        shuffled = files[:]
        random.Random(seed).shuffle(shuffled)
        assert order("o/r", shuffled, resolve(shuffled), 7) == expected


def test_html_sql_and_shell_come_after_in_a_seeded_random_order():
    files = [Source("x.py", "Python", ""), Source("b.html", "HTML", ""), Source("a.sql", "SQL", ""),
             Source("c.sh", "Shell", ""), Source("d.html", "HTML", ""), Source("e.sql", "SQL", ""),
             Source("f.sh", "Shell", ""), Source("README.md", "Markdown", "")]
    got = order("o/r", files, Graph(), 3)
    rest = sorted(s.path for s in files[1:])
    random.Random("3:o/r").shuffle(rest)
    assert got == ["x.py"] + rest
    assert order("o/r", list(reversed(files)), Graph(), 3) == got  # not the order they came in
    assert len({tuple(order("o/r", files, Graph(), seed)) for seed in range(6)}) > 1  # the seed matters
    assert len({tuple(order(f"o/r{i}", files, Graph(), 3)) for i in range(6)}) > 1  # and the repository


# ---------- parts ----------

def test_a_repository_over_the_budget_is_split_into_independent_parts():
    text = "x" * 40
    files = [Source("a/one.py", "Python", "import a.two\n" + text), Source("a/two.py", "Python", text),
             Source("b/solo.py", "Python", text), Source("c/big.py", "Python", "import c.big2\n" + text * 3),
             Source("c/big2.py", "Python", "import c.big3\n" + text * 3), Source("c/big3.py", "Python", text * 3),
             Source("site.html", "HTML", text)]
    header = len(sequences.repo_header("o/r"))
    block = {s.path: len(sequences.file_block(s.path, s.text)) for s in files}
    budget = header + block["c/big.py"] + block["c/big2.py"] + 5  # two of c's files fit, not three
    rows, counts = build("o/r", files, seed=1, max_chars=budget)
    assert [r["paths"] for r in rows] == [
        ["a/two.py", "a/one.py", "b/solo.py", "site.html"],  # components a, b and site.html, first fit
        ["c/big3.py", "c/big2.py"],  # component c is over the budget: cut along its order
        ["c/big.py"],
    ]
    assert [r["part"] for r in rows] == [0, 1, 2]
    assert all(len(r["text"]) <= budget for r in rows)
    assert sorted(p for r in rows for p in r["paths"]) == sorted(s.path for s in files)
    assert counts == {"parts": 3, "files": 7, "split": 1, "oversized_files": 0, "import_edges": 3}
    # fits: one part, everything in order
    whole, counts = build("o/r", files, seed=1, max_chars=10**6)
    assert [r["paths"] for r in whole] == [["a/two.py", "a/one.py", "b/solo.py", "c/big3.py", "c/big2.py",
                                            "c/big.py", "site.html"]]
    assert counts["split"] == 0


def test_a_file_over_the_budget_is_a_part_by_itself():
    paths = ["a.py", "b.py"]
    parts = split("o/r", paths, {"a.py": 500, "b.py": 10}, Graph(), max_chars=100)
    assert parts == [["a.py"], ["b.py"]]


def test_text_format_byte_for_byte():
    assert render("o/r", [("a.py", "x = 1\n"), ("b/c.sh", "echo hi")]) == (
        "<[repo-name]>o/r\n<[file-sep]>a.py\nx = 1\n<[file-sep]>b/c.sh\necho hi")


# ---------- selection ----------

def index_rows(rows):
    return pa.Table.from_pylist([{"repo": r, "path": p, "sha256": "0" * 64, "lang": "Python", "size": 1,
                                  "quality_score": q, "snapshot": "2026-01-01"} for r, p, q in rows],
                                schema=datasets.CORPUS_INDEX)


def test_selection_by_mean_quality_ignoring_nulls():
    index = index_rows([("o/a", "1", 4.0), ("o/a", "2", 6.0), ("o/a", "3", None),   # mean 5.0: in
                        ("o/b", "1", 4.9), ("o/b", "2", None),                      # 4.9: below
                        ("o/c", "1", None),                                         # no score at all
                        ("o/d", "1", 9.0)])
    got = select(index, 5.0)
    assert got.repos == ["o/a", "o/d"]
    assert got.counts == {"seen": 4, "selected": 2, "below_min_quality": 1, "unscored": 1}
    assert select(index, 0.0).repos == ["o/a", "o/b", "o/d"]  # unscored is never selected


def test_contents_missing_from_their_snapshot_are_reported_not_written(tmp_path):
    spec = RunSpec(snapshot="2026-01-02", run_id="r", config=load_config({"storage": (tmp_path / "d").as_uri()},
                                                                         {}).public_dict())
    table = pa.Table.from_pylist([
        {"bucket": 0, "kind": "marker"},
        {"bucket": 0, "kind": "index", "repo": "o/a", "path": "x.py", "sha256": "1" * 64, "snapshot": "2026-01-01",
         "lang": "Python"},
        {"bucket": 0, "kind": "file", "repo": "o/a", "path": "x.py", "sha256": "2" * 64, "snapshot": "2026-01-01",
         "content": "other version"}], schema=sequences.ROWS_SCHEMA)
    out = sequences.build_bucket(spec.to_json(), "repo_sequences", 0, 1000, {}, table).to_pylist()
    assert out == [{"dataset": "missing", "key": "o/a:x.py (snapshot 2026-01-01)", "rows": 1, "counts": "{}"}]
    assert not spec.storage().list(spec.stage_prefix("repo_sequences"))


# ---------- the stage, on Spark ----------

D1, D2 = "2026-03-01", "2026-03-02"


def frow(repo, path, text, score, lang="Python"):
    return {"repo": repo, "path": path, "lang": lang, "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "size": len(text.encode()), "content": text, "quality_score": score}


def write_crawl(spec, files, repos, dropped=()):
    """Like tests.stages.write_crawl, but files keep their quality_score (as if the quality stage ran)."""
    storage = spec.storage()
    schema = pa.schema(list(datasets.FILES) + [("quality_score", pa.float64())])
    parts = []
    for p in range(2):
        w = PartWriter(storage, spec.stage_prefix("crawl"), p)
        if files[p::2]:
            w.add("files", pa.Table.from_pylist(files[p::2], schema=schema))
        w.add("dropped", list(dropped)[p::2])
        w.add("repos", list(repos)[p::2])
        parts += w.close().to_pylist()
    StageRecorder(storage, spec.stage_prefix("crawl"), "crawl").finish(parts)


def repo_row(name):
    return {"repo": name, "url": f"file:///{name}", "head_sha": "1" * 40, "stars": None, "forks": None,
            "license": None, "status": "ok", "error": None}


APP_V1 = [frow("o/app", "app/__init__.py", "", 8.0), frow("o/app", "app/db.py", "conn = 'v1'\n", 8.0),
          frow("o/app", "app/models.py", "from app.db import conn\n", 8.0),
          frow("o/app", "schema.sql", "create table t (x int);\n", 8.0, "SQL"),
          frow("o/app", "run.sh", "python -m app\n", 8.0, "Shell")]
OTHERS = [frow("o/low", "x.py", "x = 1\n", 2.0), frow("o/lib", "lib.py", "y = 2\n", None)]
DB_V2 = frow("o/app", "app/db.py", "conn = 'v2'\n", 7.0)
VIEWS = frow("o/app", "app/views.py", "from app import models\n", 7.0)
WEB = [frow("o/web", "index.html", "<script src=main.js></script>\n", 6.0, "HTML"),
       frow("o/web", "main.js", "import {f} from './lib/index.js'\n", 6.0, "JavaScript"),
       frow("o/web", "lib/index.js", "export const f = 1\n", 6.0, "JavaScript")]


def spec_for(uri, date, **settings):
    return RunSpec(snapshot=date, run_id="run_1", config=load_config({"storage": uri, **settings}, {}).public_dict())


def test_stage_builds_sequences_from_the_corpus_as_of_the_snapshot(tmp_path, spark, monkeypatch):
    uri = (tmp_path / "data").as_uri()
    names = ("o/app", "o/low", "o/lib", "o/web")
    day1 = spec_for(uri, D1)
    write_crawl(day1, APP_V1 + OTHERS, [repo_row(n) for n in names[:3]])
    run_stage(None, day1, "corpus", after=("crawl",))
    publish_run(day1, pipeline_of(day1, ("crawl", "corpus")))

    # Day 2: db.py changed, views.py is new, o/web is new; everything else unchanged (duplicates of day 1).
    day2 = spec_for(uri, D2, repo_min_quality=5.0, repo_max_chars=10**6, repo_seed=11)
    unchanged = [r for r in APP_V1 + OTHERS if r["path"] != "app/db.py"]
    write_crawl(day2, [DB_V2, VIEWS, *WEB], [repo_row(n) for n in names],
                dropped=[ledger.drop(r["repo"], r["path"], r["sha256"], "crawl", "exact_duplicate", r["sha256"])
                         for r in unchanged])
    run_stage(None, day2, "corpus", after=("crawl",))
    app_size = sum(r["size"] for r in [DB_V2, VIEWS] + unchanged if r["repo"] == "o/app")
    monkeypatch.setattr(sequences, "BUCKET_CHARS", app_size)  # two buckets: o/app alone, then o/web
    report = run_stage(spark, day2, "repo_sequences", after=("crawl", "corpus"))

    storage = day2.storage()
    out = storage.read_parquet(report.datasets["repo_sequences"]["paths"])
    rows = out.to_pylist()
    shell_sql = ["run.sh", "schema.sql"]
    random.Random("11:o/app").shuffle(shell_sql)
    app_paths = ["app/__init__.py", "app/db.py", "app/models.py", "app/views.py", *shell_sql]
    contents = {r["path"]: r["content"] for r in [DB_V2, VIEWS, *unchanged] if r["repo"] == "o/app"}
    assert rows == [
        {"repo": "o/app", "part": 0, "paths": app_paths,
         "text": render("o/app", [(p, contents[p]) for p in app_paths])},
        {"repo": "o/web", "part": 0, "paths": ["lib/index.js", "main.js", "index.html"],
         "text": render("o/web", [(r["path"], r["content"]) for r in (WEB[2], WEB[1], WEB[0])])},
    ]
    assert "conn = 'v2'" in rows[0]["text"] and "v1" not in rows[0]["text"]  # the current version only
    assert [k.rsplit("/", 1)[1] for k in report.datasets["repo_sequences"]["paths"]] == [
        "part-00000-0000.parquet", "part-00001-0000.parquet"]
    assert report.rows_out == 2
    assert report.details["repositories"] == {"seen": 4, "selected": 2, "below_min_quality": 1, "unscored": 1}
    assert report.details["buckets"] == {"count": 2}
    assert report.details["sequences"] == {"repositories": 2, "parts": 2, "files": 9, "split_repositories": 0,
                                           "oversized_files": 0, "import_edges": 3}

    # A resumed attempt keeps the finished bucket and writes the other one again, byte for byte.
    prefix = day2.stage_prefix("repo_sequences")
    keys = report.datasets["repo_sequences"]["paths"]
    before = [storage.read_bytes(k) for k in keys]
    for key in (f"{prefix}/_STAGE.json", f"{prefix}/_parts/part-00001.json", keys[1]):
        (tmp_path / "data" / key).unlink()
    again = run_stage(spark, day2, "repo_sequences", after=("crawl", "corpus"))
    assert again.resumed_parts == 1 and again.datasets == report.datasets
    assert [storage.read_bytes(k) for k in keys] == before
    assert manifest.read(storage, D2) is None  # nothing was published by the stage itself
