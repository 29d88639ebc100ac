"""The Helm chart helm/seed: lint, schema validation of what it renders, and what the objects say.

No cluster here: `helm template` renders the chart (helm v4 from the pinned PyPI wheel, see
tests/helm_tools.py) with every values file under helm/seed/ci/ and helm/seed/values-gpu.yaml,
kubernetes-validate checks every object (and the pod templates embedded in ConfigMaps) against the
Kubernetes OpenAPI schemas in strict mode, and the tests assert on values, the way Airflow's own
chart tests do.
"""

from __future__ import annotations

import base64
import json
import re

import kubernetes_validate
import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

from tests.helm_tools import CHART, CI_VALUES, EXAMPLE_VALUES, HelmError, REPO, helm_missing_reason, render, run_helm

_missing = helm_missing_reason()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

# Oldest and newest Kubernetes we claim (Chart.yaml kubeVersion >=1.29; helm 4.1 speaks 1.35).
KUBE_VERSIONS = ("1.31.0", "1.35.0")
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
TOKEN = "ghp_Zx9TestTokenThatMustNeverBeRendered0123"
EXTERNAL_DB = ["postgresql.enabled=false", "externalDatabase.existingSecret=seed-db", "externalDatabase.key=uri"]
LOCAL = ["seed.deployment=local"]
K8S_EXECUTOR = ["airflow.executor=KubernetesExecutor"]
VALUES_FILES = CI_VALUES + EXAMPLE_VALUES
FILE_IDS = [f.relative_to(CHART).as_posix() for f in VALUES_FILES]
# What the kubernetes-mode DAG tasks read from the SEED ConfigMap (the K8S-DAG side's contract).
K8S_ENV = {
    "SEED_K8S_NAMESPACE", "SEED_K8S_IMAGE", "SEED_K8S_IMAGE_PULL_POLICY", "SEED_K8S_SERVICE_ACCOUNT",
    "SEED_K8S_ENV_CONFIGMAP", "SEED_K8S_EXECUTORS", "SEED_K8S_GPU_POOL", "SEED_K8S_GPU_NODE_SELECTOR",
    "SEED_K8S_GPU_TOLERATIONS", "SEED_K8S_GPU_POD_TEMPLATE", "SEED_K8S_GPU_CHECK",
}


# --- helpers ------------------------------------------------------------------------------


def find(objs, kind, name=None):
    return [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objs, kind, name):
    found = find(objs, kind, name)
    assert len(found) == 1, f"expected one {kind}/{name}, got {[o['metadata']['name'] for o in find(objs, kind)]}"
    return found[0]


def pod_specs(objs):
    """(owner name, pod spec) for every workload, including the migrate Job."""
    for o in objs:
        if o["kind"] in ("Deployment", "StatefulSet", "Job"):
            yield o["metadata"]["name"], o["spec"]["template"]["spec"]


def all_containers(objs):
    for owner, spec in pod_specs(objs):
        for c in spec.get("initContainers", []) + spec["containers"]:
            yield owner, c


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def embedded_pods(objs):
    """Pod templates carried in ConfigMaps (Spark driver/executor, GPU jobs)."""
    for cm in find(objs, "ConfigMap"):
        for key, text in cm.get("data", {}).items():
            if key.endswith("pod-template.yaml"):
                yield f"{cm['metadata']['name']}/{key}", yaml.safe_load(text)


def secret_values(objs):
    return [base64.b64decode(v).decode() for s in find(objs, "Secret") for v in s.get("data", {}).values()]


def main_container(objs, component):
    return one(objs, "Deployment", f"seed-{component}")["spec"]["template"]["spec"]["containers"][0]


def seed_env(objs):
    return one(objs, "ConfigMap", "seed-config")["data"]


def rules_of(objs, kind, name):
    """{(apiGroup, resource): set of verbs} of a Role/ClusterRole."""
    out = {}
    for rule in one(objs, kind, name)["rules"]:
        for group in rule["apiGroups"]:
            for res in rule["resources"]:
                out.setdefault((group, res), set()).update(rule["verbs"])
    return out


def worker_pod(objs):
    return yaml.safe_load(one(objs, "ConfigMap", "seed-worker-pod")["data"]["pod-template.yaml"])


def gpu_pod(objs):
    return yaml.safe_load(one(objs, "ConfigMap", "seed-gpu")["data"]["gpu-pod-template.yaml"])


def spec_of_worker_volumes(objs):
    return {v["name"] for v in worker_pod(objs)["spec"]["volumes"]}


@pytest.fixture(scope="module")
def default_objs():
    return render()


# --- lint and schemas -----------------------------------------------------------------------


def test_ci_values_cover_every_configuration():
    names = {f.stem for f in CI_VALUES}
    assert {"default", "kubernetes-executor", "gpu", "remote-logs", "existing-secrets", "external-db",
            "local-deployment"} <= names


@pytest.mark.parametrize("values_file", VALUES_FILES, ids=FILE_IDS)
def test_helm_lint_strict_with_each_values_file(values_file):
    out = run_helm("lint", str(CHART), "--strict", "--namespace", "seed", "-f", str(values_file))
    assert "1 chart(s) linted, 0 chart(s) failed" in out


@pytest.mark.parametrize(
    "set_values",
    [[], EXTERNAL_DB, LOCAL + ["migrateDatabaseJob.useHelmHooks=false"]],
    ids=["defaults", "external-db", "local-no-hooks"],
)
def test_helm_lint_strict(set_values):
    args = ["lint", str(CHART), "--strict", "--namespace", "seed"]
    for item in set_values:
        args += ["--set", item]
    out = run_helm(*args)
    assert "0 chart(s) failed" in out


def test_install_notes_render_without_a_cluster():
    out = run_helm(
        "install",
        "seed",
        str(CHART),
        "--namespace",
        "seed",
        "--dry-run=client",
        "--set",
        "secrets.existingSecret=seed-credentials",
    )
    notes = out.split("NOTES:", 1)[1]
    assert "kubectl -n seed port-forward svc/seed-api-server 8080:8080" in notes
    assert "Credentials: Secret seed-credentials" in notes


def test_notes_warn_when_kubernetes_executor_logs_would_be_lost():
    args = ["install", "seed", str(CHART), "--namespace", "seed", "--dry-run=client", "--set", K8S_EXECUTOR[0]]
    notes = run_helm(*args).split("NOTES:", 1)[1]
    assert "WARNING: KubernetesExecutor without logs.remote.enabled" in notes
    notes = run_helm(*args, "-f", str(CHART / "ci" / "kubernetes-executor.yaml")).split("NOTES:", 1)[1]
    assert "WARNING" not in notes and "Task logs: s3://seed-logs/airflow" in notes


@pytest.mark.parametrize("name", ["values.yaml", "Chart.yaml", *FILE_IDS])
def test_yamllint_relaxed(name):
    conf = YamlLintConfig("extends: relaxed\nrules:\n  line-length: {max: 120}\n")
    problems = list(linter.run((CHART / name).read_text(), conf))
    assert problems == [], [str(p) for p in problems]


VARIANTS = {
    "defaults": [],
    "local-spark": LOCAL + ["spark.master=local"],
    "local-kubernetes-executor": LOCAL + K8S_EXECUTOR,
    "everything-set": [
        "secrets.existingSecret=seed-credentials",
        "airflow.existingSecret=seed-airflow-keys",
        "airflow.simpleAuthManagerPasswordsSecret=seed-ui-passwords",
        "postgresql.auth.existingSecret=seed-pg",
        "seed.s3EndpointUrl=http://minio.storage:9000",
        "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::123456789012:role/seed",
        "imagePullSecrets[0].name=regcred",
        "gpu.nodeSelector.nvidia\\.com/gpu\\.present=true",
        "airflow.executor=KubernetesExecutor",
        "logs.remote.enabled=true",
        "logs.remote.baseFolder=s3://seed-logs/airflow",
        "nodeSelector.seed/pool=true",
        "airflow.extraEnv[0].name=AIRFLOW__CORE__PARALLELISM,airflow.extraEnv[0].value=8",
        "spark.executors=8",
        "postgresql.persistence.storageClass=gp3",
    ],
}
RENDERINGS = [({"values_files": [f]}, i) for f, i in zip(VALUES_FILES, FILE_IDS)] + [
    ({"set_values": v}, k) for k, v in VARIANTS.items()
]


@pytest.mark.parametrize("kwargs", [r[0] for r in RENDERINGS], ids=[r[1] for r in RENDERINGS])
def test_rendered_objects_validate_against_kubernetes_schemas(kwargs):
    objs = render(**kwargs)
    assert objs
    for version in KUBE_VERSIONS:
        for o in objs:
            try:
                kubernetes_validate.validate(o, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                pytest.fail(f"{o['kind']}/{o['metadata']['name']} invalid for Kubernetes {version}: {e.message}")
        for where, pod in embedded_pods(objs):
            try:
                kubernetes_validate.validate(pod, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                pytest.fail(f"{where} invalid for Kubernetes {version}: {e.message}")


# --- Airflow components -----------------------------------------------------------------------


def test_components_run_airflow_from_the_project_image():
    objs = render(set_values=["image.repository=registry.example/seed-data", "image.tag=1.2.3"])
    for comp in COMPONENTS:
        dep = one(objs, "Deployment", f"seed-{comp}")
        main = dep["spec"]["template"]["spec"]["containers"][0]
        assert main["command"] + main["args"] == ["airflow", comp]
        assert main["image"] == "registry.example/seed-data:1.2.3"
        env = env_of(main)
        assert env["AIRFLOW__CORE__DAGS_FOLDER"]["value"] == "/opt/seed/dags"
        assert env["AIRFLOW__CORE__EXECUTOR"]["value"] == "LocalExecutor"
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]["value"] == "http://seed-api-server:8080/execution/"
        assert dep["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == comp
        init = dep["spec"]["template"]["spec"]["initContainers"][0]
        assert init["command"][:3] == ["airflow", "db", "check-migrations"]
    assert {d["metadata"]["name"] for d in find(objs, "Deployment")} == {f"seed-{c}" for c in COMPONENTS}


def test_image_tag_defaults_to_app_version(default_objs):
    app_version = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
    main = one(default_objs, "Deployment", "seed-scheduler")["spec"]["template"]["spec"]["containers"][0]
    assert main["image"] == f"seed-data:{app_version}"


def test_api_server_service_and_health_probes(default_objs):
    svc = one(default_objs, "Service", "seed-api-server")
    assert svc["spec"]["ports"] == [{"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}]
    dep = one(default_objs, "Deployment", "seed-api-server")
    assert svc["spec"]["selector"].items() <= dep["spec"]["template"]["metadata"]["labels"].items()
    main = dep["spec"]["template"]["spec"]["containers"][0]
    assert main["ports"][0]["containerPort"] == 8080
    for probe in ("livenessProbe", "readinessProbe"):
        assert main[probe]["httpGet"] == {"path": "/api/v2/monitor/health", "port": "http"}


def tokens(objs):
    return {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]["automountServiceAccountToken"]
        for d in find(objs, "Deployment")
    }


def test_only_the_scheduler_mounts_a_kubernetes_token(default_objs):
    # LocalExecutor in kubernetes mode: the tasks in the scheduler submit SparkApplications and GPU pods.
    assert tokens(default_objs) == {
        "seed-api-server": False,
        "seed-scheduler": True,
        "seed-dag-processor": False,
        "seed-triggerer": False,
    }


def test_local_mode_with_local_executor_never_calls_the_kubernetes_api():
    objs = render(set_values=LOCAL)
    assert set(tokens(objs).values()) == {False}
    assert find(objs, "Role") == find(objs, "RoleBinding") == find(objs, "ClusterRole") == []
    assert find(objs, "ConfigMap", "seed-gpu") == []


def test_pods_run_as_non_root_without_privilege_escalation(default_objs):
    for owner, spec in pod_specs(default_objs):
        assert spec["securityContext"]["runAsNonRoot"] is True, owner
    for owner, c in all_containers(default_objs):
        assert c["securityContext"]["allowPrivilegeEscalation"] is False, (owner, c["name"])
        assert c["securityContext"]["capabilities"]["drop"] == ["ALL"], (owner, c["name"])
    for where, pod in embedded_pods(default_objs):
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True, where


def test_standard_labels_on_every_object(default_objs):
    app_version = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
    for o in default_objs:
        labels = o["metadata"]["labels"]
        where = f"{o['kind']}/{o['metadata']['name']}"
        assert labels["app.kubernetes.io/name"] == "seed", where
        assert labels["app.kubernetes.io/instance"] == "seed", where
        assert labels["app.kubernetes.io/version"] == app_version, where
        assert labels["app.kubernetes.io/managed-by"] == "Helm", where
        assert labels["app.kubernetes.io/component"], where


# --- metadata DB and secrets ------------------------------------------------------------------


def test_sql_connection_comes_from_a_secret_key_ref(default_objs):
    seen = 0
    for owner, c in all_containers(default_objs):
        conn = env_of(c).get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
        if c["name"] == "postgresql":
            continue
        assert conn is not None, (owner, c["name"])
        assert "value" not in conn
        assert conn["valueFrom"]["secretKeyRef"] == {"name": "seed-metadata", "key": "connection"}
        seen += 1
    assert seen >= 2 * len(COMPONENTS) + 1  # main + wait-for-migrations per component, plus the Job


def test_generated_credentials_never_leave_their_secrets(default_objs):
    metadata = one(default_objs, "Secret", "seed-metadata")["data"]
    password = base64.b64decode(metadata["password"]).decode()
    url = base64.b64decode(metadata["connection"]).decode()
    assert len(password) >= 24
    assert url == f"postgresql+psycopg2://airflow:{password}@seed-postgresql.seed.svc:5432/airflow"
    fernet = base64.b64decode(one(default_objs, "Secret", "seed-airflow")["data"]["fernet-key"])
    assert len(base64.urlsafe_b64decode(fernet)) == 32  # a valid Fernet key
    secrets = secret_values(default_objs)
    outside = yaml.safe_dump_all([o for o in default_objs if o["kind"] != "Secret"])
    for value in secrets:
        assert value not in outside
    assert "postgresql+psycopg2://" not in outside
    for _, c in all_containers(default_objs):
        for e in c.get("env", []):
            assert e.get("value") not in secrets


def test_existing_secrets_replace_generated_ones():
    objs = render(set_values=["airflow.existingSecret=seed-airflow-keys", "postgresql.auth.existingSecret=seed-pg"])
    assert find(objs, "Secret") == []
    env = env_of(one(objs, "Deployment", "seed-api-server")["spec"]["template"]["spec"]["containers"][0])
    for name, key in [
        ("AIRFLOW__CORE__FERNET_KEY", "fernet-key"),
        ("AIRFLOW__API_AUTH__JWT_SECRET", "jwt-secret"),
        ("AIRFLOW__API__SECRET_KEY", "api-secret-key"),
    ]:
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": "seed-airflow-keys", "key": key}
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]["valueFrom"]["secretKeyRef"]["name"] == "seed-pg"
    pg = one(objs, "StatefulSet", "seed-postgresql")["spec"]["template"]["spec"]["containers"][0]
    assert env_of(pg)["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "seed-pg", "key": "password"}


def test_bundled_postgres_is_a_statefulset_with_a_pvc(default_objs):
    sts = one(default_objs, "StatefulSet", "seed-postgresql")
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "8Gi"
    assert one(default_objs, "Service", "seed-postgresql")["spec"]["ports"][0]["port"] == 5432


def test_external_database_mode_removes_the_bundled_postgres():
    objs = render(set_values=EXTERNAL_DB)
    assert find(objs, "StatefulSet") == []
    assert find(objs, "Service", "seed-postgresql") == []
    assert find(objs, "Secret", "seed-metadata") == []
    for _, c in all_containers(objs):
        conn = env_of(c)["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert conn["valueFrom"]["secretKeyRef"] == {"name": "seed-db", "key": "uri"}


def test_external_database_mode_requires_the_secret_name():
    with pytest.raises(HelmError, match=r"externalDatabase\.existingSecret"):
        render(set_values=["postgresql.enabled=false"])


def test_migrate_job_is_a_hook_running_airflow_db_migrate():
    for set_values, hook in [(EXTERNAL_DB, "pre-install,pre-upgrade"), ([], "post-install,pre-upgrade")]:
        job = one(render(set_values=set_values), "Job", "seed-migrate-db")
        # The bundled Postgres is created with the release, so on install the Job must run after it.
        assert job["metadata"]["annotations"]["helm.sh/hook"] == hook
        main = job["spec"]["template"]["spec"]["containers"][0]
        assert main["command"] == ["bash", "-ec"]
        assert main["args"][0].startswith("airflow db migrate && airflow pools set ")
        # A pre-install hook runs before the chart's ServiceAccounts exist: it must not need one.
        assert "serviceAccountName" not in job["spec"]["template"]["spec"]


def test_migrate_job_without_hooks_is_a_job_per_revision():
    job = find(render(set_values=["migrateDatabaseJob.useHelmHooks=false"]), "Job")[0]
    assert job["metadata"]["name"] == "seed-migrate-db-1"
    assert "annotations" not in job["metadata"]


# --- pipeline configuration ---------------------------------------------------------------------


def test_seed_configmap_takes_values_from_set():
    objs = render(
        set_values=LOCAL + [
            "seed.storage=s3://my-bucket/curated",
            "seed.s3EndpointUrl=http://minio.storage:9000",
            "seed.sources={https://github.com/psf/requests,file:///data/repo}",
            "seed.languages={python,java,go}",
            "seed.extraEnv.SEED_NEAR_DEDUP_THRESHOLD=0.7",
        ]
    )
    assert one(objs, "ConfigMap", "seed-config")["data"] == {
        "SEED_DEPLOYMENT": "local",
        "SEED_STORAGE": "s3://my-bucket/curated",
        "SEED_S3_ENDPOINT_URL": "http://minio.storage:9000",
        "SEED_SPARK_MASTER": "local[*]",
        "SEED_SOURCES": "https://github.com/psf/requests,file:///data/repo",
        "SEED_LANGUAGES": "python,java,go",
        "SEED_NEAR_DEDUP_THRESHOLD": "0.7",
    }
    conf = one(objs, "ConfigMap", "seed-spark")["data"]["spark-defaults.conf"]
    assert "spark.hadoop.fs.s3a.endpoint http://minio.storage:9000" in conf.splitlines()


def test_seed_configmap_in_local_mode_has_the_spark_master_and_no_k8s_keys():
    assert seed_env(render(set_values=LOCAL)) == {
        "SEED_DEPLOYMENT": "local",
        "SEED_STORAGE": "s3://seed-data/seed",
        "SEED_SPARK_MASTER": "local[*]",
    }


def test_seed_configmap_in_kubernetes_mode_gives_the_dag_tasks_what_they_need(default_objs):
    env = seed_env(default_objs)
    assert set(env) == {"SEED_DEPLOYMENT", "SEED_STORAGE"} | K8S_ENV  # no Secret: none configured
    assert env["SEED_DEPLOYMENT"] == "kubernetes"
    assert env["SEED_K8S_NAMESPACE"] == "seed"
    assert env["SEED_K8S_IMAGE"] == "seed-data:0.1.0"
    assert env["SEED_K8S_IMAGE_PULL_POLICY"] == "IfNotPresent"
    assert env["SEED_K8S_SERVICE_ACCOUNT"] == "seed-jobs"
    assert env["SEED_K8S_ENV_CONFIGMAP"] == "seed-config"
    assert env["SEED_K8S_EXECUTORS"] == "2"
    assert env["SEED_K8S_GPU_POOL"] == "gpu"
    assert json.loads(env["SEED_K8S_GPU_NODE_SELECTOR"]) == {}
    assert json.loads(env["SEED_K8S_GPU_TOLERATIONS"]) == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    # The template path is where the Airflow pods mount ConfigMap seed-gpu.
    assert env["SEED_K8S_GPU_POD_TEMPLATE"] == "/opt/seed/k8s/gpu-pod-template.yaml"
    scheduler = main_container(default_objs, "scheduler")
    assert {"name": "gpu-pod-template", "mountPath": "/opt/seed/k8s", "readOnly": True} in scheduler["volumeMounts"]
    volumes = one(default_objs, "Deployment", "seed-scheduler")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "gpu-pod-template", "configMap": {"name": "seed-gpu"}} in volumes


@pytest.mark.parametrize("values_file", VALUES_FILES, ids=FILE_IDS)
def test_seed_configmap_is_a_valid_pipeline_configuration(values_file):
    # Every SEED_* the chart writes is a configuration key the pipeline accepts (an unknown one fails the
    # run, naming it), with a value its validation accepts; and it lands where the chart meant it to.
    from seedlib.config import load_config

    objs = render(values_files=[values_file])
    env = seed_env(objs)
    config = load_config(environ=env)
    assert config.run.deployment == env["SEED_DEPLOYMENT"]
    if env["SEED_DEPLOYMENT"] == "kubernetes":
        k8s = config.kubernetes
        assert (k8s.namespace, k8s.image, k8s.service_account, k8s.env_configmap) == (
            "seed", env["SEED_K8S_IMAGE"], "seed-jobs", "seed-config")
        (job,) = find(objs, "Job")
        migrate = job["spec"]["template"]["spec"]["containers"][0]
        assert k8s.gpu_pool == env_of(migrate)["GPU_POOL_NAME"]["value"]  # the pool the Job creates
        assert json.loads(k8s.gpu_node_selector) == gpu_pod(objs)["spec"].get("nodeSelector", {})
        assert k8s.gpu_pod_template == "/opt/seed/k8s/gpu-pod-template.yaml"


def test_seed_configmap_names_the_credentials_secret_and_takes_values():
    objs = render(
        set_values=[
            "secrets.existingSecret=seed-credentials",
            "image.repository=registry.example/seed-data",
            "image.tag=1.2.3",
            "image.pullPolicy=Always",
            "spark.executors=6",
            "gpu.pool.name=a100",
            "gpu.nodeSelector.nvidia\\.com/gpu\\.present=true",
            "fullnameOverride=curation",
        ]
    )
    env = one(objs, "ConfigMap", "curation-config")["data"]
    assert env["SEED_K8S_ENV_SECRET"] == "seed-credentials"
    assert env["SEED_K8S_ENV_CONFIGMAP"] == "curation-config"
    assert env["SEED_K8S_IMAGE"] == "registry.example/seed-data:1.2.3"
    assert env["SEED_K8S_IMAGE_PULL_POLICY"] == "Always"
    assert env["SEED_K8S_SERVICE_ACCOUNT"] == "curation-jobs"
    assert env["SEED_K8S_EXECUTORS"] == "6"
    assert env["SEED_K8S_GPU_POOL"] == "a100"
    # --set turns "true" into a boolean; a nodeSelector value must stay a string.
    assert json.loads(env["SEED_K8S_GPU_NODE_SELECTOR"]) == {"nvidia.com/gpu.present": "true"}
    assert {a["metadata"]["name"] for a in find(objs, "ServiceAccount")} == {"curation", "curation-jobs"}


def test_config_and_credentials_reach_every_airflow_container_and_spark_pod():
    objs = render(set_values=["secrets.existingSecret=seed-credentials"])
    expected = [
        {"configMapRef": {"name": "seed-config"}},
        {"secretRef": {"name": "seed-credentials", "optional": True}},
    ]
    for comp in COMPONENTS:
        main = one(objs, "Deployment", f"seed-{comp}")["spec"]["template"]["spec"]["containers"][0]
        assert main["envFrom"] == expected, comp
    for where, pod in embedded_pods(objs):
        assert pod["spec"]["containers"][0]["envFrom"] == expected, where


def test_config_changes_roll_the_pods(default_objs):
    changed = render(set_values=["seed.storage=s3://other/prefix"])
    before = one(default_objs, "Deployment", "seed-scheduler")["spec"]["template"]["metadata"]["annotations"]
    after = one(changed, "Deployment", "seed-scheduler")["spec"]["template"]["metadata"]["annotations"]
    assert before["checksum/seed-config"] != after["checksum/seed-config"]


@pytest.mark.parametrize(
    "set_value",
    [
        f"secrets.githubToken={TOKEN}",
        f"seed.extraEnv.SEED_GITHUB_TOKEN={TOKEN}",
        f"externalDatabase.password={TOKEN}",
        f"postgresql.auth.password={TOKEN}",
        f"airflow.fernetKey={TOKEN}",
        f"spark.conf.spark\\.hadoop\\.fs\\.s3a\\.secret\\.key={TOKEN}",
        f"airflow.extraEnv[0].name=AIRFLOW_CONN_GITHUB,airflow.extraEnv[0].value={TOKEN}",
        f"airflow.extraEnv[0].name=AWS_SECRET_ACCESS_KEY,airflow.extraEnv[0].value={TOKEN}",
    ],
)
def test_secret_literals_in_values_are_refused(set_value):
    with pytest.raises(HelmError) as err:
        render(set_values=[set_value])
    assert "schema" in str(err.value)
    assert TOKEN not in str(err.value)  # not even echoed into CI logs


def test_secret_for_extra_env_passes_only_as_a_secret_key_ref():
    objs = render(
        set_values=[
            "airflow.extraEnv[0].name=AIRFLOW_CONN_GITHUB",
            "airflow.extraEnv[0].valueFrom.secretKeyRef.name=github-conn",
            "airflow.extraEnv[0].valueFrom.secretKeyRef.key=uri",
            "airflow.extraEnv[1].name=AIRFLOW__CORE__PARALLELISM",
            "airflow.extraEnv[1].value=8",
        ]
    )
    env = env_of(one(objs, "Deployment", "seed-scheduler")["spec"]["template"]["spec"]["containers"][0])
    assert env["AIRFLOW_CONN_GITHUB"] == {
        "name": "AIRFLOW_CONN_GITHUB",
        "valueFrom": {"secretKeyRef": {"name": "github-conn", "key": "uri"}},
    }
    assert env["AIRFLOW__CORE__PARALLELISM"]["value"] == "8"


# --- Spark and GPU ------------------------------------------------------------------------------


def spark_conn(objs):
    return json.loads(env_of(main_container(objs, "scheduler"))["AIRFLOW_CONN_SPARK_LOCAL"]["value"])


def test_kubernetes_mode_has_an_in_cluster_connection_and_no_spark_submit_wiring(default_objs):
    env = env_of(main_container(default_objs, "scheduler"))
    assert json.loads(env["AIRFLOW_CONN_KUBERNETES_DEFAULT"]["value"]) == {
        "conn_type": "kubernetes",
        "extra": {"in_cluster": True, "namespace": "seed"},
    }
    assert "AIRFLOW_CONN_SPARK_LOCAL" not in env and "SPARK_CONF_DIR" not in env
    assert find(default_objs, "ConfigMap", "seed-spark") == []


def test_local_mode_submits_to_the_configured_master_in_client_mode():
    objs = render(set_values=LOCAL + ["spark.master=spark://spark-master:7077", "spark.conf.spark\\.cores\\.max=8"])
    assert spark_conn(objs) == {
        "conn_type": "spark", "host": "spark://spark-master:7077", "extra": {"deploy-mode": "client"}
    }
    assert seed_env(objs)["SEED_SPARK_MASTER"] == "spark://spark-master:7077"
    conf = one(objs, "ConfigMap", "seed-spark")["data"]["spark-defaults.conf"].splitlines()
    assert conf == ["spark.master spark://spark-master:7077", "spark.cores.max 8"]
    scheduler = main_container(objs, "scheduler")
    assert env_of(scheduler)["SPARK_CONF_DIR"]["value"] == "/opt/seed/spark-conf"
    assert {"name": "spark-conf", "mountPath": "/opt/seed/spark-conf", "readOnly": True} in scheduler["volumeMounts"]
    assert "AIRFLOW_CONN_KUBERNETES_DEFAULT" not in env_of(scheduler)


def test_local_mode_defaults_to_local_spark():
    objs = render(set_values=LOCAL + ["spark.master=local"])
    assert spark_conn(objs) == {"conn_type": "spark", "host": "local[*]", "extra": {"deploy-mode": "client"}}


def test_a_k8s_spark_master_is_refused_in_favour_of_the_spark_operator():
    with pytest.raises(HelmError, match=r"spark\.master"):
        render(set_values=LOCAL + ["spark.master=k8s://https://kubernetes.default.svc:443"])


def test_airflow_role_manages_spark_applications_and_pods(default_objs):
    rules = rules_of(default_objs, "Role", "seed-airflow")
    assert {"create", "get", "list", "watch", "delete"} <= rules[("sparkoperator.k8s.io", "sparkapplications")]
    assert {"get"} <= rules[("sparkoperator.k8s.io", "sparkapplications/status")]
    assert {"create", "get", "list", "watch", "delete"} <= rules[("", "pods")]
    assert {"get"} <= rules[("", "pods/log")]
    assert {"list"} <= rules[("", "events")]
    # Nothing cluster-wide or secret-reading in the namespace Role.
    assert ("", "secrets") not in rules and ("", "nodes") not in rules
    binding = one(default_objs, "RoleBinding", "seed-airflow")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "seed-airflow"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "seed", "namespace": "seed"}]


def test_spark_driver_role_manages_executors_and_is_bound_to_the_jobs_account(default_objs):
    rules = rules_of(default_objs, "Role", "seed-spark-driver")
    for res in ("pods", "services", "configmaps", "persistentvolumeclaims"):
        assert {"create", "get", "list", "watch", "delete"} <= rules[("", res)], res
    binding = one(default_objs, "RoleBinding", "seed-spark-driver")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "seed-jobs", "namespace": "seed"}]


def test_nodes_are_readable_cluster_wide_unless_turned_off(default_objs):
    assert rules_of(default_objs, "ClusterRole", "seed-seed-nodes") == {("", "nodes"): {"get", "list"}}
    binding = one(default_objs, "ClusterRoleBinding", "seed-seed-nodes")
    assert binding["roleRef"]["kind"] == "ClusterRole"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "seed", "namespace": "seed"}]
    objs = render(set_values=["rbac.listNodes=false", "gpu.checkNodes=false"])
    assert find(objs, "ClusterRole") == find(objs, "ClusterRoleBinding") == []
    assert find(objs, "Role", "seed-airflow")  # the namespace Roles stay


def test_gpu_node_check_needs_the_nodes_role():
    with pytest.raises(HelmError, match=r"gpu\.checkNodes"):
        render(set_values=["rbac.listNodes=false"])
    objs = render(set_values=["rbac.listNodes=false", "gpu.checkNodes=false"])
    assert seed_env(objs)["SEED_K8S_GPU_CHECK"] == "false" and find(objs, "ClusterRole") == []
    assert seed_env(render())["SEED_K8S_GPU_CHECK"] == "true"


def test_rbac_create_false_renders_no_roles():
    objs = render(set_values=["rbac.create=false"])
    assert [o for o in objs if o["kind"] in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")] == []


def test_service_accounts_carry_irsa_annotations():
    arn = "arn:aws:iam::123456789012:role/seed"
    objs = render(set_values=[f"serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn={arn}"])
    accounts = find(objs, "ServiceAccount")
    assert {a["metadata"]["name"] for a in accounts} == {"seed", "seed-jobs"}
    for a in accounts:
        assert a["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": arn}


def test_gpu_pod_template_carries_node_selector_tolerations_and_gpus():
    objs = render(
        values={
            "gpu": {
                "nodeSelector": {"node.kubernetes.io/instance-type": "p5.48xlarge"},
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                "resources": {"limits": {"nvidia.com/gpu": 8, "memory": "200Gi"}},
            }
        }
    )
    pod = gpu_pod(objs)
    assert pod["spec"]["nodeSelector"] == {"node.kubernetes.io/instance-type": "p5.48xlarge"}
    assert pod["spec"]["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert pod["spec"]["serviceAccountName"] == "seed-jobs"
    assert pod["spec"]["automountServiceAccountToken"] is False  # GPU jobs never call the API
    base = pod["spec"]["containers"][0]
    assert base["name"] == "base"
    assert base["resources"]["limits"] == {"nvidia.com/gpu": 8, "memory": "200Gi"}
    assert base["image"] == "seed-data:0.1.0"


def test_values_gpu_example_agrees_between_configmap_and_pod_template():
    values = yaml.safe_load((CHART / "values-gpu.yaml").read_text())["gpu"]
    objs = render(values_files=EXAMPLE_VALUES, set_values=["image.repository=registry.example/seed-data"])
    env, pod = seed_env(objs), gpu_pod(objs)
    # What a task checks (SEED_K8S_*) is what the pod it launches asks for.
    assert json.loads(env["SEED_K8S_GPU_NODE_SELECTOR"]) == pod["spec"]["nodeSelector"] == values["nodeSelector"]
    assert json.loads(env["SEED_K8S_GPU_TOLERATIONS"]) == pod["spec"]["tolerations"] == values["tolerations"]
    base = pod["spec"]["containers"][0]
    assert base["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert base["image"] == "registry.example/seed-data:" + values["image"]["tag"]
    assert env["SEED_K8S_IMAGE"] == "registry.example/seed-data:0.1.0"  # Spark keeps the CPU image
    job = one(objs, "Job", "seed-migrate-db")["spec"]["template"]["spec"]["containers"][0]
    assert env_of(job)["GPU_POOL_SLOTS"]["value"] == str(values["pool"]["slots"])


# --- GPU pool ---------------------------------------------------------------------------------------


def test_migrate_job_creates_the_gpu_pool_after_migrating():
    objs = render(set_values=["gpu.pool.name=gpu-a100", "gpu.pool.slots=3"])
    job = one(objs, "Job", "seed-migrate-db")["spec"]["template"]["spec"]["containers"][0]
    assert job["command"] == ["bash", "-ec"]
    script = job["args"][0]
    # migrate first (the pool table must exist), then `pools set`, which creates or updates (idempotent).
    assert script == 'airflow db migrate && airflow pools set "$GPU_POOL_NAME" "$GPU_POOL_SLOTS" "$GPU_POOL_DESCRIPTION"'
    env = env_of(job)
    assert env["GPU_POOL_NAME"]["value"] == "gpu-a100"
    assert env["GPU_POOL_SLOTS"]["value"] == "3"
    assert env["GPU_POOL_DESCRIPTION"]["value"]
    assert seed_env(objs)["SEED_K8S_GPU_POOL"] == "gpu-a100"


@pytest.mark.parametrize("bad", ["gpu.pool.slots=0", "gpu.pool.name=two words"])
def test_bad_gpu_pool_values_are_refused(bad):
    with pytest.raises(HelmError, match="schema"):
        render(set_values=[bad])


# --- KubernetesExecutor -----------------------------------------------------------------------------


def test_kubernetes_executor_env_and_mounted_pod_template():
    objs = render(set_values=K8S_EXECUTOR + ["image.repository=registry.example/seed-data", "image.tag=1.2.3"])
    scheduler = main_container(objs, "scheduler")
    env = env_of(scheduler)
    assert env["AIRFLOW__CORE__EXECUTOR"]["value"] == "KubernetesExecutor"
    assert env["AIRFLOW__KUBERNETES_EXECUTOR__NAMESPACE"]["value"] == "seed"
    assert env["AIRFLOW__KUBERNETES_EXECUTOR__POD_TEMPLATE_FILE"]["value"] == "/opt/seed/worker/pod-template.yaml"
    assert env["AIRFLOW__KUBERNETES_EXECUTOR__WORKER_CONTAINER_REPOSITORY"]["value"] == "registry.example/seed-data"
    assert env["AIRFLOW__KUBERNETES_EXECUTOR__WORKER_CONTAINER_TAG"]["value"] == "1.2.3"
    assert env["AIRFLOW__KUBERNETES_EXECUTOR__DELETE_WORKER_PODS"]["value"] == "True"
    mount = {"name": "worker-pod-template", "mountPath": "/opt/seed/worker", "readOnly": True}
    assert mount in scheduler["volumeMounts"]
    volumes = one(objs, "Deployment", "seed-scheduler")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "worker-pod-template", "configMap": {"name": "seed-worker-pod"}} in volumes
    assert tokens(objs)["seed-scheduler"] is True


def test_worker_pod_template_runs_tasks_like_the_scheduler_would():
    objs = render(set_values=K8S_EXECUTOR + ["secrets.existingSecret=seed-credentials"])
    pod = worker_pod(objs)
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["serviceAccountName"] == "seed"  # it submits SparkApplications and GPU pods
    assert spec["automountServiceAccountToken"] is True
    (base,) = spec["containers"]
    assert base["name"] == "base"  # the name the KubernetesExecutor requires
    assert base["image"] == "seed-data:0.1.0"
    assert base["envFrom"] == [
        {"configMapRef": {"name": "seed-config"}},
        {"secretRef": {"name": "seed-credentials", "optional": True}},
    ]
    env = env_of(base)
    sched_env = env_of(main_container(objs, "scheduler"))
    for name in ("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "AIRFLOW__CORE__DAGS_FOLDER",
                 "AIRFLOW_CONN_KUBERNETES_DEFAULT"):
        assert env[name] == sched_env[name], name
    conn = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert conn["valueFrom"]["secretKeyRef"] == {"name": "seed-metadata", "key": "connection"}
    mounts = {m["mountPath"]: m["name"] for m in base["volumeMounts"]}
    assert mounts["/opt/seed/k8s"] == "gpu-pod-template"
    assert mounts["/opt/airflow/logs"] == "logs"
    assert {v["name"] for v in spec["volumes"]} >= set(mounts.values())


def test_the_kubernetes_executor_builds_its_worker_pods_from_the_template(tmp_path):
    # The provider the image runs turns our template into a task's pod: base container kept, image and
    # command filled in, our ServiceAccount, configuration and mounts carried over.
    from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator

    objs = render(values_files=[CHART / "ci" / "kubernetes-executor.yaml"])
    template = tmp_path / "pod-template.yaml"
    template.write_text(one(objs, "ConfigMap", "seed-worker-pod")["data"]["pod-template.yaml"])
    pod = PodGenerator.construct_pod(
        dag_id="seed_snapshot", task_id="crawl", pod_id="seed-snapshot-crawl", try_number=1,
        kube_image="seed-data:0.1.0", date=None, args=["airflow", "tasks", "run", "..."], pod_override_object=None,
        base_worker_pod=PodGenerator.deserialize_model_file(str(template)), namespace="seed", scheduler_job_id="1",
        run_id="manual__2026-12-01", map_index=-1, with_mutation_hook=False,
    )
    (base,) = pod.spec.containers
    assert base.name == "base" and base.image == "seed-data:0.1.0" and base.args == ["airflow", "tasks", "run", "..."]
    assert pod.spec.service_account_name == "seed" and pod.metadata.namespace == "seed"
    assert [e.config_map_ref.name for e in base.env_from if e.config_map_ref] == ["seed-config"]
    env = {e.name: e for e in base.env}
    assert env["AIRFLOW__LOGGING__REMOTE_LOGGING"].value == "True"
    assert env["AIRFLOW__CORE__FERNET_KEY"].value_from.secret_key_ref.name == "seed-airflow"
    assert {m.mount_path for m in base.volume_mounts} >= {"/opt/airflow/logs", "/opt/seed/k8s"}


def test_kubernetes_executor_in_local_mode_still_gets_pod_rights_but_no_spark_applications():
    objs = render(set_values=LOCAL + K8S_EXECUTOR)
    rules = rules_of(objs, "Role", "seed-airflow")
    assert {"create", "list", "watch", "delete"} <= rules[("", "pods")]
    assert not any(group == "sparkoperator.k8s.io" for group, _ in rules)
    assert find(objs, "Role", "seed-spark-driver") == [] and find(objs, "ClusterRole") == []
    assert spec_of_worker_volumes(objs) >= {"spark-conf", "worker-pod-template", "logs"}


def test_the_executor_is_an_enumerated_choice():
    with pytest.raises(HelmError, match="schema"):
        render(set_values=["airflow.executor=SequentialExecutor"])


# --- remote task logs -------------------------------------------------------------------------------


def test_remote_logs_on_s3_set_airflow_logging_and_a_keyless_connection():
    objs = render(values_files=[CHART / "ci" / "remote-logs.yaml"])
    for comp in COMPONENTS:
        env = env_of(main_container(objs, comp))
        assert env["AIRFLOW__LOGGING__REMOTE_LOGGING"]["value"] == "True", comp
        assert env["AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER"]["value"] == "s3://seed-logs/airflow"
        assert env["AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID"]["value"] == "seed_logs_s3"
        assert env["AIRFLOW__LOGGING__ENCRYPT_S3_LOGS"]["value"] == "False"
        conn = json.loads(env["AIRFLOW_CONN_SEED_LOGS_S3"]["value"])
        assert conn == {
            "conn_type": "aws",
            "extra": {
                "endpoint_url": "http://minio.storage.svc:9000",
                "config_kwargs": {"s3": {"addressing_style": "path"}},
            },
        }


def test_remote_logs_reach_the_worker_pods_and_can_use_an_outside_connection():
    ci_file = CHART / "ci" / "kubernetes-executor.yaml"
    objs = render(values_files=[ci_file], set_values=["logs.remote.createConnection=false"])
    env = env_of(worker_pod(objs)["spec"]["containers"][0])
    assert env["AIRFLOW__LOGGING__REMOTE_LOGGING"]["value"] == "True"
    assert not any(name.startswith("AIRFLOW_CONN_SEED_LOGS") for name in env)
    # Without an endpoint the chart's connection is just "aws": boto3's default chain, AWS S3.
    env = env_of(worker_pod(render(values_files=[ci_file]))["spec"]["containers"][0])
    assert json.loads(env["AIRFLOW_CONN_SEED_LOGS_S3"]["value"]) == {"conn_type": "aws", "extra": {}}


def test_remote_logs_off_by_default(default_objs):
    env = env_of(main_container(default_objs, "scheduler"))
    assert not any(name.startswith("AIRFLOW__LOGGING__") for name in env)


@pytest.mark.parametrize(
    "bad", [["logs.remote.enabled=true"], ["logs.remote.enabled=true", "logs.remote.baseFolder=/var/log"]]
)
def test_remote_logs_need_an_s3_folder(bad):
    with pytest.raises(HelmError, match=r"baseFolder|schema"):
        render(set_values=bad)


# --- no secret literal, whichever values file ----------------------------------------------------------

SECRETISH = re.compile(r"(PASSWORD|SECRET|TOKEN|_KEY$|ACCESS_KEY)")


@pytest.mark.parametrize("values_file", VALUES_FILES, ids=FILE_IDS)
def test_no_secret_value_outside_secrets(values_file):
    objs = render(values_files=[values_file])
    secrets = secret_values(objs)
    outside = yaml.safe_dump_all([o for o in objs if o["kind"] != "Secret"])
    for value in secrets:
        assert value not in outside
    containers = [c for _, c in all_containers(objs)]
    for _, pod in embedded_pods(objs):
        containers += pod["spec"]["containers"]
    for c in containers:
        for e in c.get("env", []):
            if SECRETISH.search(e["name"]) and not e["name"].endswith("_FILE"):  # a path, not a secret
                assert "value" not in e and "secretKeyRef" in e["valueFrom"], (c["name"], e["name"])
            if e["name"].startswith("AIRFLOW_CONN_"):  # connections the chart defines carry no credentials
                assert not re.search(r"password|secret|key\b|token|://[^/]*@", e["value"], re.I), e
    for cm in find(objs, "ConfigMap"):
        for key in cm.get("data", {}):
            # SEED_K8S_ENV_SECRET holds the credentials Secret's name, for the pods' envFrom.
            assert key == "SEED_K8S_ENV_SECRET" or not SECRETISH.search(key), (cm["metadata"]["name"], key)


# --- spark-operator prerequisite ------------------------------------------------------------------------


def test_spark_operator_version_is_pinned_in_values_and_readme():
    version = yaml.safe_load((CHART / "values.yaml").read_text())["sparkOperator"]["chartVersion"]
    assert re.fullmatch(r"2\.\d+\.\d+", version)
    readme = (REPO / "helm" / "README.md").read_text()
    # Each `helm install spark-operator ...` command, with its continuation lines.
    installs = re.findall(r"helm install spark-operator spark-operator/spark-operator[^\n]*(?:\\\n[^\n]*)*", readme)
    assert installs, "helm/README.md shows no spark-operator install"
    for cmd in installs:
        assert f"--version {version}" in cmd, cmd
    notes = run_helm("install", "seed", str(CHART), "--namespace", "seed", "--dry-run=client").split("NOTES:", 1)[1]
    assert f"spark-operator chart\n  {version}" in notes or f"{version} must be installed" in notes
