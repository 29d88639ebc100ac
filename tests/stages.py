"""Write a crawl stage's output directly (no git, no Spark), for tests of the stages after it."""

from __future__ import annotations

from seedlib.stage import PartWriter, StageRecorder


def write_crawl(spec, files, repos=(), dropped=(), partitions=2, rows_per_part=2):
    """Files, repos and ledger rows spread over `partitions`; files added one by one, so parts are cut
    at `rows_per_part`. Returns the recorded StageReport."""
    storage = spec.storage()
    rec = StageRecorder(storage, spec.stage_prefix("crawl"), "crawl")
    rec.reset()
    parts = []
    for p in range(partitions):
        w = PartWriter(storage, spec.stage_prefix("crawl"), p, rows_per_part=rows_per_part)
        for row in files[p::partitions]:
            w.add("files", [row])
        w.add("dropped", list(dropped)[p::partitions])
        w.add("repos", list(repos)[p::partitions])
        parts.extend(w.close().to_pylist())
    return rec.finish(parts)
