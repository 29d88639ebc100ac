"""seed_web: code-related web pages from WARC files (declared in seedlib/pipelines.py, WEB; docs/web.md).

    prepare -> ingest -> exact_dedup -> near_dedup -> recall -> quality -> publish

- prepare      the WARC inputs (`web_warcs`: paths, s3:// URIs, globs or a Common Crawl *.paths listing; empty
               = the embedded default built from HTML on this machine) and the recall classifier (configured,
               latest published, or a default one trained from the embedded pages) (seedlib/web/stage.py).
- ingest       Spark, one task per WARC file: HTML responses, decoded, main text with code blocks byte for byte,
               site category; malformed/cut records and non-HTML pages go to the web ledger (seedlib/web/).
- exact_dedup  Spark: pages with the same text; the copy kept by category preference, then length, then url.
- near_dedup   Spark: MinHash + LSH + verified pairs over the text (the files' kernels) (seedlib/web/dedup.py).
- recall       Spark: fastText P(code-related); pages without code tags below its threshold are dropped.
- quality      Spark: the oracle's 0-10 with a prompt per category; per-category thresholds and sample rates.
- publish      the ledger invariant (every response record in `web` or `web_dropped`), then the manifest
               `<root>/web/dt=D/_MANIFEST.json`; `seed export` mixes its pages into the snapshot of that date.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, Param

from seedlib.pipelines import WEB
from seedlib.stage_operator import default_args, pipeline_tasks, run_params

SPARK_CONN = "spark_local"
PUBLISHED = Asset(name="seed_web", uri="x-seed://web")

with DAG(
    dag_id=WEB.dag_id,
    description="Extract, deduplicate, classify and score code-related web pages from WARC files",
    # Common Crawl publishes a crawl about once a month; trigger by hand (`seed web`) for other cadences.
    schedule=CronDataIntervalTimetable("0 4 1 * *", timezone="UTC"),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    params=run_params("YYYY-MM-DD; empty = the run's data interval start", {
        "web_warcs": Param([], type=["null", "array"], items={"type": "string"},
                           description="WARC paths, s3:// URIs, globs or *.paths listings; empty = configured "
                                       "(else the embedded default)"),
        "web_min_words": Param(None, type=["null", "integer"], minimum=1,
                               description="pages with fewer words of main text are dropped"),
        "web_classifier": Param(None, type=["null", "string"],
                                description="recall classifier version (empty = the latest published)"),
    }, skip_stages=WEB.names),
    tags=["seed", "web"],
    doc_md=__doc__,
) as dag:

    pipeline_tasks(WEB, PUBLISHED, SPARK_CONN)
