"""The Helm chart helm/seed: lint, schema validation of what it renders, and what the objects say.

No cluster here: `helm template` renders the chart (helm v4 from the pinned PyPI wheel, see
tests/helm_tools.py), kubernetes-validate checks every object (and the pod templates embedded
in ConfigMaps) against the Kubernetes OpenAPI schemas in strict mode, and the tests assert on
values, the way Airflow's own chart tests do.
"""

from __future__ import annotations

import base64
import json

import kubernetes_validate
import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

from tests.helm_tools import CHART, HelmError, helm_missing_reason, render, run_helm

_missing = helm_missing_reason()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

# Oldest and newest Kubernetes we claim (Chart.yaml kubeVersion >=1.29; helm 4.1 speaks 1.35).
KUBE_VERSIONS = ("1.31.0", "1.35.0")
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
TOKEN = "ghp_Zx9TestTokenThatMustNeverBeRendered0123"
EXTERNAL_DB = ["postgresql.enabled=false", "externalDatabase.existingSecret=seed-db", "externalDatabase.key=uri"]


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


@pytest.fixture(scope="module")
def default_objs():
    return render()


# --- lint and schemas -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "set_values",
    [[], EXTERNAL_DB, ["spark.master=local", "migrateDatabaseJob.useHelmHooks=false"]],
    ids=["defaults", "external-db", "local-spark-no-hooks"],
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


@pytest.mark.parametrize("name", ["values.yaml", "Chart.yaml"])
def test_yamllint_relaxed(name):
    conf = YamlLintConfig("extends: relaxed\nrules:\n  line-length: {max: 120}\n")
    problems = list(linter.run((CHART / name).read_text(), conf))
    assert problems == [], [str(p) for p in problems]


VARIANTS = {
    "defaults": [],
    "external-db": EXTERNAL_DB,
    "local-spark": ["spark.master=local"],
    "no-hooks": ["migrateDatabaseJob.useHelmHooks=false"],
    "everything-set": [
        "secrets.existingSecret=seed-credentials",
        "airflow.existingSecret=seed-airflow-keys",
        "airflow.simpleAuthManagerPasswordsSecret=seed-ui-passwords",
        "postgresql.auth.existingSecret=seed-pg",
        "seed.s3EndpointUrl=http://minio.storage:9000",
        "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::123456789012:role/seed",
        "imagePullSecrets[0].name=regcred",
        "gpu.nodeSelector.nvidia\\.com/gpu\\.present=true",
        "nodeSelector.seed/pool=true",
        "airflow.extraEnv[0].name=AIRFLOW__CORE__PARALLELISM,airflow.extraEnv[0].value=8",
        "spark.conf.spark\\.executor\\.instances=4",
        "postgresql.persistence.storageClass=gp3",
    ],
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_rendered_objects_validate_against_kubernetes_schemas(variant):
    objs = render(set_values=VARIANTS[variant])
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


def test_only_the_scheduler_mounts_a_kubernetes_token(default_objs):
    # spark-submit runs in the scheduler (LocalExecutor) and creates driver pods; nobody else needs the API.
    tokens = {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]["automountServiceAccountToken"]
        for d in find(default_objs, "Deployment")
    }
    assert tokens == {
        "seed-api-server": False,
        "seed-scheduler": True,
        "seed-dag-processor": False,
        "seed-triggerer": False,
    }


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
        assert main["command"] + main["args"] == ["airflow", "db", "migrate"]
        # A pre-install hook runs before the chart's ServiceAccounts exist: it must not need one.
        assert "serviceAccountName" not in job["spec"]["template"]["spec"]


def test_migrate_job_without_hooks_is_a_job_per_revision():
    job = find(render(set_values=["migrateDatabaseJob.useHelmHooks=false"]), "Job")[0]
    assert job["metadata"]["name"] == "seed-migrate-db-1"
    assert "annotations" not in job["metadata"]


# --- pipeline configuration ---------------------------------------------------------------------


def test_seed_configmap_takes_values_from_set():
    objs = render(
        set_values=[
            "seed.storage=s3://my-bucket/curated",
            "seed.s3EndpointUrl=http://minio.storage:9000",
            "seed.sources={https://github.com/psf/requests,file:///data/repo}",
            "seed.languages={python,java,go}",
            "seed.extraEnv.SEED_NEAR_DEDUP_THRESHOLD=0.7",
        ]
    )
    assert one(objs, "ConfigMap", "seed-config")["data"] == {
        "SEED_STORAGE": "s3://my-bucket/curated",
        "SEED_S3_ENDPOINT_URL": "http://minio.storage:9000",
        "SEED_SPARK_MASTER": "k8s://https://kubernetes.default.svc:443",
        "SEED_SOURCES": "https://github.com/psf/requests,file:///data/repo",
        "SEED_LANGUAGES": "python,java,go",
        "SEED_NEAR_DEDUP_THRESHOLD": "0.7",
    }
    conf = one(objs, "ConfigMap", "seed-spark")["data"]["spark-defaults.conf"]
    assert "spark.hadoop.fs.s3a.endpoint http://minio.storage:9000" in conf.splitlines()


def test_seed_configmap_defaults_leave_optional_keys_out(default_objs):
    assert one(default_objs, "ConfigMap", "seed-config")["data"] == {
        "SEED_STORAGE": "s3://seed-data/seed",
        "SEED_SPARK_MASTER": "k8s://https://kubernetes.default.svc:443",
    }


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
    main = one(objs, "Deployment", "seed-scheduler")["spec"]["template"]["spec"]["containers"][0]
    return json.loads(env_of(main)["AIRFLOW_CONN_SPARK_LOCAL"]["value"])


def test_spark_connection_defaults_to_kubernetes_cluster_mode(default_objs):
    assert spark_conn(default_objs) == {
        "conn_type": "spark",
        "host": "k8s://https://kubernetes.default.svc:443",
        "extra": {
            "deploy-mode": "cluster",
            "namespace": "seed",
            "image": "seed-data:0.1.0",
            "serviceAccount": "seed-spark",
        },
    }
    conf_text = one(default_objs, "ConfigMap", "seed-spark")["data"]["spark-defaults.conf"]
    conf = dict(line.split(" ", 1) for line in conf_text.splitlines())
    assert conf["spark.kubernetes.namespace"] == "seed"
    assert conf["spark.kubernetes.container.image"] == "seed-data:0.1.0"
    assert conf["spark.kubernetes.authenticate.driver.serviceAccountName"] == "seed-spark"
    scheduler = one(default_objs, "Deployment", "seed-scheduler")["spec"]["template"]["spec"]["containers"][0]
    assert env_of(scheduler)["SPARK_CONF_DIR"]["value"] == "/opt/seed/spark-conf"
    assert {"name": "spark-conf", "mountPath": "/opt/seed/spark-conf", "readOnly": True} in scheduler["volumeMounts"]


def test_spark_local_master_needs_no_rbac():
    objs = render(set_values=["spark.master=local"])
    assert spark_conn(objs) == {"conn_type": "spark", "host": "local[*]", "extra": {"deploy-mode": "client"}}
    assert one(objs, "ConfigMap", "seed-config")["data"]["SEED_SPARK_MASTER"] == "local[*]"
    assert find(objs, "Role") == [] and find(objs, "RoleBinding") == []


def test_spark_rbac_lets_submitter_and_drivers_manage_pods(default_objs):
    role = one(default_objs, "Role", "seed-spark")
    core = next(r for r in role["rules"] if r["apiGroups"] == [""] and "pods" in r["resources"])
    assert {"pods", "services", "configmaps"} <= set(core["resources"])
    assert {"create", "delete", "get", "list", "watch"} <= set(core["verbs"])
    binding = one(default_objs, "RoleBinding", "seed-spark")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "seed-spark"}
    assert {s["name"] for s in binding["subjects"]} == {"seed", "seed-spark"}
    for s in binding["subjects"]:
        assert s["namespace"] == "seed"


def test_service_accounts_carry_irsa_annotations():
    arn = "arn:aws:iam::123456789012:role/seed"
    objs = render(set_values=[f"serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn={arn}"])
    accounts = find(objs, "ServiceAccount")
    assert {a["metadata"]["name"] for a in accounts} == {"seed", "seed-spark"}
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
    pod = yaml.safe_load(one(objs, "ConfigMap", "seed-gpu")["data"]["gpu-pod-template.yaml"])
    assert pod["spec"]["nodeSelector"] == {"node.kubernetes.io/instance-type": "p5.48xlarge"}
    assert pod["spec"]["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    base = pod["spec"]["containers"][0]
    assert base["name"] == "base"
    assert base["resources"]["limits"] == {"nvidia.com/gpu": 8, "memory": "200Gi"}
    assert base["image"] == "seed-data:0.1.0"
    scheduler = one(objs, "Deployment", "seed-scheduler")["spec"]["template"]["spec"]["containers"][0]
    assert env_of(scheduler)["SEED_GPU_POD_TEMPLATE"]["value"] == "/opt/seed/k8s/gpu-pod-template.yaml"
    assert {"name": "gpu-pod-template", "mountPath": "/opt/seed/k8s", "readOnly": True} in scheduler["volumeMounts"]
