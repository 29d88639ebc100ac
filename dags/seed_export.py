"""seed_export: a training mixture from a published snapshot (declared in seedlib/pipelines.py, EXPORTS).

    prepare -> mixture -> shards -> publish

- prepare  the snapshot date: the `snapshot_date` param, else the date of the snapshot whose publication
           triggered this run (the seed_snapshots asset event's extra); refuses a date with no published
           snapshot; publishes under `<root>/snapshots/dt=D/export/<phase>/` (seedlib/export/stage.py).
- mixture  Python: the phase's sources (regular: file-level code + web pages; continued: + repository
           sequences + commit samples), sampled by weight, FIM on file-level code, token counts
           (seedlib/export/mixture.py, fim.py, tokens.py).
- shards   Python: Parquet and JSONL.gz shards of export_shard_rows rows (seedlib/export/shards.py).
- publish  the export's manifest, with per-source rows, characters and tokens (seedlib/publish.py).

Scheduled on every published snapshot; trigger it by hand with a date (and a phase) to export an earlier one.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Asset, Param

from seedlib.pipelines import EXPORTS
from seedlib.stage_operator import default_args, pipeline_tasks, run_params

SNAPSHOTS_PUBLISHED = Asset(name="seed_snapshots", uri="x-seed://snapshots")
PUBLISHED = Asset(name="seed_exports", uri="x-seed://exports")

with DAG(
    dag_id=EXPORTS.dag_id,
    description="Export a published snapshot as a training mixture of tokenizer-ready shards",
    schedule=[SNAPSHOTS_PUBLISHED],
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    params=run_params("the snapshot to export; empty = the one whose publication "
                                           "triggered this run", {
        "export_phase": Param("configured", type="string", enum=["configured", "regular", "continued"],
                              description="regular: file-level code + web; continued: all four sources"),
        "export_weights": Param(None, type=["null", "string"],
                                description="mixing weights, e.g. file=1,web=0.5,repo=2 (empty = configured)"),
        "fim_rate": Param(None, type=["null", "number"], minimum=0, maximum=1,
                          description="share of file-level samples turned into FIM samples"),
        "export_shard_rows": Param(None, type=["null", "integer"], minimum=1, description="rows per shard"),
        "export_tokenizer": Param(None, type=["null", "string"],
                                  description="smollm2-135m or a local Hugging Face tokenizer folder"),
    }),
    tags=["seed", "export"],
    doc_md=__doc__,
) as dag:

    pipeline_tasks(EXPORTS, PUBLISHED, trigger=SNAPSHOTS_PUBLISHED)
