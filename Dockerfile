# syntax=docker/dockerfile:1
# The project image: every Airflow 3.3 component, the KubernetesExecutor workers, the Spark 4.3
# drivers/executors (SparkApplications of the kubeflow spark-operator) and the GPU jobs of helm/seed
# run from it. Not built in CI (no Docker engine there); tests/test_dockerfile.py checks what it can.
#   docker build -t seed-data:0.1.0 .
# GPU image: same file with a CUDA torch, e.g. --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128

# Spark on Kubernetes (the spark-operator's spark-submit) starts drivers/executors through Spark's image
# entrypoint (driver|executor|pass-through); pyspark's wheel does not ship it.
ARG SPARK_ENTRYPOINT_IMAGE=apache/spark:4.0.1
FROM ${SPARK_ENTRYPOINT_IMAGE} AS spark-entrypoint

# bookworm: Debian 13 (trixie, the current python:3.11-slim) no longer ships openjdk-17.
FROM python:3.11-slim-bookworm

# torch==2.13.0 is pinned in requirements.txt; locally it is a CPU wheel, in a real build it must come
# from PyPI's CPU index (the default PyPI torch pulls multi-GB CUDA libraries).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# s3a:// for Spark. hadoop-aws must equal pyspark 4.3.0's bundled Hadoop (jars/hadoop-client-api-3.5.0.jar;
# tests/test_dockerfile.py compares them). hadoop-aws' compile dependencies are the AWS SDK v2 bundle
# and the S3 analytics accelerator, at the versions hadoop-project-3.5.0.pom declares (properties
# aws-java-sdk-v2.version 2.35.4, amazon-s3-analyticsaccelerator-s3.version 1.3.1; 2.29.52 was
# Hadoop 3.4.2's). The build reads that POM and stops if they differ. The S3A magic committer
# (fs.s3a.committer.name=magic) is in hadoop-aws; Spark SQL's Parquet writes reach it through
# spark-hadoop-cloud (PathOutputCommitProtocol, BindingParquetOutputCommitter), which pyspark's wheel
# lacks: it must equal the Spark version.
ARG HADOOP_AWS_VERSION=3.5.0
ARG AWS_SDK_BUNDLE_VERSION=2.35.4
ARG ANALYTICS_ACCELERATOR_VERSION=1.3.1
ARG SPARK_HADOOP_CLOUD_VERSION=4.3.0
ARG SCALA_BINARY_VERSION=2.13

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
# The same requirement files as scripts/bootstrap.sh's venv (not requirements-helm.txt: the helm
# binary is a test tool), plus requirements-k8s.txt (the image only: S3 task logs).
COPY requirements.txt requirements-models.txt requirements-k8s.txt constraints.txt ./
# The metadata DB driver for the chart's Postgres (local runs use SQLite and don't need it).
RUN pip install --index-url "${TORCH_INDEX_URL}" "$(grep -E '^torch==' requirements.txt)" \
 && pip install -r requirements.txt -c constraints.txt psycopg2-binary==2.9.13 \
 && pip install --no-deps -r requirements-models.txt \
 && pip install -r requirements-k8s.txt -c constraints.txt
# Each jar is checked against Maven Central's .sha1; versions are checked against hadoop-project's POM.
RUN set -eu; \
    SPARK_HOME="$(python -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"; \
    M=https://repo1.maven.org/maven2; \
    test -f "${SPARK_HOME}/jars/hadoop-client-api-${HADOOP_AWS_VERSION}.jar" \
      || { echo "pyspark bundles $(ls "${SPARK_HOME}"/jars/hadoop-client-api-*.jar), not Hadoop ${HADOOP_AWS_VERSION}" >&2; exit 1; }; \
    pom="$(curl -fsSL "${M}/org/apache/hadoop/hadoop-project/${HADOOP_AWS_VERSION}/hadoop-project-${HADOOP_AWS_VERSION}.pom")"; \
    for pair in "aws-java-sdk-v2.version=${AWS_SDK_BUNDLE_VERSION}" \
                "amazon-s3-analyticsaccelerator-s3.version=${ANALYTICS_ACCELERATOR_VERSION}"; do \
      echo "${pom}" | grep -q "<${pair%%=*}>${pair#*=}</${pair%%=*}>" \
        || { echo "hadoop-project ${HADOOP_AWS_VERSION} does not declare ${pair}" >&2; exit 1; }; \
    done; \
    for jar in "org/apache/hadoop/hadoop-aws/${HADOOP_AWS_VERSION}/hadoop-aws-${HADOOP_AWS_VERSION}.jar" \
               "software/amazon/awssdk/bundle/${AWS_SDK_BUNDLE_VERSION}/bundle-${AWS_SDK_BUNDLE_VERSION}.jar" \
               "software/amazon/s3/analyticsaccelerator/analyticsaccelerator-s3/${ANALYTICS_ACCELERATOR_VERSION}/analyticsaccelerator-s3-${ANALYTICS_ACCELERATOR_VERSION}.jar" \
               "org/apache/spark/spark-hadoop-cloud_${SCALA_BINARY_VERSION}/${SPARK_HADOOP_CLOUD_VERSION}/spark-hadoop-cloud_${SCALA_BINARY_VERSION}-${SPARK_HADOOP_CLOUD_VERSION}.jar"; do \
      out="${SPARK_HOME}/jars/$(basename "${jar}")"; \
      curl -fsSL -o "${out}" "${M}/${jar}"; \
      echo "$(curl -fsSL "${M}/${jar}.sha1" | cut -c1-40)  ${out}" | sha1sum -c -; \
    done; \
    ln -s "${SPARK_HOME}" /opt/spark
ENV SPARK_HOME=/opt/spark

# Only what the image runs (no .venv, .seed, .git): the package, DAGs at /opt/seed/dags (the chart's
# airflow.dagsFolder), the Spark entrypoint at /opt/seed/spark_jobs/stage.py (SparkApplications run
# local:///opt/seed/spark_jobs/stage.py). Installed in place (-e): seedlib/runner.py finds spark_jobs/
# beside the package, as in a checkout; a site-packages copy would look in site-packages/spark_jobs.
COPY pyproject.toml README.md ./
COPY seedlib ./seedlib
COPY dags ./dags
COPY spark_jobs ./spark_jobs
RUN pip install --no-deps -e . \
 && python -c "import seedlib.runner as r; assert (r.JOBS / 'stage.py').is_file(), r.JOBS"

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
