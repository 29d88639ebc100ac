"""`seed run` wall time with Spark stages as one spark-submit each (before) against one shared Spark session
per run (after: `spark_submit=auto` on a local master), on the same input in the same bench run.

Inputs: the embedded default (`seed run` with no source: this repository plus installed packages), and a
~60 MB corpus of real code built here as git repositories (the standard library of each pyenv Python on
this machine, then site-packages, in a fixed order) so many files have near-duplicate older versions.
Each run gets a fresh working directory and storage, so nothing is reused between the two.

    .venv/bin/python bench/run_wall.py [--corpus-mb 60] [--only embedded|corpus] [--skip-scorer]

`--skip-scorer` leaves out label/train_scorer/score/quality on the corpus (those are accelerate stages, the
same in both modes; scoring 60 MB on two CPU cores takes longer than everything else together).
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = str(Path(sys.executable).parent / "seed")
GIT_ENV = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@example.com", "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
           "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z", "GIT_CONFIG_GLOBAL": "/dev/null",
           "GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin"}
SCORER_STAGES = ("label", "train_scorer", "score", "quality")


def corpus_repos(dest: Path, mb: float) -> list[Path]:
    """Git repositories of real Python code, about `mb` MB of .py files in all: one per pyenv standard
    library (oldest first), then the venv's site-packages."""
    roots = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/*/lib/python*")))
    roots.append(str(Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
                     / "site-packages"))
    budget, repos = int(mb * 1e6), []
    for i, root in enumerate(roots):
        if budget <= 0:
            break
        repo = dest / f"r{i:02d}-{Path(root).parts[-3] if 'pyenv' in root else 'site-packages'}"
        for path in sorted(glob.glob(f"{root}/**/*.py", recursive=True)):
            if "site-packages" in path and "site-packages" not in repo.name:
                continue
            data = Path(path).read_bytes()
            if budget <= 0:
                break
            if len(data) > 500_000:
                continue
            target = repo / os.path.relpath(path, root)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            budget -= len(data)
        if repo.exists():
            for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
                subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=GIT_ENV)
            repos.append(repo)
    return repos


def seed_run(work: Path, mode: str, args: list[str]) -> tuple[float, str]:
    """Seconds of one `seed run` in a fresh working directory with SEED_SPARK_SUBMIT=mode, and its tail."""
    work.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEED_", "AIRFLOW"))}
    env["SEED_SPARK_SUBMIT"] = mode
    t0 = time.perf_counter()
    proc = subprocess.run([SEED, "run", "--date", "2026-01-01", *args], cwd=work, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"seed run ({mode}) failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return seconds, proc.stdout


def compare(name: str, tmp: Path, args: list[str]) -> None:
    times = {}
    for mode in ("true", "auto"):
        times[mode], out = seed_run(tmp / f"{name}-{mode}", mode, args)
        stages = [ln.strip() for ln in out.splitlines() if "s)" in ln and ("done" in ln or " in, " in ln)]
        print(f"{name}, spark_submit={mode}: {times[mode]:.1f} s", flush=True)
        for ln in stages:
            print(f"    {ln}")
    print(f"{name}: before (spark-submit per stage) {times['true']:.1f} s, after (one session per run) "
          f"{times['auto']:.1f} s: {times['true'] / times['auto']:.2f}x", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus-mb", type=float, default=60)
    ap.add_argument("--only", choices=("embedded", "corpus"))
    ap.add_argument("--skip-scorer", action="store_true", help="corpus runs without the scorer's stages")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from dedup import machine

    print(f"machine: {machine()}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="seed-bench-run-"))
    try:
        if args.only in (None, "embedded"):
            compare("embedded default", tmp, [])
        if args.only in (None, "corpus"):
            repos = corpus_repos(tmp / "repos", args.corpus_mb)
            mb = sum(f.stat().st_size for r in repos for f in r.rglob("*.py")) / 1e6
            print(f"corpus: {len(repos)} repositories, {mb:.1f} MB of .py files", flush=True)
            skip = [a for s in SCORER_STAGES for a in ("--skip", s)] if args.skip_scorer else []
            compare(f"{mb:.0f} MB corpus", tmp, [a for r in repos for a in ("--source", str(r))] + skip)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
