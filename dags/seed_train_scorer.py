"""seed_train_scorer: a quality scorer trained on a published snapshot (declared in seedlib/pipelines.py).

    prepare -> label -> train_scorer -> publish

- prepare       resolves the date (the `snapshot_date` param, else the data interval's start) and the
                snapshot to label: that date's, or the latest one published before it (seedlib/run.py,
                seedlib/quality/scorers.py).
- label         Python: a sample stratified by language, judged 0-10 by the oracle: the rubric by default,
                or an OpenAI-compatible server (quality_oracle=openai; key from SEED_ORACLE_API_KEY or the
                Airflow connection seed_oracle) (seedlib/quality/label.py).
- train_scorer  accelerate: a regression head on a small base model; held-out MAE, class-balanced MAE and
                the predict-the-mean baseline (seedlib/quality/train.py).
- publish       `<root>/scorers/<version>/_MANIFEST.json` (the version is the labelled snapshot's date).

Triggered by hand, or on each published snapshot when `SEED_TRAIN_SCORER_ON_SNAPSHOT=true` in the DAG
processor's environment. seed_snapshot uses the latest published scorer and never retrains unless asked.
"""

from __future__ import annotations

import datetime as dt
import os

from airflow.sdk import DAG, Asset, Param

from seedlib.pipelines import SCORERS
from seedlib.stage_operator import default_args, pipeline_tasks, run_params

SNAPSHOTS_PUBLISHED = Asset(name="seed_snapshots", uri="x-seed://snapshots")
PUBLISHED = Asset(name="seed_scorers", uri="x-seed://scorers")
ON_SNAPSHOT = os.environ.get("SEED_TRAIN_SCORER_ON_SNAPSHOT", "").lower() in ("1", "true", "yes")

with DAG(
    dag_id=SCORERS.dag_id,
    description="Label a published snapshot with the oracle and train a quality scorer",
    schedule=[SNAPSHOTS_PUBLISHED] if ON_SNAPSHOT else None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    params=run_params("label this snapshot (or the latest published before it); "
                                           "empty = the run's data interval start", {
        "quality_oracle": Param("configured", type="string", enum=["configured", "rubric", "openai"],
                                description="who labels the files"),
        "quality_labels_per_language": Param(None, type=["null", "integer"], minimum=1,
                                             description="files sampled per language"),
        "quality_base_model": Param(None, type=["null", "string"],
                                    description="auto, smollm2-135m, minilm-l6, or a model folder / s3:// prefix"),
        "quality_epochs": Param(None, type=["null", "integer"], minimum=1, description="training epochs"),
    }),
    tags=["seed", "scorer"],
    doc_md=__doc__,
) as dag:

    pipeline_tasks(SCORERS, PUBLISHED)
