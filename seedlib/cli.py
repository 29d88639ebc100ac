"""The `seed` command (also `python -m seedlib`).

    seed run     run the nightly DAG `seed_snapshot` end to end, in this process, through Airflow
    seed ui      Airflow (api-server, scheduler, dag-processor, triggerer) on 127.0.0.1 with our DAGs
    seed airflow the airflow CLI against the same embedded deployment (unpause, backfill create, ...)
    seed status  published snapshots with per-stage counts
    seed gc      delete unpublished run prefixes older than a grace period
    seed label         judge a sample of a published snapshot with the oracle (the scorer's labels)
    seed train-scorer  run the DAG `seed_train_scorer`: label, train, publish a scorer version
    seed score         print `path<TAB>score` for files, with the latest published scorer
    seed export        run the DAG `seed_export`: a published snapshot as a training mixture of shards
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Any, Sequence

from seedlib import cleanup, embedded, manifest, processes
from seedlib.config import ConfigError, Secrets, help_for, load_config, redact
from seedlib.pipelines import EXPORTS, SCORERS, SNAPSHOTS, Pipeline
from seedlib.run import parse_snapshot_date, snapshot_prefix, storage_for
from seedlib.sources import parse_specs
from seedlib.stage import FAILED_FILE
from seedlib.storage import StorageError, probe


def _config_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="YAML configuration file (also SEED_CONFIG)")
    p.add_argument("--storage", metavar="URI", help=help_for("storage"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seed", description="Curate code-LLM training data: crawl, filter and publish snapshots "
                                 "with Airflow and Spark. Configuration: flag > SEED_* env > YAML > defaults.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the seed_snapshot DAG end to end (embedded Airflow + Spark)",
                         description="Runs the real seed_snapshot DAG through Airflow's dag.test(), on "
                                     "SQLite and Spark local[*] unless configured otherwise. Exits 0 only "
                                     "when the snapshot was published.")
    run.add_argument("--date", metavar="YYYY-MM-DD", help="snapshot date (default: the latest nightly "
                                                          "interval's start, i.e. yesterday after 02:00 UTC)")
    run.add_argument("--source", action="append", metavar="SPEC", default=[],
                     help="repository to crawl, repeatable: git URL, file:///abs/repo, local path, @FILE "
                          "(default: this project's repository plus installed packages pip vendors)")
    run.add_argument("--language", action="append", metavar="LANG", default=[],
                     help="keep only these languages, repeatable (e.g. Python; checked against the table)")
    run.add_argument("--skip", action="append", metavar="STAGE", default=[],
                     help=f"leave a stage out, repeatable ({', '.join(SNAPSHOTS.names[1:])}): its input "
                          "passes through unchanged and the manifest marks it skipped")
    run.add_argument("--fresh", action="store_true",
                     help="start a new run instead of resuming the date's unfinished one with the same inputs")
    run.add_argument("--allow-empty", action="store_true", help=help_for("allow_empty"))
    run.add_argument("--verbose", action="store_true",
                     help="stream Airflow's and Spark's logs here instead of the compact view (they always "
                          "go to the log file too)")
    _config_flags(run)

    ui = sub.add_parser("ui", help="start Airflow on 127.0.0.1 to trigger runs and backfills",
                        description="Starts Airflow's scheduler, dag-processor, triggerer and API server "
                                    "(what `airflow standalone` starts, without its log servers) on "
                                    "127.0.0.1 with the project's DAGs and the embedded SQLite database. "
                                    "Ctrl-C or SIGTERM stops all of them.")
    ui.add_argument("--port", type=int, default=8080, help="API server / UI port (default 8080)")
    _config_flags(ui)

    af = sub.add_parser("airflow", help="run the airflow CLI against the embedded deployment",
                        description="Runs `airflow ARGS...` with the same environment `seed ui` uses, e.g. "
                                    "`seed airflow dags unpause seed_snapshot` or `seed airflow backfill create "
                                    "--dag-id seed_snapshot --from-date 2026-05-01 --to-date 2026-05-03`.")
    af.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the airflow command")

    status = sub.add_parser("status", help="list published snapshots with per-stage counts")
    status.add_argument("--date", metavar="YYYY-MM-DD", help="only this snapshot, with stage details")
    _config_flags(status)

    label = sub.add_parser("label", help="judge a sample of a published snapshot with the oracle",
                           description="Samples files of a published snapshot, stratified by language, and "
                                       "asks the configured oracle (quality_oracle: rubric, or an "
                                       "OpenAI-compatible server) for a 0-10 rating each, in this process. "
                                       "`seed train-scorer` with the same date and configuration trains on "
                                       "these labels (it resumes the same run).")
    label.add_argument("--date", metavar="YYYY-MM-DD", help="the snapshot to label (default: the latest published)")
    label.add_argument("--fresh", action="store_true", help="label again instead of reusing an unfinished run")
    _config_flags(label)

    train = sub.add_parser("train-scorer", help="label a snapshot and train a quality scorer (DAG seed_train_scorer)",
                           description="Runs the real seed_train_scorer DAG through Airflow's dag.test(): "
                                       "label -> train_scorer (accelerate) -> publish "
                                       "<root>/scorers/<version>/. Exits 0 only when the scorer was published.")
    train.add_argument("--date", metavar="YYYY-MM-DD", help="the snapshot to label (default: the latest published)")
    train.add_argument("--fresh", action="store_true",
                       help="start a new run instead of resuming the date's unfinished one with the same inputs")
    train.add_argument("--verbose", action="store_true", help="stream the logs here instead of the compact view")
    _config_flags(train)

    score = sub.add_parser("score", help="print path<TAB>score for files with the latest published scorer",
                           description="Scores files outside any snapshot with a published scorer (the "
                                       "latest, or quality_scorer), so you can ask why a file scored low.")
    score.add_argument("--files", nargs="+", metavar="PATH", required=True, help="files to score")
    _config_flags(score)

    export = sub.add_parser("export", help="export a published snapshot as a training mixture (DAG seed_export)",
                            description="Runs the real seed_export DAG through Airflow's dag.test(): mixture "
                                        "(sampling weights, FIM, token counts) -> shards (Parquet, JSONL.gz) -> "
                                        "publish <root>/snapshots/dt=D/export/<phase>/_MANIFEST.json. Exits 0 "
                                        "only when the export was published (docs/export.md).")
    export.add_argument("--date", metavar="YYYY-MM-DD",
                        help="the snapshot to export (default: the latest published)")
    export.add_argument("--phase", choices=("regular", "continued"), help=help_for("export_phase"))
    export.add_argument("--weights", metavar="SOURCE=W,...", help=help_for("export_weights"))
    export.add_argument("--fim-rate", type=float, metavar="RATE", help=help_for("fim_rate"))
    export.add_argument("--tokenizer", metavar="NAME_OR_DIR", help=help_for("export_tokenizer"))
    export.add_argument("--fresh", action="store_true",
                        help="start a new run instead of resuming the date's unfinished one with the same inputs")
    export.add_argument("--verbose", action="store_true", help="stream the logs here instead of the compact view")
    _config_flags(export)

    gc = sub.add_parser("gc", help="delete unpublished run prefixes (failed, killed or superseded runs)")
    gc.add_argument("--older-than-hours", type=float, default=24.0,
                    help="only runs started at least this long ago (default 24; protects running ones)")
    gc.add_argument("--dry-run", action="store_true", help="list what would be deleted")
    _config_flags(gc)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    secrets = Secrets.from_env(os.environ)
    try:
        commands = {"run": cmd_run, "ui": cmd_ui, "airflow": cmd_airflow, "status": cmd_status, "gc": cmd_gc,
                    "label": cmd_label, "train-scorer": cmd_train_scorer, "score": cmd_score,
                    "export": cmd_export}
        return commands[args.command](args)
    except (ConfigError, StorageError) as e:
        print(f"seed {args.command}: error: {redact(str(e), secrets)}", file=sys.stderr)
        return 2


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"storage": args.storage}
    if getattr(args, "source", None):
        out["sources"] = args.source
    if getattr(args, "language", None):
        out["languages"] = args.language
    if getattr(args, "allow_empty", False):
        out["allow_empty"] = True
    return out


def cmd_run(args: argparse.Namespace) -> int:
    environ = dict(os.environ)
    # Everything that can be checked before Airflow starts is checked here, so bad input fails in seconds:
    # configuration (keys, types, language names), local sources, skipped stages, and the storage root.
    config = load_config(_overrides(args), environ, args.config)
    parse_specs(config.run.sources)
    try:
        SNAPSHOTS.skipped(args.skip)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    probe(storage_for(config, quick=True))
    conf = _run_conf(args, {k: v for k, v in _overrides(args).items() if v},
                     parse_snapshot_date(args.date, "--date") if args.date else None)
    if args.skip:
        conf["skip_stages"] = list(args.skip)

    code, outcome, ref, log_path = _run_dag(SNAPSHOTS, conf, config, environ, args.verbose)
    storage = storage_for(config)
    if code == 0:
        m = manifest.read(storage, outcome.snapshot)
        print()
        print(f"seed run: snapshot {outcome.snapshot} published")
        print(format_snapshot(m, details=True))
        failed = failed_repositories(storage, m)
        if failed:
            print(f"\nrepositories that failed ({len(failed)}):")
            print(_table(["repo", "error"], [[r, e] for r, e in failed]))
        print(f"\nfull log: {log_path}")
    return code


def _run_dag(pipeline: Pipeline, conf: dict, config, environ: dict, verbose: bool):
    """One run of a pipeline's real DAG in this process, with the compact view; on failure the table of
    stages and reasons. Returns (exit code, outcome, the run's ref, the log file)."""
    home = embedded.seed_home(environ)
    env = embedded.environment(environ, home=home, spark_master=config.run.spark_master)
    embedded.apply(env)
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    command = {SNAPSHOTS.name: "run", EXPORTS.name: "export"}.get(pipeline.name, "train-scorer")
    log_path = logs / f"{command}-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}.log"
    print(f"seed {command}: storage {config.run.storage}; full log {log_path}", flush=True)
    from seedlib import airflow_support, dagrun, progress

    logical_date = dt.datetime.now(dt.timezone.utc)
    with progress.capture_output(str(log_path), enabled=not verbose) as terminal:
        dagrun.migrate_db()
        airflow_support.PREPARED.clear()  # this process runs one DAG run: the run its prepare task resolves
        with progress.StageView(pipeline, lambda: next(iter(airflow_support.PREPARED.values()), None), terminal):
            outcome = dagrun.run_once(conf, logical_date=logical_date, dag_id=pipeline.dag_id)
    storage = storage_for(config)
    ref = airflow_support.PREPARED.get(outcome.run_id)
    if outcome.state == "success" and outcome.snapshot:
        return 0, outcome, ref, log_path
    print(f"\nseed {command}: FAILED (run {outcome.run_id}); nothing was published for this run", file=sys.stderr)
    reasons = airflow_support.FAILURES.get(outcome.run_id, {})
    rows = []
    for task_id in ["prepare", *pipeline.names, "publish"]:
        state = outcome.task_states.get(task_id)
        if state == "success":
            rows.append([task_id, "ok"])
        elif state == "failed":
            rows.append([task_id, "FAILED: " + (reasons.get(task_id) or _stage_failure(storage, ref, task_id, pipeline))])
        else:
            rows.append([task_id, "not run"])
    print(_table(["stage", "outcome"], rows), file=sys.stderr)
    print(f"\nfull log: {log_path}", file=sys.stderr)
    return 1, outcome, ref, log_path


def _latest_snapshot(storage, date: str | None, flag: str = "--date") -> str:
    if date:
        return parse_snapshot_date(date, flag)
    dates = manifest.list_snapshots(storage)
    if not dates:
        raise ConfigError(f"no snapshot is published under {storage.root}: run `seed run` first")
    return dates[-1]


def cmd_label(args: argparse.Namespace) -> int:
    from seedlib.run import prepare_run
    from seedlib.runner import StageFailed, launch, summary

    environ = dict(os.environ)
    config = load_config(_overrides(args), environ, args.config)
    storage = storage_for(config)
    probe(storage_for(config, quick=True))
    params = {**{k: v for k, v in _overrides(args).items() if v},
              "snapshot_date": _latest_snapshot(storage, args.date), "fresh": args.fresh,
              **({"config_file": os.path.abspath(args.config)} if args.config else {})}
    spec = prepare_run(params, None, f"manual__label_{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}", environ,
                       pipeline=SCORERS.name)
    try:
        report = launch(SCORERS.name, "label", spec.ref())
    except StageFailed as e:
        print(f"seed label: FAILED: {e.message}", file=sys.stderr)
        return 1
    print(f"seed label: {summary(report)}; {report.details.get('labels', {})}")
    print(f"labels: {storage.uri(spec.stage_prefix('label'))}/labels/")
    print(f"`seed train-scorer --date {spec.snapshot}` with the same configuration trains on them")
    return 0


def _run_conf(args: argparse.Namespace, values: dict[str, Any], date: str | None) -> dict[str, Any]:
    """The DAG run's conf of a command: its configuration values, the snapshot date, the config file and
    --fresh (the run params of seedlib.run.RUN_PARAMS)."""
    conf: dict[str, Any] = dict(values)
    if date:
        conf["snapshot_date"] = date
    if args.config:
        conf["config_file"] = os.path.abspath(args.config)
    if args.fresh:
        conf["fresh"] = True
    return conf


def cmd_train_scorer(args: argparse.Namespace) -> int:
    environ = dict(os.environ)
    config = load_config(_overrides(args), environ, args.config)
    probe(storage_for(config, quick=True))
    storage = storage_for(config)
    conf = _run_conf(args, {k: v for k, v in _overrides(args).items() if v}, _latest_snapshot(storage, args.date))
    code, outcome, _, log_path = _run_dag(SCORERS, conf, config, environ, args.verbose)
    if code == 0:
        from seedlib.quality import scorers

        m = manifest.read(storage, outcome.snapshot, scorers.PREFIX)
        print(f"\nseed train-scorer: scorer {outcome.snapshot} published at "
              f"{storage.uri(snapshot_prefix(outcome.snapshot, scorers.PREFIX))}/_MANIFEST.json")
        print(_table(["metric", "value"], [[k, str(v)] for k, v in sorted(m["scorer"].items())]))
        print(f"\nfull log: {log_path}")
    return code


def cmd_export(args: argparse.Namespace) -> int:
    from seedlib.run import RunSpec, manifest_key

    environ = dict(os.environ)
    flags = {"export_phase": args.phase, "export_weights": args.weights, "fim_rate": args.fim_rate,
             "export_tokenizer": args.tokenizer}
    overrides = {**_overrides(args), **{k: v for k, v in flags.items() if v is not None}}
    config = load_config(overrides, environ, args.config)
    probe(storage_for(config, quick=True))
    storage = storage_for(config)
    date = _latest_snapshot(storage, args.date)
    if manifest.read(storage, date) is None:
        published = manifest.list_snapshots(storage)
        raise ConfigError(f"--date {date}: no snapshot is published for that date under {storage.uri('snapshots')} "
                          f"(published: {', '.join(published) or 'none'}); run `seed run --date {date}` first")
    conf = _run_conf(args, {k: v for k, v in overrides.items() if v not in (None, "")}, date)
    code, outcome, ref, log_path = _run_dag(EXPORTS, conf, config, environ, args.verbose)
    if code == 0:
        publications = RunSpec.from_ref(ref).publications if ref else f"exports/{config.export.phase}"
        m = manifest.read(storage, date, publications)
        e = m["export"]
        print(f"\nseed export: the {e['phase']} export of snapshot {date} is published: {e['rows']} rows, "
              f"{e['tokens']} tokens ({e['tokenizer']['name']}) in {e['shards']} shards "
              f"({', '.join(e['formats'])}), fim_rate {e['fim_rate']}")
        from seedlib.samples.settings import SOURCES

        rows = [[s, "yes" if c["published"] else "no", f"{c['weight']:g}", str(c["input_rows"]), str(c["rows"]),
                 str(c["fim"]), str(c["characters"]), str(c["tokens"])]
                for s, c in sorted(e["sources"].items(), key=lambda sc: SOURCES.index(sc[0]))]
        print(_table(["source", "published", "weight", "input", "rows", "fim", "characters", "tokens"], rows))
        print(f"\nexport: {storage.uri(manifest_key(date, publications))}")
        print(f"full log: {log_path}")
    return code


def cmd_score(args: argparse.Namespace) -> int:
    from seedlib.quality import scorers
    from seedlib.quality.score import score_texts

    config = load_config(_overrides(args), dict(os.environ), args.config)
    storage = storage_for(config)
    q = config.quality
    if "://" in q.scorer:
        scorer = scorers.load_uri(q.scorer, config)
    else:
        version = q.scorer or scorers.latest(storage)
        if version is None:
            raise ConfigError(f"no scorer is published under {storage.root}: run `seed run` or `seed train-scorer`")
        scorer = scorers.load_version(storage, version)
    texts, paths, code = [], [], 0
    for path in args.files:
        try:
            texts.append(open(path, encoding="utf-8", errors="replace").read())
            paths.append(path)
        except OSError as e:
            print(f"seed score: cannot read {path}: {e.strerror or e}", file=sys.stderr)
            code = 1
    scores = score_texts(scorer.folder, texts, scorer.info.get("max_tokens", q.max_tokens), q.score_batch_tokens)
    for path, value in zip(paths, scores):
        print(f"{path}\t{value:.3f}")
    return code


def _stage_failure(storage, ref: str | None, task_id: str, pipeline: Pipeline = SNAPSHOTS) -> str:
    """The reason a stage recorded in its prefix, when the task's exception did not reach us."""
    from seedlib.run import RunSpec

    if ref and task_id in pipeline.names:
        key = f"{RunSpec.from_ref(ref).stage_prefix(task_id)}/{FAILED_FILE}"
        try:
            if storage.exists(key):
                return storage.read_json(key)["error"]
        except StorageError:
            pass
    return "see the log file"


def failed_repositories(storage, m: dict) -> list[tuple[str, str]]:
    """(repo, error) of the repositories a published snapshot could not crawl."""
    if not m["datasets"].get("repos", {}).get("rows"):
        return []
    repos = manifest.read_dataset(storage, m["snapshot"], "repos", columns=["repo", "status", "error"])
    return [(r["repo"], r["error"] or "") for r in repos.to_pylist() if r["status"] != "ok"]


def cmd_ui(args: argparse.Namespace) -> int:
    """Airflow's components in process groups of their own, stopped with everything they started when
    this process gets SIGINT/SIGTERM/SIGHUP or leaves for any other reason (seedlib/processes.py)."""
    environ = dict(os.environ)
    config = load_config(_overrides(args), environ, args.config)
    _check_port_free(args.port, "--port")
    env = embedded.environment(environ, home=embedded.seed_home(environ), spark_master=config.run.spark_master,
                               api_port=args.port, log_port=_free_port())
    if args.storage:
        env["SEED_STORAGE"] = config.run.storage
    if args.config:
        env["SEED_CONFIG"] = os.path.abspath(args.config)
    # One loopback log server per configured port (a user may have set the two apart).
    log_ports = sorted({int(env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"]),
                        int(env["AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"])})
    for port in log_ports:
        _check_port_free(port, "[logging] worker_log_server_port / trigger_log_server_port")
    airflow = os.path.join(os.path.dirname(sys.executable), "airflow")
    url = f"http://127.0.0.1:{args.port}"
    print(f"seed ui: starting Airflow on {url} (home {env['AIRFLOW_HOME']}); Ctrl-C to stop", flush=True)
    previous = {s: signal.signal(s, processes.raise_stop) for s in processes.STOP_SIGNALS}
    try:
        with processes.Group(label="seed ui") as group:
            group.start("db migrate", [airflow, "db", "migrate"], env, echo=False)
            if rc := group.wait("db migrate"):
                print(f"seed ui: airflow db migrate failed (exit {rc}):\n{group.tail('db migrate')}",
                      file=sys.stderr)
                return 1
        with processes.Group(label="seed ui") as group:
            for port in log_ports:
                name = "log-server" if len(log_ports) == 1 else f"logs:{port}"
                group.start(name, embedded.log_server_command(port), env)
            for name, argv in embedded.UI_COMPONENTS.items():
                # Stopped last: tasks that are being stopped report their final state through it.
                group.start(name, [airflow, *argv], env, last=name == "api-server")
            ready = False
            while (exited := group.exited()) is None:
                if not ready and _answers(f"{url}/api/v2/monitor/health"):
                    ready = True
                    print(f"seed ui: Airflow is ready at {url}; Ctrl-C to stop", flush=True)
                time.sleep(1)
            name, rc = exited
            print(f"seed ui: Airflow's {name} exited (code {rc}; its output is above), stopping the other "
                  "components", file=sys.stderr, flush=True)
            return 1
    except processes.Stop as stop:  # the group has stopped everything by now
        signal_name = str(stop)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    print(f"seed ui: {signal_name}: Airflow stopped", flush=True)
    return 0


def _check_port_free(port: int, setting: str) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            raise ConfigError(f"{setting}: 127.0.0.1:{port} is taken ({e.strerror}), by another `seed ui` or "
                              "Airflow? Stop it or choose another port") from None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except (OSError, http.client.HTTPException):
        return False


def cmd_airflow(args: argparse.Namespace) -> int:
    environ = dict(os.environ)
    env = embedded.environment(environ, home=embedded.seed_home(environ))
    airflow = os.path.join(os.path.dirname(sys.executable), "airflow")
    return subprocess.run([airflow, *args.args], env=env).returncode


def cmd_status(args: argparse.Namespace) -> int:
    config = load_config(_overrides(args), dict(os.environ), args.config)
    storage = storage_for(config)
    dates = [parse_snapshot_date(args.date, "--date")] if args.date else manifest.list_snapshots(storage)
    manifests = [m for m in (manifest.read(storage, d) for d in dates) if m]
    if not manifests:
        print(f"no published snapshots under {storage.root}")
        return 1 if args.date else 0
    print(f"published snapshots under {storage.root}\n")
    if args.date:
        print(format_snapshot(manifests[0], details=True))
        return 0
    rows = [[m["snapshot"], m["created_at"], str(m["datasets"]["files"]["rows"]), _corpus_rows(m),
             str(m["datasets"]["dropped"]["rows"]), str(m["datasets"]["repos"]["rows"]),
             " > ".join(f"{s['name']} {s['rows_in']}->{s['rows_out']}" for s in m["stages"])]
            for m in manifests]
    print(_table(["snapshot", "created_at", "new files", "corpus", "dropped", "repos", "stages (in->out)"], rows))
    return 0


def _corpus_rows(m: dict) -> str:
    """Files in the corpus as of the snapshot (its new files plus the earlier ones still current)."""
    return str(m["datasets"]["corpus_index"]["rows"]) if "corpus_index" in m["datasets"] else "-"


def format_snapshot(m: dict, details: bool = False) -> str:
    lines = [f"snapshot {m['snapshot']}  created {m['created_at']}  code {m['code_version'][:12]}",
             f"files: {m['datasets']['files']['rows']} new in this snapshot, {_corpus_rows(m)} in the corpus "
             "as of it (with the still-current files of earlier snapshots)",
             "datasets: " + ", ".join(f"{k}={v['rows']}" for k, v in sorted(m["datasets"].items())), ""]
    rows = [[s["name"], str(s["rows_in"]), str(s["rows_out"]),
             ", ".join(f"{k}={v}" for k, v in s["dropped"].items()) or "-", f"{s['seconds']:.1f}"]
            for s in m["stages"]]
    lines.append(_table(["stage", "in", "out", "dropped by reason", "seconds"], rows))
    if m.get("scorer"):
        sc = m["scorer"]
        lines.append(f"\nscorer {sc['version']} ({sc['base_model']}, oracle {sc['oracle']}, {sc['labels']} labels): "
                     f"held-out MAE {sc['mae']} (class-balanced {sc['class_balanced_mae']}), "
                     f"predicting the mean {sc['baseline_mae']}")
    return "\n".join(lines)


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    sep = "  ".join("-" * w for w in widths)
    return "\n".join(line.rstrip() for line in [fmt.format(*header), sep, *(fmt.format(*r) for r in rows)])


def cmd_gc(args: argparse.Namespace) -> int:
    config = load_config(_overrides(args), dict(os.environ), args.config)
    storage = storage_for(config)
    garbage = cleanup.find_garbage(storage, args.older_than_hours)
    if not garbage:
        print(f"nothing to delete: no unpublished run older than {args.older_than_hours:g} h under {storage.root}")
        return 0
    for g in garbage:
        age = "no _RUN.json" if g.age_hours is None else f"{g.age_hours:.1f} h old"
        print(f"{'would delete' if args.dry_run else 'deleting'} {storage.uri(g.prefix)}/ (unpublished, {age})",
              flush=True)
    if args.dry_run:
        print(f"would delete {len(garbage)} unpublished runs (dry run: nothing deleted)")
    else:
        n = cleanup.collect(storage, garbage)
        print(f"deleted {len(garbage)} unpublished runs ({n} objects)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
