"""The one Spark entrypoint: `spark-submit spark_jobs/stage.py --pipeline P --stage S --run REF`.

It only hands over to `seedlib.runner`, which rebuilds the run from REF (storage root and run prefix),
builds the session, runs the declared stage's body and records its report (seedlib/pipelines.py says
which body each stage has).
"""

from __future__ import annotations

import sys

from seedlib.runner import main

if __name__ == "__main__":
    sys.exit(main())
