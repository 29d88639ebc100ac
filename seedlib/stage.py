"""Stage bookkeeping in one place (style.md: "one shape for every stage").

A stage's code only produces rows; this module writes them as Parquet parts, counts what went in, what
came out and why things were dropped (from the `dropped` rows themselves), times the stage, checks that
the counts add up, and records the result as `_STAGE.json`, which the manifest's `stages` is built from.

Executors use `PartWriter` inside a partition function; the driver uses `StageRecorder` around the stage.

Resume at the grain of the work: when a part (a Spark partition's output, an accelerate shard) has been
written whole, `PartWriter.close` records it as `_parts/part-PPPPP.json` with the rows it reports. A
retried task reads these markers first (`finished_parts`) and runs only the parts without one, so
finished work is never rewritten; a stage whose `_STAGE.json` exists is complete and is skipped whole.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable, Iterator

import pyarrow as pa

from seedlib import datasets, ledger
from seedlib.storage import Storage

STAGE_FILE = "_STAGE.json"
FAILED_FILE = "_FAILED.json"
PARTS_DIR = "_parts"
PLAN_FILE = "_PLAN.json"  # {"parts": n}: how many parts the stage will write (for progress views)

# What a partition function yields back to the driver: one row per part file written.
PARTS_SCHEMA = pa.schema([
    ("dataset", pa.string()),
    ("key", pa.string()),
    ("rows", pa.int64()),
    ("counts", pa.string()),  # JSON {reason: n} for dropped, {status: n} for repos, {} otherwise;
                              # plus {detail: {key: n}} a filter reported (summed into StageReport.details)
])


class StageError(RuntimeError):
    """A stage's bookkeeping does not add up, or its inputs are missing."""


@dataclass
class StageReport:
    name: str
    rows_in: int = 0
    rows_out: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    resumed_parts: int = 0            # parts reused from an interrupted attempt
    skipped: bool = False             # left out of this run (`--skip`): its input passed through
    input: str | None = None          # the stage whose `files` this stage read
    datasets: dict[str, dict] = field(default_factory=dict)  # name -> {"paths": [keys], "rows": n}
    details: dict[str, dict] = field(default_factory=dict)   # e.g. {"repos": {"ok": 3, "failed": 1}}

    def manifest_entry(self) -> dict:
        return {"name": self.name, "rows_in": self.rows_in, "rows_out": self.rows_out,
                "dropped": dict(sorted(self.dropped.items())), "seconds": round(self.seconds, 3),
                "resumed_parts": self.resumed_parts, "skipped": self.skipped,
                **({"details": self.details} if self.details else {})}

    @classmethod
    def from_dict(cls, data: dict) -> "StageReport":
        return cls(**data)


class PartWriter:
    """Writes one partition's rows of each dataset as `part-PPPPP-SSSS.parquet` (sorted, deterministic).

    Rows (dicts or Arrow tables; tables may carry columns a stage adds) are buffered per dataset and
    flushed every `rows_per_part` rows, so memory stays bounded.
    """

    def __init__(self, storage: Storage, stage_prefix: str, partition: int, rows_per_part: int = 20_000):
        self.storage, self.prefix, self.partition = storage, stage_prefix, partition
        self.rows_per_part = rows_per_part
        self.buffers: dict[str, list[pa.Table]] = {}
        self.buffered: Counter[str] = Counter()
        self.seq: Counter[str] = Counter()
        self.written: list[dict] = []
        self.details: dict[str, dict[str, Counter[str]]] = {}  # dataset -> detail -> key -> n

    def add_details(self, dataset: str, details: dict[str, dict[str, int]]) -> None:
        """Counts that go with this dataset's next part, e.g. {"unparsed": {"Markdown": 3}}.

        They are stored in the part's `counts` and summed by `StageRecorder.finish` into the report's
        `details`; if no row of the dataset is written, an empty part carries them (never lost).
        """
        for name, counts in details.items():
            bucket = self.details.setdefault(dataset, {}).setdefault(name, Counter())
            bucket.update({str(k): int(n) for k, n in counts.items()})

    def add(self, dataset: str, rows: Iterable[dict] | pa.Table) -> None:
        table = rows if isinstance(rows, pa.Table) else datasets.table(dataset, list(rows))
        if not table.num_rows:
            return
        self.buffers.setdefault(dataset, []).append(datasets.conform(dataset, table))
        self.buffered[dataset] += table.num_rows
        if self.buffered[dataset] >= self.rows_per_part:
            self._flush(dataset)

    def _flush(self, dataset: str) -> None:
        tables = self.buffers.pop(dataset, [])
        self.buffered[dataset] = 0
        details = self._take_details(dataset)
        if not tables:
            if not details:
                return
            tables = [datasets.table(dataset, [])]
        table = datasets.conform(dataset, pa.concat_tables(tables, promote_options="default"))
        key = f"{self.prefix}/{dataset}/part-{self.partition:05d}-{self.seq[dataset]:04d}.parquet"
        self.seq[dataset] += 1
        self.storage.write_parquet(key, table)
        self.written.append({"dataset": dataset, "key": key, "rows": table.num_rows,
                             "counts": json.dumps({**_counts(dataset, table), **details}, sort_keys=True)})

    def _take_details(self, dataset: str) -> dict[str, dict[str, int]]:
        return {name: dict(sorted(c.items())) for name, c in sorted(self.details.pop(dataset, {}).items())}

    def close(self) -> pa.RecordBatch:
        """Flush everything, then record the part as finished (the marker a retry skips it by)."""
        for dataset in sorted(set(self.buffers) | set(self.details)):
            self._flush(dataset)
        self.storage.write_json(marker_key(self.prefix, self.partition), {"part": self.partition,
                                                                          "rows": self.written})
        return pa.RecordBatch.from_pylist(self.written, schema=PARTS_SCHEMA)


def marker_key(stage_prefix: str, part: int) -> str:
    return f"{stage_prefix}/{PARTS_DIR}/part-{part:05d}.json"


def finished_parts(storage: Storage, stage_prefix: str) -> dict[int, list[dict]]:
    """Parts an earlier attempt of the stage finished: part -> the rows it reported (PARTS_SCHEMA)."""
    out = {}
    for key in storage.list(f"{stage_prefix}/{PARTS_DIR}"):
        marker = storage.read_json(key)
        out[int(marker["part"])] = marker["rows"]
    return out


def _counts(dataset: str, table: pa.Table) -> dict[str, int]:
    if dataset in datasets.LEDGERS:
        return dict(Counter(table.column("reason").to_pylist()))
    if dataset == "repos":  # "ok", or the failure reason that prefixes the error ("unreachable: ...")
        return dict(Counter("ok" if status == "ok" else (error or "failed").split(":", 1)[0]
                            for status, error in zip(table.column("status").to_pylist(),
                                                     table.column("error").to_pylist())))
    return {}


class StageRecorder:
    """Driver-side life of one stage in one run: skip if done, record the report or the failure.

    `output` is the dataset whose rows are the stage's `rows_out` (the CHAIN dataset of a chain stage),
    `ledger` the one whose rows are its drops.
    """

    def __init__(self, storage: Storage, stage_prefix: str, name: str, input_stage: str | None = None,
                 output: str = "files", ledger: str = "dropped"):
        self.storage, self.prefix, self.name, self.input = storage, stage_prefix, name, input_stage
        self.output, self.ledger = output, ledger
        self.started = time.monotonic()

    def done(self) -> StageReport | None:
        key = f"{self.prefix}/{STAGE_FILE}"
        return StageReport.from_dict(self.storage.read_json(key)) if self.storage.exists(key) else None

    def finish(self, parts: Iterable[dict], rows_in: int | None = None, details: dict[str, dict] | None = None,
               resumed_parts: int = 0, skipped: bool = False,
               passed: dict[str, dict] | None = None) -> StageReport:
        """Build, check and record the report from the parts the partitions wrote.

        rows_in: the number of items the stage read; None for a source stage (crawl), meaning
        "everything the stage saw" = output + ledger. `passed`: datasets handed on unchanged (a skipped
        stage passes its input's {"paths", "rows"} through).
        """
        report = StageReport(name=self.name, input=self.input, details=dict(details or {}),
                             resumed_parts=resumed_parts, skipped=skipped)
        dropped: Counter[str] = Counter()
        by_dataset: dict[str, list[tuple[str, int]]] = {}
        for part in parts:
            by_dataset.setdefault(part["dataset"], []).append((part["key"], int(part["rows"])))
            counts = json.loads(part["counts"] or "{}")
            for name, sub in [(k, v) for k, v in counts.items() if isinstance(v, dict)]:
                del counts[name]  # a filter's details, e.g. {"unparsed": {"Markdown": 3}}
                bucket = report.details.setdefault(name, {})
                for key, n in sub.items():
                    bucket[key] = bucket.get(key, 0) + n
            if part["dataset"] == self.ledger:
                dropped.update(counts)
            elif part["dataset"] == "repos":
                report.details.setdefault("repos", {})
                for status, n in counts.items():
                    report.details["repos"][status] = report.details["repos"].get(status, 0) + n
        for name in set(by_dataset) | {self.output, self.ledger}:
            entries = sorted(by_dataset.get(name, []))
            report.datasets[name] = {"paths": [k for k, _ in entries], "rows": sum(n for _, n in entries)}
        report.datasets.update(passed or {})
        report.dropped = dict(sorted(dropped.items()))
        unknown = sorted(r for r in report.dropped if r not in ledger.REASONS)
        if unknown:
            raise StageError(f"stage {self.name}: ledger reason {unknown[0]!r} is not registered in "
                             "seedlib/ledger.py REASONS")
        report.rows_out = report.datasets[self.output]["rows"]
        n_dropped = report.datasets[self.ledger]["rows"]
        report.rows_in = report.rows_out + n_dropped if rows_in is None else rows_in
        if report.rows_in != report.rows_out + n_dropped or sum(dropped.values()) != n_dropped:
            raise StageError(f"stage {self.name}: counts do not add up: {report.rows_in} in, "
                             f"{report.rows_out} out, {n_dropped} dropped")
        report.seconds = time.monotonic() - self.started
        self.storage.write_json(f"{self.prefix}/{STAGE_FILE}", asdict(report))
        return report

    def fail(self, message: str, retry: bool) -> None:
        """Leave the reason where `seed run` and the task can show it (the task log has the details)."""
        self.storage.write_json(f"{self.prefix}/{FAILED_FILE}", {"stage": self.name, "error": message,
                                                                 "retry": retry})


def read_report(storage: Storage, stage_prefix: str) -> StageReport:
    key = f"{stage_prefix}/{STAGE_FILE}"
    if not storage.exists(key):
        raise StageError(f"stage output {storage.uri(key)} is missing: the stage did not finish")
    return StageReport.from_dict(storage.read_json(key))


# A per-file filter: built once per partition (so parsers etc. are reused), then called per input part.
# It returns the kept files (a table; it may add columns) and the ledger rows for the dropped ones, and
# optionally a third element, {detail: {key: n}} counts (e.g. {"unparsed": {"Markdown": 3}}) that end up
# summed in the stage report's `details`.
FileFilter = Callable[[pa.Table], "tuple[pa.Table, list[dict]] | tuple[pa.Table, list[dict], dict]"]


def filter_parts(spec_json: str, stage: str, make_filter: Callable[..., FileFilter],
                 items: Iterable[tuple[int, str]], done: dict[int, list[dict]] | None = None,
                 item: str = "files", ledger: str = "dropped") -> Iterator[dict]:
    """Apply a per-file filter to some input parts; output part i is written from input part i.

    Runs inside a Spark task (mapPartitions over (index, key) pairs) or directly in a unit test. Naming
    outputs after inputs makes the result independent of how Spark grouped the parts. `done`: parts an
    earlier attempt finished (`finished_parts`), reported as they are. `item`/`ledger`: the pipeline's chain
    and ledger datasets (the web pipeline filters `web` pages into `web_dropped`).
    """
    done = done or {}
    from seedlib.run import RunSpec

    spec = RunSpec.from_json(spec_json)
    storage = spec.storage()
    config = spec.load_config()
    decide = None
    for index, key in items:
        if index in done:  # finished by an earlier attempt: report it, never rewrite it
            yield from done[index]
            continue
        decide = decide or make_filter(config)
        table = storage.read_parquet([key])
        kept, dropped, *extra = decide(table)
        if kept.num_rows + len(dropped) != table.num_rows:
            raise StageError(f"stage {stage}: filter returned {kept.num_rows} kept + {len(dropped)} dropped "
                             f"for {table.num_rows} input rows of {key}")
        writer = PartWriter(storage, spec.stage_prefix(stage), index, rows_per_part=max(1, table.num_rows))
        if extra and extra[0]:
            writer.add_details(item, extra[0])  # before the rows: they ride on the same part
        writer.add(item, kept)
        writer.add(ledger, dropped)
        yield from writer.close().to_pylist()
