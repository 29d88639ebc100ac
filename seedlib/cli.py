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
    seed web           run the DAG `seed_web`: code-related web pages from WARC files
    seed train-web-classifier  train and publish the web pipeline's fastText recall classifier
    seed report        write a published snapshot's HTML report and Hugging Face dataset card
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
from seedlib.pipelines import EXPORTS, SCORERS, SNAPSHOTS, WEB, Pipeline
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

    status = sub.add_parser("status", help="published snapshots and web pages, unfinished runs, the scorer")
    status.add_argument("--date", metavar="YYYY-MM-DD", help="only this snapshot, with stage details")
    status.add_argument("--json", action="store_true",
                        help="print everything as one JSON object (snapshots, web, unfinished runs, scorer)")
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

    web = sub.add_parser("web", help="run the DAG seed_web: code-related web pages from WARC files",
                         description="Runs the real seed_web DAG through Airflow's dag.test(): ingest (WARC -> "
                                     "main text, code blocks byte for byte) -> exact_dedup -> near_dedup -> "
                                     "recall (fastText) -> quality (the oracle, per site category) -> publish "
                                     "<root>/web/dt=D/_MANIFEST.json. With no --warc: the embedded default, "
                                     "WARC files built from HTML on this machine (docs/web.md). Exits 0 only "
                                     "when the pages were published.")
    web.add_argument("--date", metavar="YYYY-MM-DD", help="the publication date (default: today, UTC)")
    web.add_argument("--warc", action="append", default=[], metavar="PATH_OR_GLOB",
                     help="a WARC file, glob, s3:// URI or *.paths listing (repeatable); " + help_for("web_warcs"))
    web.add_argument("--skip", action="append", default=[], metavar="STAGE", choices=WEB.names,
                     help="leave a stage out (its input passes through): " + ", ".join(WEB.names))
    web.add_argument("--fresh", action="store_true",
                     help="start a new run instead of resuming the date's unfinished one with the same inputs")
    web.add_argument("--verbose", action="store_true", help="stream the logs here instead of the compact view")
    _config_flags(web)

    twc = sub.add_parser("train-web-classifier", help="train and publish the web recall classifier (fastText)",
                         description="Trains the fastText classifier the web pipeline's recall stage applies, "
                                     "in this process (seconds), from a labelled file (--labels: JSONL with "
                                     "text/label, or fastText __label__ lines) or from pages the web oracle "
                                     "labels (--warc, else the embedded default's pages). Reports recall and "
                                     "precision on a held-out share (web_holdout) and chooses the threshold "
                                     "for recall >= web_recall_target there; publishes "
                                     "<root>/web_classifiers/<version>/, which later runs use.")
    twc.add_argument("--labels", metavar="FILE", help="labelled pages (JSONL text/label, or fastText format)")
    twc.add_argument("--warc", action="append", default=[], metavar="PATH_OR_GLOB",
                     help="WARC files whose pages the oracle labels (default: the embedded default)")
    _config_flags(twc)

    rep = sub.add_parser("report", help="write a published snapshot's HTML report and dataset card; prints the path",
                         description="Writes snapshots/dt=D/report.html (self-contained, opens without network) and "
                                     "the Hugging Face dataset card snapshots/dt=D/README.md beside the manifest, "
                                     "from that publication alone (docs/report.md).")
    rep.add_argument("--date", metavar="YYYY-MM-DD", help="the snapshot (default: the latest published)")
    _config_flags(rep)

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
                    "export": cmd_export, "web": cmd_web, "train-web-classifier": cmd_train_web_classifier,
                    "report": cmd_report}
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
    # configuration (keys, types, language names), local sources, skipped stages, the storage root (bucket,
    # credentials) and the Spark master.
    config = load_config(_overrides(args), environ, args.config)
    parse_specs(config.run.sources)
    try:
        SNAPSHOTS.skipped(args.skip)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    probe(storage_for(config, quick=True))
    if config.run.deployment == "local":
        embedded.check_spark_master(config.run.spark_master, environ)
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
        from seedlib import report

        uri = report.current_report(storage, outcome.snapshot)
        print(f"report: {_local(uri)}" if uri else
              f"report: not written (run `seed report --date {outcome.snapshot}`)")
    return code


def _run_dag(pipeline: Pipeline, conf: dict, config, environ: dict, verbose: bool):
    """One run of a pipeline's real DAG in this process, with the compact view; on failure the table of
    stages and reasons. Returns (exit code, outcome, the run's ref, the log file)."""
    home = embedded.seed_home(environ)
    env = embedded.environment(environ, home=home, spark_master=config.run.spark_master)
    embedded.apply(env)
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    command = {SNAPSHOTS.name: "run", EXPORTS.name: "export", WEB.name: "web"}.get(pipeline.name, "train-scorer")
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


def cmd_web(args: argparse.Namespace) -> int:
    from seedlib.web import warc

    environ = dict(os.environ)
    overrides = {**_overrides(args), **({"web_warcs": args.warc} if args.warc else {})}
    config = load_config(overrides, environ, args.config)
    try:
        WEB.skipped(args.skip)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    probe(storage_for(config, quick=True))
    if config.run.deployment == "local":
        embedded.check_spark_master(config.run.spark_master, environ)
    if config.web.warcs:  # a bad path fails here, in seconds, before Airflow starts
        warc.resolve_inputs(list(config.web.warcs), config.web.warc_base, config)
    date = parse_snapshot_date(args.date, "--date") if args.date else dt.datetime.now(dt.timezone.utc).date().isoformat()
    conf = _run_conf(args, {k: v for k, v in overrides.items() if v not in (None, "", [])}, date)
    if args.skip:
        conf["skip_stages"] = list(args.skip)
    code, outcome, _, log_path = _run_dag(WEB, conf, config, environ, args.verbose)
    if code == 0:
        storage = storage_for(config)
        m = manifest.read(storage, outcome.snapshot, WEB.prefix)
        print(f"\nseed web: {m['datasets']['web']['rows']} pages of {outcome.snapshot} published")
        print(format_web(m))
        print(f"\nmanifest: {storage.uri(snapshot_prefix(outcome.snapshot, WEB.prefix))}/_MANIFEST.json")
        print(f"full log: {log_path}")
    return code


def format_web(m: dict) -> str:
    """A web publication: stages with drops by reason, then kept pages per category."""
    rows = [[s["name"], str(s["rows_in"]), str(s["rows_out"]),
             ", ".join(f"{k}={v}" for k, v in s["dropped"].items()) or "-", f"{s['seconds']:.1f}"]
            for s in m["stages"]]
    lines = [_table(["stage", "in", "out", "dropped by reason", "seconds"], rows)]
    quality = next((s for s in m["stages"] if s["name"] == "quality"), None)
    per = (quality or {}).get("details", {}).get("categories", {})
    if per:
        cats = sorted({k.split(":", 1)[0] for k in per})
        lines.append("")
        lines.append(_table(["category", "kept", "low_quality", "sampled_out", "unjudged"],
                            [[c, *(str(per.get(f"{c}:{r}", 0)) for r in ("kept", "low_quality", "sampled_out",
                                                                          "unjudged"))] for c in cats]))
    return "\n".join(lines)


def cmd_train_web_classifier(args: argparse.Namespace) -> int:
    from seedlib.web import stage as web_stage
    from seedlib.web import warc

    config = load_config(_overrides(args), dict(os.environ), args.config)
    probe(storage_for(config, quick=True))
    storage = storage_for(config)
    warcs = warc.resolve_inputs(args.warc, config.web.warc_base, config) if args.warc else None
    if args.labels and not os.path.exists(args.labels):
        raise ConfigError(f"--labels: {args.labels}: no such file")
    m = web_stage.train_classifier(storage, config, labels_path=args.labels, warcs=warcs)
    folder = storage.uri(f"web_classifiers/{m['version']}")
    print(f"seed train-web-classifier: classifier {m['version']} published at {folder}/_MANIFEST.json")
    print(_table(["metric", "value"], [[k, str(v)] for k, v in sorted(m["metrics"].items())]))
    return 0


def _local(uri: str) -> str:
    """A file:// URI as the path a user can open; other URIs as they are."""
    from urllib.parse import unquote, urlsplit

    return unquote(urlsplit(uri).path) if uri.startswith("file://") else uri


def cmd_report(args: argparse.Namespace) -> int:
    from seedlib import report  # plotly and the tokenizer: imported only here

    config = load_config(_overrides(args), dict(os.environ), args.config)
    storage = storage_for(config)
    date = _latest_snapshot(storage, args.date)
    if manifest.read(storage, date) is None:
        raise ConfigError(f"--date {date}: no snapshot is published for that date under {storage.uri('snapshots')}")
    try:
        written = report.write_all(storage, date)
    except report.ReportError as e:
        print(f"seed report: error: {e}", file=sys.stderr)
        return 1
    print(f"dataset card: {_local(written['card'])}")
    print(_local(written["report"]))
    return 0


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
    import json

    from seedlib import status

    config = load_config(_overrides(args), dict(os.environ), args.config)
    storage = storage_for(config)
    only = parse_snapshot_date(args.date, "--date") if args.date else None
    seen = status.collect(storage, only)
    if args.json:
        print(json.dumps(seen, indent=2, sort_keys=True))
        return 1 if only and not seen["snapshots"] else 0
    if not seen["snapshots"]:
        print(f"no published snapshots under {storage.root}")
    elif only:
        print(f"published snapshots under {storage.root}\n")
        print(format_snapshot(manifest.read(storage, only), details=True))
    else:
        print(f"published snapshots under {storage.root}\n")
        rows = [[s["snapshot"], s["created_at"], _age(s["age_hours"]), str(s["files"]), _dash(s["corpus"]),
                 str(s["dropped"]), str(s["repos"]), _dash(s["tokens"].get("files")),
                 " > ".join(f"{st['name']} {st['rows_in']}->{st['rows_out']}" for st in s["stages"])]
                for s in seen["snapshots"]]
        print(_table(["snapshot", "created_at", "age", "new files", "corpus", "dropped", "repos",
                      "tokens", "stages (in->out)"], rows))
    if seen["web"]:
        print("\nweb publications\n")
        print(_table(["date", "created_at", "age", "pages", "dropped"],
                     [[w["snapshot"], w["created_at"], _age(w["age_hours"]), str(w["pages"]), str(w["dropped"])]
                      for w in seen["web"]]))
    if seen["unfinished"]:
        print("\nunfinished runs (resumed by a run of the same date and inputs; `seed gc` deletes old ones)\n")
        print(_table(["pipeline", "date", "run", "started", "stages done", "at"],
                      [[u["publications"], u["snapshot"], u["run_id"], u["created_at"] or "-",
                        f"{u['stages_done']}/{u['stages']}", _at(u)] for u in seen["unfinished"]]))
    sc = seen["scorer"]
    print(f"\nscorer: {sc['latest'] or 'none published'} ({sc['versions']} version(s))")
    return 1 if only and not seen["snapshots"] else 0


def _dash(value) -> str:
    return "-" if value is None else str(value)


def _age(hours: float | None) -> str:
    if hours is None:
        return "-"
    return f"{hours:.1f}h" if hours < 48 else f"{hours / 24:.1f}d"


def _at(u: dict) -> str:
    if u["failed"]:
        return f"FAILED in {u['failed']['stage']}: {u['failed']['error']}"
    if u["running"] is None:
        return "all stages done, not published"
    planned = f"/{u['parts_planned']}" if u["parts_planned"] is not None else ""
    return f"{u['running']} ({u['parts_done']}{planned} parts)"


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
