"""A small pipeline for tests of the quality stages: a corpus stage (real files from Python's standard
library, plus deliberately poor and zero-policy files) followed by the snapshot pipeline's own quality
stages, declared exactly as seedlib/pipelines.py declares them.

    corpus (python) -> label -> train_scorer -> score -> quality
"""

from __future__ import annotations

import hashlib
import random
import sysconfig
from pathlib import Path

from seedlib.pipelines import FILES_STAGE, SNAPSHOTS, Pipeline, Stage
from seedlib.stage import PartWriter

PARTS = 4


def _file(repo: str, path: str, lang: str, text: str) -> dict:
    data = text.encode()
    return {"repo": repo, "path": path, "lang": lang, "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data), "content": text}


def poor_python(i: int) -> str:
    """One long function, single-letter names, print debugging, commented-out code."""
    rnd = random.Random(i)
    lines = ["def f(a, b, c):", "    x = 0"]
    for j in range(20 + i % 15):
        lines.append(f"    if a > {rnd.randint(1, 99)}:")
        lines.append(f"        x = x + {rnd.randint(1, 999)} * b")
        lines.append(f"        print('debug', x, {j})")
        lines.append(f"        # x = x - {rnd.randint(1, 9)}")
    lines.append("    return x")
    return "\n".join(lines) + "\n"


def data_python(i: int) -> str:
    rnd = random.Random(1000 + i)
    rows = ",\n".join(f"    ({rnd.randint(0, 9999)}, {rnd.random():.6f}, 'k{rnd.randint(0, 99)}')" for _ in range(60))
    return f"TABLE_{i} = [\n{rows}\n]\n"


def stdlib_files(n: int) -> list[tuple[str, str]]:
    """n real, well-kept Python modules of the running interpreter's standard library (sorted by path)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    found = []
    for path in sorted(root.glob("*.py")):
        text = path.read_text("utf-8", errors="replace")
        if 2_000 < len(text) < 40_000:
            found.append((path.name, text))
        if len(found) == n:
            break
    return found


def corpus(good: int = 48, poor: int = 24, data: int = 24) -> list[dict]:
    files = [_file("std/lib", f"Lib/{name}", "Python", text) for name, text in stdlib_files(good)]
    files += [_file("poor/code", f"p{i:03d}.py", "Python", poor_python(i)) for i in range(poor)]
    files += [_file("data/dump", f"d{i:03d}.py", "Python", data_python(i)) for i in range(data)]
    return files


def corpus_body(ctx):
    files = corpus()
    ctx.plan(PARTS)
    for part in range(PARTS):
        if part in ctx.done:
            continue
        writer = PartWriter(ctx.storage, ctx.prefix, part)
        writer.add("files", files[part::PARTS])
        writer.close()
    return ctx.all_parts(), None, {}


QUALITY = Pipeline(name="quality-test", dag_id="quality_test", prefix="snapshots",
                   prepare=SNAPSHOTS.prepare, sources=False, stages=(
    Stage("corpus", engine="python", body="tests.quality:corpus_body", writes=FILES_STAGE),
    *(SNAPSHOTS.stage(n) for n in ("label", "train_scorer", "score", "quality")),
))
