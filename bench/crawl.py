"""Crawl extraction speed: our file extraction from a bare clone vs `git archive | tar -x` of the same repos.

Builds git repositories from installed packages' source folders (real code), clones each bare once, then
times, per repository and in the same run:
  ours      list the HEAD tree, read every blob through one `git cat-file --batch`, hash, classify,
            decode (seedlib.crawl, what the Spark crawl does after its clone)
  baseline  `git archive HEAD | tar -x` into a scratch folder (the plain way to get the files out)

    .venv/bin/python bench/crawl.py [--packages pip,numpy,...] [--repeat 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from seedlib.config import load_config
from seedlib.crawl import _Collector, CrawlResult
from seedlib.crawl import git
from seedlib.sources import GIT, Source

DEFAULT = "pip,numpy,pandas,sympy,transformers,pyspark"
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@x", "GIT_CONFIG_GLOBAL": "/dev/null"}


def build_repo(package: str, dest: Path) -> Path | None:
    spec = importlib.util.find_spec(package)
    if not spec or not spec.submodule_search_locations:
        return None
    src = Path(list(spec.submodule_search_locations)[0])
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.jar"))
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run(["git", "-C", str(dest), *args], check=True, env=GIT_ENV, capture_output=True)
    return dest


def ours(gitdir: Path, config) -> tuple[int, int]:
    """Extraction exactly as seedlib.crawl does it after the clone; returns (files, bytes read)."""
    result = CrawlResult(repo={})
    out = _Collector(Source("bench/x", "", GIT), config, result)
    sha = git.head_sha(gitdir)
    entries = [e for e in git.list_tree(gitdir, sha) if e.mode not in ("160000", "120000")]
    total = 0
    for e, (_sha, data) in zip(entries, git.read_blobs(gitdir, [e.sha for e in entries])):
        total += len(data)
        out.regular(e.path, data)
    return len(entries), total


def baseline(gitdir: Path, scratch: Path) -> None:
    scratch.mkdir()
    archive = subprocess.Popen(["git", "-C", str(gitdir), "archive", "HEAD"], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(scratch)], stdin=archive.stdout, check=True)
    archive.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--packages", default=DEFAULT, help=f"installed packages to turn into repos ({DEFAULT})")
    p.add_argument("--repeat", type=int, default=3, help="timed repetitions (best is reported)")
    args = p.parse_args()
    config = load_config({"max_file_bytes": 10_000_000}, {})
    work = Path(tempfile.mkdtemp(prefix="seed-bench-crawl-"))
    try:
        clones = []
        for name in args.packages.split(","):
            repo = build_repo(name, work / "src" / name)
            if repo is None:
                print(f"skip {name}: not installed")
                continue
            clone = work / "clones" / f"{name}.git"
            git.clone_bare(repo.as_uri(), clone, timeout=600)
            clones.append((name, clone))
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}, git {subprocess.run(['git', '--version'], capture_output=True, text=True).stdout.split()[-1]}")
        print(f"{'repo':<14}{'files':>8}{'MB':>9}{'ours MB/s':>11}{'archive MB/s':>14}{'ratio':>8}")
        tot_files = tot_bytes = tot_ours = tot_base = 0.0
        for name, clone in clones:
            best_ours = best_base = float("inf")
            for i in range(args.repeat):
                t = time.perf_counter()
                files, nbytes = ours(clone, config)
                best_ours = min(best_ours, time.perf_counter() - t)
                scratch = work / f"x-{name}-{i}"
                t = time.perf_counter()
                baseline(clone, scratch)
                best_base = min(best_base, time.perf_counter() - t)
                shutil.rmtree(scratch)
            mb = nbytes / 1e6
            print(f"{name:<14}{files:>8}{mb:>9.1f}{mb / best_ours:>11.1f}{mb / best_base:>14.1f}"
                  f"{best_base / best_ours:>8.2f}")
            tot_files, tot_bytes = tot_files + files, tot_bytes + nbytes
            tot_ours, tot_base = tot_ours + best_ours, tot_base + best_base
        mb = tot_bytes / 1e6
        print(f"{'total':<14}{int(tot_files):>8}{mb:>9.1f}{mb / tot_ours:>11.1f}{mb / tot_base:>14.1f}"
              f"{tot_base / tot_ours:>8.2f}")
        print(f"ours: {tot_files / tot_ours:.0f} files/s, {mb / tot_ours:.1f} MB/s on one core "
              f"(target >= 50 MB/s); ratio = archive time / our time (>1: we are faster)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
