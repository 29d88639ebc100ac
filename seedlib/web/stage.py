"""The web pipeline's stages (WEB in seedlib/pipelines.py, DAG seed_web; docs/web.md).

    prepare -> ingest -> exact_dedup -> near_dedup -> recall -> quality -> publish

- prepare      `prepare_web`: resolves the WARC inputs (`web_warcs`, else the embedded default, copied into
               the storage root so executors read them like any input) and the recall classifier (the
               configured version, else the latest published, else the default one trained here from the
               embedded pages); both are recorded in _RUN.json and are part of the run's fingerprint.
- ingest       one Spark task per WARC file: records -> HTML responses -> decoded -> main text with code
               blocks byte for byte -> site category. Every response record ends as a page or a ledger row.
- exact_dedup, near_dedup   seedlib/web/dedup.py: SHA-256 of the text, MinHash of the text, keyed by url.
- recall       fastText P(code-related) for every page (`recall_score`); pages without code tags below
               the classifier's threshold are `not_code_related`.
- quality      the oracle's 0-10 with a prompt per category (`quality_score`); below the category's
               threshold `low_quality`, outside its sample rate `sampled_out`, no valid rating `unjudged`.

Items are rows of dataset `web` keyed by (url, record_id); the ledger is `web_dropped`.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import Counter
from functools import partial

import pyarrow as pa
import pyarrow.compute as pc

from seedlib import ledger
from seedlib.config import Config, ConfigError
from seedlib.run import RUN_FILE, storage_for
from seedlib.spark import filter_stage
from seedlib.stage import PartWriter, StageError
from seedlib.storage import Storage

log = logging.getLogger(__name__)

ITEM, LEDGER = "web", "web_dropped"
DEFAULT_INPUTS = "cache/web_default"  # the embedded default's WARC files, copied into the storage root


# ---------- prepare ----------

def _embedded_inputs(storage: Storage) -> list[str]:
    """The embedded default's WARC files (built once on this machine), copied into the storage root under
    a folder named by their contents' hash, so a cluster's executors can read them too."""
    from seedlib import embedded as seed_embedded
    from seedlib.web import embedded

    local = embedded.default_warcs(seed_embedded.seed_home(os.environ))
    digest = hashlib.sha256()
    for path in local:
        with open(path, "rb") as f:
            digest.update(hashlib.file_digest(f, "sha256").digest())
    folder = f"{DEFAULT_INPUTS}/{digest.hexdigest()[:16]}"
    keys = []
    for path in local:
        key = f"{folder}/{path.rsplit('/', 1)[-1]}"
        if not storage.exists(key):
            with open(path, "rb") as f:
                storage.write_bytes(key, f.read())
        keys.append(key)
    return [_local_or_uri(storage, k) for k in keys]


def _local_or_uri(storage: Storage, key: str) -> str:
    uri = storage.uri(key)
    return uri[len("file://"):] if uri.startswith("file://") else uri


def inputs(storage: Storage, config: Config) -> list[str]:
    """The WARC files a run reads, sorted: the configured specs resolved, else the embedded default."""
    from seedlib.web import warc

    if not config.web.warcs:
        return _embedded_inputs(storage)
    return warc.resolve_inputs(list(config.web.warcs), config.web.warc_base, config)


def classifier_version(storage: Storage, config: Config) -> str:
    """The configured classifier version (checked), else the latest published, else a default one trained
    now from the embedded default's pages labelled by the web oracle (seconds; published for later runs)."""
    from seedlib.web import classifier

    if config.web.classifier:
        classifier.load(storage, config.web.classifier)  # an unknown version fails here, before any work
        return config.web.classifier
    return classifier.latest(storage) or train_classifier(storage, config)["version"]


def prepare_web(storage: Storage, config: Config, snapshot: str, skip: tuple[str, ...]) -> dict:
    """The WEB pipeline's prepare hook: what the run reads and which classifier it applies."""
    warcs = inputs(storage, config)
    if not warcs:
        raise ConfigError("web_warcs: no WARC file to read")
    version = classifier_version(storage, config) if "recall" not in skip else None
    return {"record": {"web": {"warcs": warcs, "classifier": version}}}


def _run_record(ctx) -> dict:
    return ctx.storage.read_json(f"{ctx.spec.prefix}/{RUN_FILE}")["web"]


# ---------- pages from WARC files (ingest, and the classifier's training pages) ----------

def pages_of(uri: str, config: Config, stage: str = "ingest") -> tuple[list[dict], list[dict], Counter]:
    """One WARC file -> (page rows of dataset `web`, ledger rows, counts of skipped record types).

    Bad data never raises: an unreadable file, a malformed or cut record, a non-HTML or undecodable
    response, a page without main content or under web_min_words words all become ledger rows."""
    from seedlib.web import category, extract, warc

    counts: Counter = Counter()
    kept: list[dict] = []
    dropped: list[dict] = []
    try:
        stream = warc.open_warc(uri, config)
    except (OSError, ConfigError) as e:
        log.warning("%s: cannot open: %s", uri, e)
        return [], [ledger.drop_page(f"{uri}#0", f"{uri}#0", uri, stage, ledger.UNREADABLE)], counts
    with stream:
        for record in warc.iter_records(stream, uri, config.web.max_page_bytes, counts=counts):
            if isinstance(record, dict):
                dropped.append({**record, "stage": stage})
                continue
            html = warc.decode(record.body, record.http_charset)
            if html is None:
                dropped.append(ledger.drop_page(record.url, record.record_id, uri, stage, ledger.UNDECODABLE))
                continue
            page = extract.extract(html, record.url)
            reason = extract.verdict(page, config.web.min_words)
            if reason:
                dropped.append(ledger.drop_page(record.url, record.record_id, uri, stage, reason))
                continue
            kept.append({"url": record.url, "category": category.category(record.url, html), "text": page.text,
                         "has_code_tags": page.has_code_tags, "recall_score": None, "quality_score": None,
                         "warc": uri, "record_id": record.record_id,
                         "sha256": hashlib.sha256(page.text.encode("utf-8")).hexdigest(),
                         "words": page.words, "title": page.title})
    return kept, dropped, counts


def _ingest_parts(spec_json: str, stage: str, done: dict, items):
    from seedlib.run import RunSpec

    spec = RunSpec.from_json(spec_json)
    storage, config = spec.storage(), spec.load_config()
    for index, uri in items:
        if index in done:  # finished by an earlier attempt: report it, never rewrite it
            yield from done[index]
            continue
        kept, dropped, counts = pages_of(uri, config, stage)
        writer = PartWriter(storage, spec.stage_prefix(stage), index)
        writer.add_details(ITEM, {"records": dict(counts)})
        writer.add(ITEM, kept)
        writer.add(LEDGER, dropped)
        yield from writer.close().to_pylist()


def ingest_body(ctx):
    """One Spark task per WARC file (part i = the i-th file of the sorted inputs); the source stage, so
    rows_in is everything it saw: pages + ledger rows."""
    warcs = _run_record(ctx)["warcs"]
    ctx.plan(len(warcs))
    items = list(enumerate(warcs))
    rdd = ctx.spark.sparkContext.parallelize(items, max(1, len(items)))
    parts = rdd.mapPartitions(partial(_ingest_parts, ctx.spec.to_json(), ctx.name, ctx.done)).collect()
    return parts, None, {}


# ---------- recall ----------

_MODELS: dict[tuple[str, str], object] = {}  # (storage root, version) -> Classifier, one load per process


def _recall_filter(version: str, config: Config):
    from seedlib.web import classifier

    key = (config.run.storage, version)
    if key not in _MODELS:
        _MODELS[key] = classifier.load(storage_for(config), version)
    model = _MODELS[key]

    def decide(table: pa.Table):
        scores = model.scores(table.column("text").to_pylist()) if table.num_rows else []
        table = table.set_column(table.schema.get_field_index("recall_score"), "recall_score",
                                 pa.array([float(s) for s in scores], pa.float64()))
        below = pc.less(table.column("recall_score"), model.threshold)
        drop = pc.and_(below, pc.invert(table.column("has_code_tags")))
        gone = table.filter(drop)
        rows = [ledger.drop_page(u, r, w, "recall", "not_code_related")
                for u, r, w in zip(gone.column("url").to_pylist(), gone.column("record_id").to_pylist(),
                                   gone.column("warc").to_pylist())]
        tagged = pc.sum(table.column("has_code_tags")).as_py() or 0
        return table.filter(pc.invert(drop)), rows, {"recall": {"code_tags": tagged,
                                                                "classified": table.num_rows - tagged}}

    return decide


def recall_body(ctx):
    version = _run_record(ctx)["classifier"]
    if not version:
        raise StageError("recall: the run recorded no classifier (was recall skipped at prepare?)")
    parts, rows_in, details = filter_stage(partial(_recall_filter, version), ITEM, LEDGER)(ctx)
    from seedlib.web import classifier

    m = classifier.manifest_of(ctx.storage, version)
    return parts, rows_in, {**details, "classifier": {"version": version, "threshold": m["threshold"],
                                                      **{k: v for k, v in m["metrics"].items()
                                                         if isinstance(v, (int, float))}}}


# ---------- quality ----------

def sampled(url: str, category: str, rate: float) -> bool:
    """Deterministic: the page is in its category's `rate` share by a hash of its url."""
    if rate >= 1:
        return True
    h = int.from_bytes(hashlib.sha256(f"{category}\x00{url}".encode()).digest()[:8], "big")
    return h / 2**64 < rate


def _quality_filter(config: Config):
    from seedlib.web import oracle

    judge = oracle.make_web_oracle(config, storage_for(config))
    w = config.web

    def decide(table: pa.Table):
        rows = table.select(["url", "category", "text", "has_code_tags", "record_id", "warc"]).to_pylist()
        judgements = judge.judge_pages([(r["category"], r["url"], r["text"], r["has_code_tags"]) for r in rows])
        scores, keep, dropped = [], [], []
        per: Counter = Counter()
        for r, j in zip(rows, judgements):
            scores.append(None if j.score is None else float(j.score))
            reason = None
            if j.score is None:
                reason = "unjudged"
            elif j.score < w.threshold(r["category"]):
                reason = "low_quality"
            elif not sampled(r["url"], r["category"], w.sample_rate(r["category"])):
                reason = "sampled_out"
            keep.append(reason is None)
            per[f"{r['category']}:{reason or 'kept'}"] += 1
            if reason:
                dropped.append(ledger.drop_page(r["url"], r["record_id"], r["warc"], "quality", reason))
        table = table.set_column(table.schema.get_field_index("quality_score"), "quality_score",
                                 pa.array(scores, pa.float64()))
        return table.filter(pa.array(keep, pa.bool_())), dropped, {"categories": dict(per)}

    return decide


def quality_body(ctx):
    from seedlib.web import oracle

    parts, rows_in, details = filter_stage(_quality_filter, ITEM, LEDGER)(ctx)
    w = ctx.config.web
    name = oracle.make_web_oracle(ctx.config, ctx.storage).name
    return parts, rows_in, {**details, "oracle": {"name": name},
                            "thresholds": dict(w.thresholds), "sample_rates": dict(w.sample_rates)}


# ---------- the classifier: training from labelled pages ----------

def training_pages(storage: Storage, config: Config, warcs: list[str] | None = None) -> list[dict]:
    """Extracted pages (category, url, text, has_code_tags) of the given WARC files, else of the embedded
    default, for labelling. Read here, in one process: a labelled set is small."""
    pages: list[dict] = []
    for uri in warcs if warcs is not None else _embedded_inputs(storage):
        kept, _, _ = pages_of(uri, config, "train")
        pages.extend(kept)
    return pages


def train_classifier(storage: Storage, config: Config, labels_path: str | None = None,
                     warcs: list[str] | None = None) -> dict:
    """Train, measure on the held-out split and publish a recall classifier; returns its manifest.

    Labels: a labelled file (`labels_path`), else the web oracle's judgements of the pages of `warcs` (else
    of the embedded default's pages)."""
    from seedlib.web import classifier, oracle

    if labels_path:
        labelled = classifier.read_labels(labels_path)
        texts, labels = [t for t, _ in labelled], [y for _, y in labelled]
        meta = {"source": f"file:{labels_path}", "labels": len(labels)}
    else:
        pages = training_pages(storage, config, warcs)
        judge = oracle.make_web_oracle(config, storage)
        texts, labels, counts = classifier.label_pages(judge, pages)
        meta = {"source": f"oracle:{judge.name}", "labels": len(labels), "pages": len(pages), **dict(counts)}
    trained = classifier.train(texts, labels, holdout=config.web.holdout, recall_target=config.web.recall_target)
    version = classifier.publish(storage, trained, meta)
    return classifier.manifest_of(storage, version)
