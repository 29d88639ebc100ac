"""The pipelines and their stages, declared once: what each stage reads, writes, runs on and needs.

Standard library only, so a DAG file may import it at parse time. The DAG builds one task per stage from
these declarations (seedlib/dag_tasks.py), the runner runs a stage under its engine (seedlib/runner.py),
and publish walks the declarations to decide what goes into the manifest (seedlib/publish.py).

Engines:
- "spark"       spark-submit of spark_jobs/stage.py; the body gets a SparkSession in its context
- "accelerate"  `accelerate launch` of the runner: one process per device (CPU processes locally); the
                body gets an Accelerator and handles the shards of its rank
- "python"      the body runs in the Airflow task's own process

How a written dataset is published (`writes`):
- CHAIN   the stage's kept items, read by the next stage of the chain; the last chain stage's are published
- LEDGER  what the stage dropped and why; every stage's parts together are the pipeline's ledger
- AS_IS   published as written (e.g. `repos`)
- NARROW  narrowed at publish time to the items of the final chain dataset (e.g. `dedup_index`)
- INTERNAL kept in the run for later stages, never published (e.g. `scores`, joined into `files`)
- SCORER  published as a version of the scorer pipeline, `<root>/scorers/<version>/` (labels, model);
          a snapshot run that trained its own scorer publishes it there too (seedlib/quality/scorers.py)

To add a stage: declare it here, write its body (a function of one StageContext), and give any new
dataset a schema in seedlib/datasets.py (docs/adding-a-stage.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

CHAIN, LEDGER, AS_IS, NARROW, INTERNAL, SCORER = "chain", "ledger", "as_is", "narrow", "internal", "scorer"
MODES = (CHAIN, LEDGER, AS_IS, NARROW, INTERNAL, SCORER)
ENGINES = ("spark", "accelerate", "python")
# Publications keyed by a version folder (`scorers/<version>/`) rather than a date folder (`dt=D`).
VERSIONED = frozenset({"scorers"})


@dataclass(frozen=True)
class Resources:
    """What one task of the stage needs (Kubernetes requests; locally only advisory)."""

    cpus: int = 1
    memory_gb: float = 2.0
    gpus: int = 0


@dataclass(frozen=True)
class Stage:
    name: str
    engine: str
    body: str  # "module:function", called with one seedlib.runner.StageContext
    reads: tuple[str, ...] = ()  # "files" (the chain's items so far) or "STAGE.DATASET"
    writes: Mapping[str, str] = field(default_factory=dict)  # dataset -> one of MODES
    resources: Resources = Resources()
    chain: bool = True  # reads the chain's items and passes on what it keeps
    doc: str = ""

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"stage {self.name}: engine must be one of {ENGINES}, got {self.engine!r}")
        bad = {d: m for d, m in self.writes.items() if m not in MODES}
        if bad:
            raise ValueError(f"stage {self.name}: unknown publish mode {bad}")
        if self.chain and not any(m == CHAIN for m in self.writes.values()):
            raise ValueError(f"stage {self.name}: a chain stage must write a CHAIN dataset")

    def datasets(self, mode: str) -> list[str]:
        return [d for d, m in self.writes.items() if m == mode]


@dataclass(frozen=True)
class Pipeline:
    """A DAG and the publications it owns: `<root>/<prefix>/dt=D/_MANIFEST.json` (or `<prefix>/<version>/`
    for VERSIONED prefixes)."""

    name: str
    dag_id: str
    prefix: str
    stages: tuple[Stage, ...]
    ledger: str = "dropped"  # the dataset all LEDGER outputs are published as
    sources: bool = True     # a run resolves the crawl sources (`--source`, the embedded default)
    # "module:function(storage, config, snapshot, skip) -> {"record": {...}, "skip": [...]}": decisions a run
    # makes once when it starts (recorded in _RUN.json, part of its fingerprint), e.g. which scorer it uses;
    # optionally "publications": where this run publishes instead of `prefix` (an export's `exports/PHASE`).
    prepare: str = ""

    def __post_init__(self) -> None:
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"pipeline {self.name}: stage names repeat: {names}")
        for i, stage in enumerate(self.stages):
            for ref in stage.reads:
                if "." in ref:
                    source, dataset = ref.split(".", 1)
                    earlier = {s.name: s for s in self.stages[:i]}
                    if source not in earlier or dataset not in earlier[source].writes:
                        raise ValueError(f"stage {stage.name} reads {ref}, which no earlier stage writes")

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(f"pipeline {self.name} has no stage {name!r} (stages: {', '.join(self.names)})")

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]

    @property
    def chain(self) -> list[Stage]:
        return [s for s in self.stages if s.chain]

    def chain_input(self, name: str) -> str | None:
        """The chain stage before `name`, whose CHAIN dataset `name` reads (None for the first)."""
        before = None
        for s in self.stages:
            if s.name == name:
                return before
            if s.chain:
                before = s.name
        return None

    def skipped(self, requested: list[str] | tuple[str, ...]) -> set[str]:
        """The stages a run leaves out when `requested` are skipped: those, plus stages whose outputs
        only feed skipped stages (they are neither chain stages nor published). Errors name bad input."""
        unknown = [n for n in requested if n not in self.names]
        if unknown:
            raise ValueError(f"skip: unknown stage {unknown[0]!r}; stages: {', '.join(self.names)}")
        first = self.chain[0].name if self.chain else None
        if first in requested:
            raise ValueError(f"skip: {first} cannot be skipped: it is where the pipeline's items come from")
        skipped = set(requested)
        for stage in reversed(self.stages):
            if stage.name in skipped or stage.chain:
                continue
            readers = [s for s in self.stages if any(r.split(".", 1)[0] == stage.name for r in s.reads)]
            published = any(m not in (LEDGER, INTERNAL) for m in stage.writes.values())
            if readers and not published and all(r.name in skipped for r in readers):
                skipped.add(stage.name)
        for stage in self.stages:
            if stage.name in skipped:
                continue
            needs = [r for r in stage.reads if "." in r and r.split(".", 1)[0] in skipped]
            if needs:
                raise ValueError(f"skip: {stage.name} reads {needs[0]}, which a skipped stage would write")
        return skipped


FILES_STAGE = {"files": CHAIN, "dropped": LEDGER}
SCORER_DATASETS = {"labels": SCORER}  # the label sample and its judgements, published with the model

# The nightly code snapshot, top to bottom (DAG seed_snapshot).
SNAPSHOTS = Pipeline(name="snapshots", dag_id="seed_snapshot", prefix="snapshots", stages=(
    Stage("crawl", engine="spark", body="seedlib.crawl.stage:body",
          writes={**FILES_STAGE, "repos": AS_IS, "commit_history": AS_IS},
          resources=Resources(cpus=2, memory_gb=4),
          doc="clone each repository bare, extract its files at HEAD and its commit history"),
    Stage("exact_dedup", engine="spark", body="seedlib.dedup.plan:exact_body",
          reads=("files", "crawl.repos"), writes=FILES_STAGE, resources=Resources(cpus=2, memory_gb=4),
          doc="identical and near-identical repositories, then SHA-256 duplicate files"),
    Stage("near_dedup", engine="spark", body="seedlib.dedup.plan:near_body",
          reads=("files", "crawl.repos"), writes={**FILES_STAGE, "dedup_index": NARROW},
          resources=Resources(cpus=2, memory_gb=4),
          doc="MinHash + LSH + verified pairs + connected components; the best file of each is kept"),
    Stage("syntax", engine="spark", body="seedlib.syntax.stage:body", reads=("files",), writes=FILES_STAGE,
          resources=Resources(cpus=2, memory_gb=4),
          doc="minimal rules, then the share of bytes in tree-sitter ERROR/MISSING regions"),
    Stage("decontam", engine="spark", body="seedlib.samples.decontam:body", reads=("files",), writes=FILES_STAGE,
          resources=Resources(cpus=2, memory_gb=4),
          doc="files sharing a word 10-gram with a benchmark problem (HumanEval, ...) are contaminated"),
    # The quality scorer. label and train_scorer run only when the run trains its own scorer (none is
    # published yet, or quality_retrain); otherwise the run uses the latest published one (seedlib/quality/).
    Stage("label", engine="python", body="seedlib.quality.label:body", reads=("files",),
          writes=SCORER_DATASETS, chain=False, resources=Resources(cpus=1, memory_gb=2),
          doc="a sample stratified by language, judged by the oracle (rubric or an OpenAI-compatible LLM)"),
    Stage("train_scorer", engine="accelerate", body="seedlib.quality.train:body", reads=("label.labels",),
          writes={"scorer": SCORER}, chain=False, resources=Resources(cpus=1, memory_gb=16, gpus=1),
          doc="a regression head on a small base model, trained on the labels with accelerate"),
    Stage("score", engine="accelerate", body="seedlib.quality.score:body", reads=("files",),
          writes={"scores": INTERNAL}, chain=False, resources=Resources(cpus=2, memory_gb=8, gpus=1),
          doc="every kept file scored 0-10 in shards, data-parallel across processes or GPUs"),
    Stage("quality", engine="python", body="seedlib.quality.filter:body", reads=("files", "score.scores"),
          writes=FILES_STAGE, resources=Resources(cpus=1, memory_gb=4),
          doc="adds quality_score; the lowest quality_drop_share (per language or global) is low_quality"),
    # Training-ready outputs (seedlib/samples/): the corpus as of this snapshot, then its samples.
    Stage("corpus", engine="python", body="seedlib.corpus:body",
          reads=("files", "crawl.files", "crawl.dropped", "crawl.repos"), writes={"corpus_index": AS_IS},
          chain=False, resources=Resources(cpus=1, memory_gb=4),
          doc="the corpus as of this snapshot: its files plus the still-current ones of earlier snapshots"),
    Stage("repo_sequences", engine="spark", body="seedlib.samples.sequences:body",
          reads=("files", "corpus.corpus_index"), writes={"repo_sequences": AS_IS}, chain=False,
          resources=Resources(cpus=2, memory_gb=8),
          doc="repositories above repo_min_quality: their files in dependency order, split over the budget"),
    Stage("commit_samples", engine="spark", body="seedlib.samples.commits:body",
          reads=("crawl.commit_history", "decontam.dropped"),
          writes={"commit_samples": AS_IS, "commit_dropped": LEDGER}, chain=False,
          resources=Resources(cpus=2, memory_gb=4),
          doc="code-change-prediction samples: message, README, tree and BM25 top-5 files -> the changes"),
), prepare="seedlib.quality.scorers:prepare_snapshot")

# Training a scorer on a published snapshot (DAG seed_train_scorer): `<root>/scorers/<version>/`.
SCORERS = Pipeline(name="scorers", dag_id="seed_train_scorer", prefix="scorers", sources=False, stages=(
    Stage("label", engine="python", body="seedlib.quality.label:body", writes=SCORER_DATASETS, chain=False,
          resources=Resources(cpus=1, memory_gb=2),
          doc="a sample of a published snapshot's files, stratified by language, judged by the oracle"),
    Stage("train_scorer", engine="accelerate", body="seedlib.quality.train:body", reads=("label.labels",),
          writes={"scorer": SCORER}, chain=False, resources=Resources(cpus=1, memory_gb=16, gpus=1),
          doc="a regression head on a small base model, trained on the labels with accelerate"),
), prepare="seedlib.quality.scorers:prepare_training")

# A training mixture from a published snapshot (DAG seed_export, triggered by each published snapshot),
# published beside it as `<root>/snapshots/dt=D/export/<phase>/` (seedlib/export/, docs/export.md).
EXPORTS = Pipeline(name="exports", dag_id="seed_export", prefix="exports", sources=False, stages=(
    Stage("mixture", engine="python", body="seedlib.export.stage:mixture_body",
          writes={"mixture_rows": INTERNAL}, chain=False, resources=Resources(cpus=1, memory_gb=4),
          doc="the phase's sources sampled by weight, FIM on file-level code, each row's token count"),
    Stage("shards", engine="python", body="seedlib.export.stage:shards_body", reads=("mixture.mixture_rows",),
          writes={"mixture": AS_IS, "mixture_jsonl": AS_IS}, chain=False, resources=Resources(cpus=1, memory_gb=4),
          doc="the mixture cut into Parquet and JSONL.gz shards of export_shard_rows rows"),
), prepare="seedlib.export.stage:prepare_export")

# Code-related web pages from WARC files (DAG seed_web), `<root>/web/dt=D/` (seedlib/web/, docs/web.md).
WEB_STAGE = {"web": CHAIN, "web_dropped": LEDGER}
WEB = Pipeline(name="web", dag_id="seed_web", prefix="web", ledger="web_dropped", sources=False, stages=(
    Stage("ingest", engine="spark", body="seedlib.web.stage:ingest_body", writes=WEB_STAGE,
          resources=Resources(cpus=2, memory_gb=4),
          doc="one task per WARC file: HTML responses -> main text with code blocks byte for byte -> category"),
    Stage("exact_dedup", engine="spark", body="seedlib.web.dedup:exact_body", reads=("web",), writes=WEB_STAGE,
          resources=Resources(cpus=2, memory_gb=4),
          doc="pages with the same text (SHA-256); the copy kept by category preference, length, url"),
    Stage("near_dedup", engine="spark", body="seedlib.web.dedup:near_body", reads=("web",), writes=WEB_STAGE,
          resources=Resources(cpus=2, memory_gb=4),
          doc="MinHash + LSH + verified pairs over the text, the same kernels as the files' near_dedup"),
    Stage("recall", engine="spark", body="seedlib.web.stage:recall_body", reads=("web",), writes=WEB_STAGE,
          resources=Resources(cpus=2, memory_gb=4),
          doc="fastText P(code-related); pages without code tags below its threshold are dropped"),
    Stage("quality", engine="spark", body="seedlib.web.stage:quality_body", reads=("web",), writes=WEB_STAGE,
          resources=Resources(cpus=2, memory_gb=4),
          doc="the oracle's 0-10 with a prompt per site category; thresholds and sample rates per category"),
), prepare="seedlib.web.stage:prepare_web")

PIPELINES: dict[str, Pipeline] = {p.name: p for p in (SNAPSHOTS, SCORERS, EXPORTS, WEB)}


def get(ref: str) -> Pipeline:
    """A declared pipeline by name, or any Pipeline object by "module:ATTR" (tests declare small ones)."""
    if ":" in ref:
        import importlib

        module, _, attr = ref.partition(":")
        pipeline = getattr(importlib.import_module(module), attr)
        if not isinstance(pipeline, Pipeline):
            raise TypeError(f"{ref} is not a Pipeline")
        return pipeline
    if ref not in PIPELINES:
        raise KeyError(f"unknown pipeline {ref!r} (known: {', '.join(sorted(PIPELINES))})")
    return PIPELINES[ref]
