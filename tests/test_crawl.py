from __future__ import annotations

import hashlib
import os
from collections import Counter

from seedlib.config import load_config
from seedlib.crawl import crawl_source
from seedlib.sources import FOLDER, GIT, Source, parse_specs
from tests.repos import git, make_repo

CONFIG = load_config({"max_file_bytes": 1000}, {})


def reasons(result):
    return {d["path"]: d["reason"] for d in result.dropped}


def test_git_repo_files_and_ledger_reasons(tmp_path):
    repo = make_repo(tmp_path / "r", {
        "src/app.py": "def f():\n    return 1\n",
        "src/util.c": "int x = 1;\n",
        "Dockerfile": "FROM scratch\n",
        "data.py": b"\x00\x01\x02 binary with a source extension",
        "latin1.py": "caf\xe9 = 1\n".encode("latin-1"),
        "huge.py": b"x = 1\n" * 500,
        "LICENSE": "MIT\n",
        "model.bin.py": b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n",
    })
    os.symlink("/etc/passwd", repo / "escape.py")
    (repo / ("caf\xe9.py".encode("latin-1").decode("utf-8", "surrogateescape"))).write_bytes(b"x = 2\n")
    git(repo, "add", "-A")
    sub_sha = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{sub_sha},vendor/sub")
    git(repo, "commit", "-q", "-m", "more")

    result = crawl_source(Source("local/r", repo.as_uri(), GIT), CONFIG)

    assert result.repo["status"] == "ok" and result.repo["error"] is None
    assert result.repo["head_sha"] == git(repo, "rev-parse", "HEAD").strip()
    kept = {f["path"]: f for f in result.files}
    assert sorted(kept) == ["Dockerfile", "src/app.py", "src/util.c"]
    assert kept["src/app.py"]["lang"] == "Python" and kept["src/util.c"]["lang"] == "C"
    assert kept["Dockerfile"]["lang"] == "Dockerfile"
    body = b"def f():\n    return 1\n"
    assert kept["src/app.py"]["sha256"] == hashlib.sha256(body).hexdigest()
    assert kept["src/app.py"]["size"] == len(body) and kept["src/app.py"]["content"] == body.decode()
    assert reasons(result) == {
        "data.py": "binary", "latin1.py": "undecodable", "huge.py": "too_large", "LICENSE": "unknown_language",
        "model.bin.py": "lfs_pointer", "escape.py": "symlink", "caf\\xe9.py": "undecodable_path",
        "vendor/sub": "submodule",
    }
    by_path = {d["path"]: d for d in result.dropped}
    assert by_path["escape.py"]["sha256"] == hashlib.sha256(b"/etc/passwd").hexdigest()
    assert by_path["vendor/sub"]["sha256"] is None
    assert all(d["stage"] == "crawl" and d["duplicate_of"] is None for d in result.dropped)


def test_language_filter_and_file_cap(tmp_path):
    repo = make_repo(tmp_path / "r", {f"m{i}.py": f"x = {i}\n" for i in range(5)} | {"a.go": "package a\n"})
    cfg = load_config({"languages": ["Go"], "max_files_per_repo": 4}, {})
    result = crawl_source(Source("local/r", repo.as_uri(), GIT), cfg)
    assert [f["path"] for f in result.files] == ["a.go"]
    assert Counter(reasons(result).values()) == {"language_excluded": 3, "repo_file_cap": 2}


def test_a_refused_connection_gives_the_same_error_each_time():
    """curl's elapsed time is left out of the error: `repos` of a rerun must be the same bytes."""
    errors = {crawl_source(Source("remote/x", "http://127.0.0.1:9/x.git", GIT), CONFIG).repo["error"] for _ in range(3)}
    assert len(errors) == 1 and " ms" not in errors.pop()


def test_unreachable_empty_and_corrupt_repositories_fail_without_raising(tmp_path):
    missing = crawl_source(Source("local/none", (tmp_path / "none").as_uri(), GIT), CONFIG)
    assert missing.repo["status"] == "failed"
    assert missing.repo["error"].startswith("unreachable: git clone failed")
    assert "does not appear to be a git repository" in missing.repo["error"]  # git's line that says what happened, not its advice
    assert missing.files == [] and missing.dropped == []

    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    result = crawl_source(Source("local/empty", empty.as_uri(), GIT), CONFIG)
    assert result.repo["status"] == "failed" and result.repo["error"].startswith("empty: ")

    corrupt = make_repo(tmp_path / "corrupt", {"a.py": "a = 1\n", "b.py": "b = 2\n"})
    blob = git(corrupt, "rev-parse", "HEAD:b.py").strip()
    os.remove(corrupt / ".git" / "objects" / blob[:2] / blob[2:])
    result = crawl_source(Source("local/corrupt", corrupt.as_uri(), GIT), CONFIG)
    assert result.repo["status"] == "failed" and result.files == []
    assert result.repo["error"].startswith("corrupt: ")


def test_hooks_of_crawled_repositories_never_run(tmp_path):
    marker = tmp_path / "marker"
    repo = make_repo(tmp_path / "r", {"a.py": "a = 1\n"})
    for hook in ("post-checkout", "post-merge", "pre-commit", "post-receive", "reference-transaction"):
        h = repo / ".git" / "hooks" / hook
        h.write_text(f"#!/bin/sh\ntouch {marker}\n")
        h.chmod(0o755)
    result = crawl_source(Source("local/r", repo.as_uri(), GIT), CONFIG)
    assert result.repo["status"] == "ok" and len(result.files) == 1
    assert not marker.exists()


def test_plain_folder_never_follows_symlinks(tmp_path):
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "m.py").write_text("m = 1\n")
    (root / "__init__.py").write_text("")
    (root / ".hg").mkdir()
    (root / ".hg" / "store.py").write_text("ignored = 1\n")
    os.symlink(tmp_path, root / "loop")
    [source] = parse_specs([str(root)])
    assert source.kind == FOLDER and source.repo == "local/pkg"
    result = crawl_source(source, CONFIG)
    assert sorted(f["path"] for f in result.files) == ["__init__.py", "sub/m.py"]
    assert reasons(result) == {"loop": "symlink"}


def test_unreachable_remote_fails_fast_without_prompting():
    [src] = parse_specs(["http://user:s3cret@127.0.0.1:9/none.git"])
    assert src.url == "http://127.0.0.1:9/none.git"  # credentials never travel into datasets or logs
    result = crawl_source(src, load_config({"clone_timeout_s": 20}, {}))
    assert result.repo["status"] == "failed" and "s3cret" not in result.repo["error"]


def test_commits_of_qualifying_repositories(tmp_path):
    repo = make_repo(tmp_path / "r", {"a.py": "a = 1\n", "img.png": b"\x89PNG\x00\x00"}, message="first")
    (repo / "a.py").write_text("a = 1\nb = 2\n")
    git(repo, "mv", "img.png", "logo.png")
    make_repo(repo, {"new.py": "n = 0\n"}, message="second\n\nwith a body")
    git(repo, "rm", "-q", "new.py")
    git(repo, "commit", "-q", "-m", "third")
    src = Source("local/r", repo.as_uri(), GIT)

    # The report's preset needs 100 commits over 100 days: this repository does not qualify.
    result = crawl_source(src, CONFIG)
    assert result.commits == [] and result.commits_skipped == "3 commits < 100"

    cfg = load_config({"commit_min_commits": 2, "commit_min_days": 0, "commit_max_commits": 10}, {})
    result = crawl_source(src, cfg)
    assert [c["message"] for c in result.commits] == ["third", "second\n\nwith a body", "first"]
    third, second, first = result.commits
    assert third["parents"] == [second["sha"]] and first["parents"] == []
    assert [(f["old_path"], f["new_path"], f["change_type"]) for f in third["files"]] == [("new.py", None, "deleted")]
    changes = {f["change_type"]: f for f in second["files"]}
    assert set(changes) == {"modified", "added", "renamed"}
    assert changes["modified"]["before"] == "a = 1\n" and changes["modified"]["after"] == "a = 1\nb = 2\n"
    assert changes["modified"]["diff"].splitlines()[-1] == "+b = 2"
    assert (changes["renamed"]["old_path"], changes["renamed"]["new_path"]) == ("img.png", "logo.png")
    assert changes["renamed"]["skipped"] == "binary" and changes["renamed"]["diff"] is None
    assert first["files"][0]["old_path"] is None and first["files"][0]["diff"].startswith("--- /dev/null")


def test_a_50_mb_file_is_dropped_as_too_large(tmp_path):
    repo = make_repo(tmp_path / "r", {"big.py": b"# padding\n" * 5_000_000, "ok.py": "ok = 1\n"})
    result = crawl_source(Source("local/r", repo.as_uri(), GIT), load_config({}, {}))
    assert [f["path"] for f in result.files] == ["ok.py"]
    assert reasons(result) == {"big.py": "too_large"}
    assert result.dropped[0]["sha256"] == hashlib.sha256(b"# padding\n" * 5_000_000).hexdigest()


def test_partial_clone_never_downloads_blobs_over_the_cap(tmp_path):
    big = b"# big\n" * 400_000  # 2.4 MB, over the default max_file_bytes
    repo = make_repo(tmp_path / "r", {"big.py": big, "ok.py": "ok = 1\n"})
    make_repo(repo, {"big.py": big + b"# more\n", "ok.py": "ok = 2\n"}, message="grow")
    git(repo, "config", "uploadpack.allowFilter", "true")  # a remote that allows partial clones, like GitHub
    cfg = load_config({"commit_min_commits": 1, "commit_min_days": 0}, {})
    result = crawl_source(Source("local/r", repo.as_uri(), GIT), cfg)
    assert [f["path"] for f in result.files] == ["ok.py"]
    [drop] = result.dropped
    assert (drop["path"], drop["reason"], drop["sha256"]) == ("big.py", "too_large", None)  # never fetched
    changes = {c["new_path"]: c for c in result.commits[0]["files"]}
    assert changes["big.py"]["skipped"] == "too_large" and changes["big.py"]["diff"] is None
    assert changes["ok.py"]["diff"].endswith("+ok = 2\n")
