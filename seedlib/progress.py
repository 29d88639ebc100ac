"""What `seed run` shows while the DAG runs: one line per stage, and a live bar for the running one.

Airflow's and Spark's own output goes to a log file (`capture_output`): file descriptors 1 and 2 are
pointed at it for the duration of the run, so everything the tasks, the spark-submit children and the
JVMs print lands there, while this view writes to the terminal through a copy of the original stdout.

The view reads what the stages record in storage (seedlib/stage.py): `_PLAN.json` (how many parts),
`_parts/` markers (parts finished), `_STAGE.json` (the report) and `_FAILED.json` (the reason).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from typing import Callable, Iterator, TextIO

from seedlib.pipelines import Pipeline
from seedlib.run import RunSpec
from seedlib.stage import FAILED_FILE, PARTS_DIR, PLAN_FILE, STAGE_FILE, StageReport


@contextlib.contextmanager
def capture_output(log_path: str, enabled: bool = True) -> Iterator[TextIO]:
    """Send fds 1 and 2 to `log_path` (appending); yield a stream to the real terminal."""
    if not enabled:
        yield sys.stdout
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    terminal = os.fdopen(os.dup(saved_out), "w", buffering=1, encoding="utf-8", errors="replace")
    try:
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        yield terminal
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        for fd in (saved_out, saved_err, log_fd):
            os.close(fd)
        terminal.close()


class StageView:
    """Polls the run's stage records in a thread and prints progress to `out`."""

    def __init__(self, pipeline: Pipeline, find_run: Callable[[], str | None], out: TextIO,
                 interval_s: float = 1.0):
        self.pipeline, self.find_run, self.out, self.interval = pipeline, find_run, out, interval_s
        self.live = out.isatty()
        self.printed: set[str] = set()
        self.started: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="seed-progress")
        self._bar = False
        self._run: tuple[str, RunSpec, object] | None = None  # (ref, spec, storage): one S3 client per run

    def __enter__(self) -> "StageView":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._poll()  # the last state, once more
        self._clear_bar()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._poll()
            except Exception:  # noqa: BLE001 - the view must never break the run it shows
                pass

    def _poll(self) -> None:
        ref = self.find_run()
        if not ref:
            return
        if self._run is None or self._run[0] != ref:
            spec = RunSpec.from_ref(ref)
            self._run = (ref, spec, spec.storage())
        _, spec, storage = self._run
        for stage in self.pipeline.stages:
            if stage.name in self.printed:
                continue
            prefix = spec.stage_prefix(stage.name)
            if storage.exists(f"{prefix}/{STAGE_FILE}"):
                report = StageReport.from_dict(storage.read_json(f"{prefix}/{STAGE_FILE}"))
                self._line(stage_line(report))
                self.printed.add(stage.name)
                continue
            if storage.exists(f"{prefix}/{FAILED_FILE}"):
                self._line(f"  {stage.name:<12} FAILED  {storage.read_json(f'{prefix}/{FAILED_FILE}')['error']}")
                self.printed.add(stage.name)
                return
            # the first stage without a report is the running one
            self.started.setdefault(stage.name, time.monotonic())
            if self.live:
                total = storage.read_json(f"{prefix}/{PLAN_FILE}")["parts"] \
                    if storage.exists(f"{prefix}/{PLAN_FILE}") else None
                done = len(storage.list(f"{prefix}/{PARTS_DIR}"))
                self._draw_bar(stage.name, done, total, time.monotonic() - self.started[stage.name])
            return

    def _line(self, text: str) -> None:
        self._clear_bar()
        print(text, file=self.out, flush=True)

    def _draw_bar(self, name: str, done: int, total: int | None, seconds: float) -> None:
        width = 24
        if total:
            filled = int(width * min(done, total) / total)
            bar = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} parts"
        else:
            bar = f"[{'.' * width}] {done} parts"
        self.out.write(f"\r  {name:<12} running {bar}  {seconds:5.0f}s ")
        self.out.flush()
        self._bar = True

    def _clear_bar(self) -> None:
        if self._bar:
            self.out.write("\r\033[K")
            self.out.flush()
            self._bar = False


def stage_line(report: StageReport) -> str:
    if report.skipped:
        return f"  {report.name:<12} skipped (--skip): input passed through"
    dropped = ", ".join(f"{k}={v}" for k, v in report.dropped.items()) or "-"
    resumed = f", {report.resumed_parts} parts resumed" if report.resumed_parts else ""
    return (f"  {report.name:<12} {report.rows_in:>7} in {report.rows_out:>7} out  "
            f"{report.seconds:6.1f}s{resumed}  dropped: {dropped}")
