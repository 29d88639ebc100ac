"""Incremental re-crawl: unchanged repositories are reused without a clone; changed ones get only new commits."""

from __future__ import annotations

import os

from seedlib.config import load_config
from seedlib.crawl import crawl_partition
from seedlib.crawl.incremental import find_previous
from seedlib.publish import publish_run
from tests.stages import pipeline_of
from seedlib.run import RunSpec
from seedlib.sources import parse_specs
from seedlib.stage import StageRecorder
from tests.repos import git, make_repo


def crawl_run(spec: RunSpec, sources: list[dict]):
    storage = spec.storage()
    previous = find_previous(storage, spec.snapshot, spec.config)
    if previous:
        sources = [s | {"prev_head": previous.heads.get(s["repo"])} for s in sources]
    rec = StageRecorder(storage, spec.stage_prefix("crawl"), "crawl")
    parts = list(crawl_partition(spec.to_json(), previous.parts if previous else None, None, 0, sources))
    rec.finish(parts)
    publish_run(spec, pipeline_of(spec, ["crawl"]))
    return previous


def table(storage, spec, name):
    from seedlib import manifest
    return manifest.read_dataset(storage, spec.snapshot, name).to_pylist()


def test_unchanged_repos_are_reused_and_changed_ones_get_new_commits_only(tmp_path):
    same = make_repo(tmp_path / "same", {"a.py": "a = 1\n", "b.py": "b = 1\n"})
    moving = make_repo(tmp_path / "moving", {"m.py": "m = 1\n"})
    config = load_config({"storage": (tmp_path / "data").as_uri(), "commit_min_commits": 1,
                          "commit_min_days": 0}, {})
    sources = [s.to_dict() for s in parse_specs([str(same), str(moving)])]

    first = RunSpec("2026-06-01", "run_a", config.public_dict())
    assert crawl_run(first, sources) is None
    storage = first.storage()
    files_before = [r for r in table(storage, first, "files") if r["repo"] == "local/same"]

    # "same" is damaged after the first crawl: a real re-crawl would now fail, a reuse does not clone.
    blob = git(same, "rev-parse", "HEAD:b.py").strip()
    os.remove(same / ".git" / "objects" / blob[:2] / blob[2:])
    make_repo(moving, {"n.py": "n = 2\n"}, message="second")

    second = RunSpec("2026-06-02", "run_b", config.public_dict())
    previous = crawl_run(second, sources)
    assert previous.snapshot == "2026-06-01" and set(previous.heads) == {"local/same", "local/moving"}
    repos = {r["repo"]: r for r in table(storage, second, "repos")}
    assert repos["local/same"]["status"] == "ok"
    assert [r for r in table(storage, second, "files") if r["repo"] == "local/same"] == files_before
    assert sorted(r["path"] for r in table(storage, second, "files") if r["repo"] == "local/moving") == \
        ["m.py", "n.py"]
    commits = [c for c in table(storage, second, "commit_history") if c["repo"] == "local/moving"]
    assert sorted(c["message"] for c in commits) == ["init", "second"]
    assert len([c for c in table(storage, second, "commit_history") if c["repo"] == "local/same"]) == 1

    # Other extraction settings: nothing is reused (the damaged repository now fails honestly).
    stricter = load_config({"storage": config.run.storage, "commit_min_commits": 1, "commit_min_days": 0,
                            "max_file_bytes": 100}, {})
    third = RunSpec("2026-06-03", "run_c", stricter.public_dict())
    assert crawl_run(third, sources) is None
    assert {r["repo"]: r["status"] for r in table(storage, third, "repos")}["local/same"] == "failed"
