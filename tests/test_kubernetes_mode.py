"""Kubernetes mode of the DAGs (seedlib/kubernetes.py): the real DAG files parsed with the chart's
SEED_K8S_* environment, every SparkApplication and GPU pod rendered and checked, the GPU fail-fast check
on node lists built from the kubernetes client's own models, and runner.launch's semantics around a pod."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import kubernetes_validate
import pytest
from kubernetes.client import models as k8s

from seedlib.config import ConfigError, load_config
from seedlib.pipelines import EXPORTS, FILES_STAGE, PIPELINES, SNAPSHOTS, Pipeline, Resources, Stage
from seedlib.stage import StageError

ROOT = Path(__file__).resolve().parents[1]
KUBE_VERSIONS = ("1.31.0", "1.35.0")  # the chart's oldest and newest (tests/test_helm.py)
SECRET_VALUES = {"AWS_SECRET_ACCESS_KEY": "aws-secret-5e7c1e7-never-inlined",
                 "AWS_ACCESS_KEY_ID": "AKIA5E7C1E7NEVERINLINED",
                 "SEED_GITHUB_TOKEN": "ghp_5e7c1e7_never_inlined",
                 "SEED_ORACLE_API_KEY": "sk-5e7c1e7-never-inlined"}
SELECTOR = {"nvidia.com/gpu.present": "true"}
TOLERATIONS = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
CUDA_IMAGE = "registry.example/seed-data:1.2.3-cuda"
SAMPLE_REF = json.dumps({"run": "snapshots/_runs/dt=2026-05-06/scheduled__2026-05-06", "s3_endpoint_url":
                         "http://minio.storage:9000", "s3_region": "us-east-1", "storage": "s3://seed-data/seed"},
                        sort_keys=True)
# What the chart's seed-config ConfigMap sets in kubernetes mode (helm/seed/templates/configmap-seed.yaml).
K8S_ENV = {
    "SEED_DEPLOYMENT": "kubernetes",
    "SEED_STORAGE": "s3://seed-data/seed",
    "SEED_S3_ENDPOINT_URL": "http://minio.storage:9000",
    "SEED_K8S_NAMESPACE": "seed",
    "SEED_K8S_IMAGE": "registry.example/seed-data:1.2.3",
    "SEED_K8S_IMAGE_PULL_POLICY": "Always",
    "SEED_K8S_SERVICE_ACCOUNT": "seed-jobs",
    "SEED_K8S_ENV_CONFIGMAP": "seed-config",
    "SEED_K8S_ENV_SECRET": "seed-credentials",
    "SEED_K8S_EXECUTORS": "3",
    "SEED_K8S_GPU_POOL": "gpu-a100",
    "SEED_K8S_GPU_NODE_SELECTOR": json.dumps(SELECTOR),
    "SEED_K8S_GPU_TOLERATIONS": json.dumps(TOLERATIONS),
    "SEED_K8S_STARTUP_TIMEOUT_S": "300",
}
# A pod template like the chart's seed-gpu ConfigMap: the GPU image, envFrom, a securityContext.
POD_TEMPLATE = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"labels": {"app.kubernetes.io/component": "gpu-job"}},
    "spec": {"restartPolicy": "Never", "serviceAccountName": "seed-jobs", "automountServiceAccountToken": False,
             "securityContext": {"runAsUser": 50000, "runAsNonRoot": True, "fsGroup": 50000},
             "nodeSelector": SELECTOR, "tolerations": TOLERATIONS,
             "containers": [{"name": "base", "image": CUDA_IMAGE, "imagePullPolicy": "Always",
                             "envFrom": [{"configMapRef": {"name": "seed-config"}},
                                         {"secretRef": {"name": "seed-credentials", "optional": True}}],
                             "resources": {"limits": {"nvidia.com/gpu": 8, "memory": "200Gi"}}}]},
}


def load_bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def render(task) -> None:
    """Render the task's template fields as Airflow does when it runs, with the prepare task's XCom."""
    task.render_template_fields({"ti": SimpleNamespace(xcom_pull=lambda task_ids=None, **_: SAMPLE_REF)})


@pytest.fixture(scope="module")
def k8s_bag(tmp_path_factory):
    template = tmp_path_factory.mktemp("k8s") / "gpu-pod-template.yaml"
    template.write_text(json.dumps(POD_TEMPLATE))  # JSON is YAML
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {**K8S_ENV, **SECRET_VALUES, "SEED_K8S_GPU_POD_TEMPLATE": str(template)}.items():
            mp.setenv(name, value)
        bag = load_bag()
        assert bag.import_errors == {}
        for dag in bag.dags.values():
            for task in dag.tasks:
                if hasattr(task, "ref") and not hasattr(task, "spark_conn"):
                    render(task)
        yield bag


def spark_tasks(bag):
    return [(p, s, bag.dags[p.dag_id].get_task(s.name)) for p in PIPELINES.values() for s in p.stages
            if s.engine == "spark"]


def gpu_tasks(bag):
    return [(p, s, bag.dags[p.dag_id].get_task(s.name)) for p in PIPELINES.values() for s in p.stages
            if s.engine == "accelerate" and s.resources.gpus]


def application(task) -> dict:
    """The SparkApplication exactly as the provider submits it (its launcher names it)."""
    from airflow.providers.cncf.kubernetes.operators.custom_object_launcher import CustomObjectLauncher

    return CustomObjectLauncher(name="seed-crawl-abc123", namespace=task.namespace, kube_client=None,
                                custom_obj_api=None, template_body=task.template_spec).body


def pod_of(task) -> k8s.V1Pod:
    return task.build_pod_request_obj(None, dry_run=True)


def pod_dict(task) -> dict:
    from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator

    return PodGenerator.serialize_pod(pod_of(task))


# ---------- the DAGs ----------

def test_every_stage_gets_the_task_type_of_its_engine(k8s_bag):
    local = {"StageOperator"}
    for pipeline in PIPELINES.values():
        dag = k8s_bag.dags[pipeline.dag_id]
        assert [t.task_id for t in dag.topological_sort()] == ["prepare", *pipeline.names, "publish"]
        for stage in pipeline.stages:
            task = dag.get_task(stage.name)
            kind = type(task).__name__
            if stage.engine == "spark":
                assert kind == "SparkStageOperator" and task.pool == "default_pool"
            elif stage.resources.gpus:
                assert kind == "GpuStageOperator" and task.pool == "gpu-a100" and task.pool_slots == 1
            else:  # python stages (and prepare/publish) stay in the Airflow worker
                assert kind in local, (pipeline.name, stage.name)
            assert task.retries == 2 and task.doc == stage.doc and task.task_id == stage.name
            assert (task.pipeline, task.stage) == (pipeline.name, stage.name)
    kinds = {type(k8s_bag.dags["seed_snapshot"].get_task(n)).__name__ for n in ("train_scorer", "score")}
    assert kinds == {"GpuStageOperator"}
    assert {type(t).__name__ for t in k8s_bag.dags[EXPORTS.dag_id].tasks} == \
        {"_PythonDecoratedOperator", "StageOperator"}


def test_local_mode_parses_to_stage_operators_as_before(monkeypatch):
    for name, value in {**K8S_ENV, "SEED_DEPLOYMENT": "local"}.items():
        monkeypatch.setenv(name, value)  # the k8s keys are accepted, and ignored
    bag = load_bag()
    assert bag.import_errors == {}
    for pipeline in PIPELINES.values():
        dag = bag.dags[pipeline.dag_id]
        assert {type(dag.get_task(s.name)).__name__ for s in pipeline.stages} == {"StageOperator"}
        assert all(dag.get_task(s.name).pool == "default_pool" for s in pipeline.stages)


def test_kubernetes_mode_needs_the_image_and_names_a_bad_key():
    from seedlib.stage_operator import kubernetes_config

    assert kubernetes_config({}) is None and kubernetes_config({"SEED_DEPLOYMENT": "local"}) is None
    with pytest.raises(ConfigError, match="k8s_image: required with deployment=kubernetes"):
        kubernetes_config({"SEED_DEPLOYMENT": "kubernetes"})
    with pytest.raises(ConfigError, match="deployment: expected local or kubernetes, got 'k8s'"):
        kubernetes_config({"SEED_DEPLOYMENT": "k8s"})
    bad = {**K8S_ENV, "SEED_K8S_GPU_TOLERATIONS": '[{"key": "nvidia.com/gpu", "operator": "In"}]'}
    with pytest.raises(ConfigError, match="k8s_gpu_tolerations: operator must be Equal or Exists.*SEED_K8S_GPU_TOL"):
        kubernetes_config(bad)
    with pytest.raises(ConfigError, match="k8s_gpu_node_selector: expected a JSON object of string labels"):
        kubernetes_config({**K8S_ENV, "SEED_K8S_GPU_NODE_SELECTOR": '{"nvidia.com/gpu.present": true}'})
    with pytest.raises(ConfigError, match="k8s_image_pull_policy: expected one of Always, IfNotPresent, Never"):
        kubernetes_config({**K8S_ENV, "SEED_K8S_IMAGE_PULL_POLICY": "always"})


# ---------- SparkApplications ----------

class Obj:
    """A CRD object schema: its fields, which are required, and whether other fields may appear."""

    def __init__(self, fields: dict, required: tuple[str, ...] = ()):
        self.fields, self.required = fields, required


class Map:
    def __init__(self, value):
        self.value = value


class Enum:
    def __init__(self, *values):
        self.values = values


# The v1beta2 SparkApplication fields we write, their types and which are required, from the kubeflow
# spark-operator's CRD (v2.5.1, config/crd/bases/sparkoperator.k8s.io_sparkapplications.yaml; the chart
# pins that operator version). Integer fields there are int32 with minimum 1 (cores, instances).
ENV_FROM = Obj({"configMapRef": Obj({"name": str, "optional": bool}), "prefix": str,
                "secretRef": Obj({"name": str, "optional": bool})})
SPARK_POD = {"cores": int, "coreLimit": str, "memory": str, "memoryOverhead": str, "serviceAccount": str,
             "envFrom": [ENV_FROM], "labels": Map(str), "annotations": Map(str), "image": str}
SPARK_APPLICATION = Obj({
    "apiVersion": Enum("sparkoperator.k8s.io/v1beta2"), "kind": Enum("SparkApplication"),
    "metadata": Obj({"name": str, "namespace": str, "labels": Map(str)}, ("name",)),
    "spec": Obj({
        "type": Enum("Java", "Python", "Scala", "R"), "mode": Enum("cluster", "client"),
        "sparkVersion": str, "image": str, "imagePullPolicy": Enum("Always", "IfNotPresent", "Never"),
        "mainApplicationFile": str, "arguments": [str], "sparkConf": Map(str), "hadoopConf": Map(str),
        "pythonVersion": Enum("2", "3"),
        "restartPolicy": Obj({"type": Enum("Never", "Always", "OnFailure"), "onFailureRetries": int,
                              "onSubmissionFailureRetries": int}),
        "driver": Obj(SPARK_POD),
        "executor": Obj({**SPARK_POD, "instances": int, "deleteOnTermination": bool}),
    }, ("driver", "executor", "mainApplicationFile", "sparkVersion", "type")),
}, ("metadata", "spec"))
POSITIVE = {"cores", "instances"}


def schema_errors(value, schema, path="") -> list[str]:
    if isinstance(schema, Obj):
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {value!r}"]
        errors = [f"{path}.{k}: not a v1beta2 field" for k in value if k not in schema.fields]
        errors += [f"{path}.{k}: required" for k in schema.required if k not in value]
        for k, v in value.items():
            if k in schema.fields:
                errors += schema_errors(v, schema.fields[k], f"{path}.{k}")
                if k in POSITIVE and isinstance(v, int) and v < 1:
                    errors.append(f"{path}.{k}: minimum 1, got {v}")
        return errors
    if isinstance(schema, Map):
        if not isinstance(value, dict):
            return [f"{path}: expected a map, got {value!r}"]
        return [e for k, v in value.items() for e in schema_errors(v, schema.value, f"{path}[{k}]")]
    if isinstance(schema, list):
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {value!r}"]
        return [e for i, v in enumerate(value) for e in schema_errors(v, schema[0], f"{path}[{i}]")]
    if isinstance(schema, Enum):
        return [] if value in schema.values else [f"{path}: {value!r} not one of {schema.values}"]
    ok = isinstance(value, schema) and not (schema is int and isinstance(value, bool))
    return [] if ok else [f"{path}: expected {schema.__name__}, got {value!r}"]


def test_schema_check_catches_unknown_fields_and_wrong_types():
    good = {"metadata": {"name": "a"}, "spec": {"type": "Python", "sparkVersion": "4.3.0",
                                                "mainApplicationFile": "local:///a.py",
                                                "driver": {"cores": 1}, "executor": {"instances": 2}}}
    assert schema_errors(good, SPARK_APPLICATION) == []
    bad = json.loads(json.dumps(good))
    bad["spec"]["driver"] = {"cores": "1", "cpu": 1}
    bad["spec"]["executor"]["instances"] = 0
    del bad["spec"]["type"]
    assert sorted(schema_errors(bad, SPARK_APPLICATION)) == [
        ".spec.driver.cores: expected int, got '1'", ".spec.driver.cpu: not a v1beta2 field",
        ".spec.executor.instances: minimum 1, got 0", ".spec.type: required"]


def test_every_spark_stage_renders_a_valid_spark_application(k8s_bag):
    tasks = spark_tasks(k8s_bag)
    assert len(tasks) == 7 + 5  # snapshot and web pipelines
    for pipeline, stage, task in tasks:
        body = application(task)
        assert schema_errors(body, SPARK_APPLICATION) == [], (pipeline.name, stage.name)
        assert body["metadata"] == {"name": "seed-crawl-abc123", "namespace": "seed"}
        spec = body["spec"]
        assert (spec["type"], spec["mode"], spec["sparkVersion"]) == ("Python", "cluster", "4.3.0")
        assert (spec["image"], spec["imagePullPolicy"]) == ("registry.example/seed-data:1.2.3", "Always")
        assert spec["mainApplicationFile"] == "local:///opt/seed/spark_jobs/stage.py"
        assert spec["arguments"] == ["--pipeline", pipeline.name, "--stage", stage.name, "--run", SAMPLE_REF]
        assert spec["restartPolicy"] == {"type": "Never"}
        res = stage.resources
        for role in ("driver", "executor"):
            pod = spec[role]
            assert pod["cores"] == res.cpus and pod["coreLimit"] == str(res.cpus)
            assert pod["memory"] == f"{int(res.memory_gb * 1024)}m"
            assert pod["envFrom"] == [{"configMapRef": {"name": "seed-config"}},
                                      {"secretRef": {"name": "seed-credentials"}}]
        assert spec["driver"]["serviceAccount"] == "seed-jobs" and spec["executor"]["instances"] == 3
        assert task.namespace == "seed" and task.startup_timeout_seconds == 300
        assert task.name == "seed-" + stage.name.replace("_", "-") and task.deferrable is False
    by_stage = {(p.name, s.name): application(t)["spec"] for p, s, t in tasks}
    assert by_stage[("snapshots", "repo_sequences")]["executor"]["memory"] == "8192m"  # memory_gb=8
    assert by_stage[("snapshots", "crawl")]["driver"]["cores"] == 2


def test_spark_applications_use_s3a_with_the_magic_committer(k8s_bag):
    conf = application(spark_tasks(k8s_bag)[0][2])["spec"]["sparkConf"]
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://minio.storage:9000"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert conf["spark.hadoop.fs.s3a.endpoint.region"] == "us-east-1"
    assert conf["spark.hadoop.fs.s3a.committer.name"] == "magic"
    assert conf["spark.hadoop.fs.s3a.committer.magic.enabled"] == "true"
    assert conf["spark.sql.sources.commitProtocolClass"] == \
        "org.apache.spark.internal.io.cloud.PathOutputCommitProtocol"
    assert conf["spark.sql.parquet.output.committer.class"] == \
        "org.apache.spark.internal.io.cloud.BindingParquetOutputCommitter"
    assert conf["spark.hadoop.mapreduce.outputcommitter.factory.scheme.s3a"] == \
        "org.apache.hadoop.fs.s3a.commit.S3ACommitterFactory"
    assert conf["spark.hadoop.fs.s3a.aws.credentials.provider"] == \
        "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider"
    assert not any("secret" in k or "access.key" in k for k in conf)  # credentials: the Secret, or IRSA
    # AWS S3 itself (no endpoint): virtual-host style, the SDK's endpoint for the region
    from seedlib.kubernetes import spark_conf

    aws = spark_conf(load_config(environ={"SEED_S3_REGION": "eu-west-1"}))
    assert aws["spark.hadoop.fs.s3a.path.style.access"] == "false" and "spark.hadoop.fs.s3a.endpoint" not in aws
    assert aws["spark.hadoop.fs.s3a.endpoint.region"] == "eu-west-1"


# ---------- GPU pods ----------

def test_every_gpu_stage_renders_a_valid_pod_from_the_template(k8s_bag):
    tasks = gpu_tasks(k8s_bag)
    assert sorted((p.name, s.name) for p, s, _ in tasks) == [
        ("scorers", "train_scorer"), ("snapshots", "score"), ("snapshots", "train_scorer")]
    for pipeline, stage, task in tasks:
        pod = pod_dict(task)
        for version in KUBE_VERSIONS:
            kubernetes_validate.validate(pod, version, strict=True)
        spec = pod["spec"]
        (base,) = spec["containers"]
        assert base["name"] == "base" and base["image"] == CUDA_IMAGE  # the template's GPU image
        assert base["imagePullPolicy"] == "Always"
        assert base["command"] == ["python", "-m", "seedlib.runner"]
        assert base["args"] == ["--pipeline", pipeline.name, "--stage", stage.name, "--run", SAMPLE_REF]
        res = stage.resources
        amounts = {"cpu": str(res.cpus), "memory": f"{int(res.memory_gb)}Gi", "nvidia.com/gpu": str(res.gpus)}
        assert base["resources"] == {"requests": amounts, "limits": amounts}  # the declaration, not the template
        # the template's ConfigMap and Secret are not repeated by the operator's own envFrom
        assert base["envFrom"] == [{"configMapRef": {"name": "seed-config"}},
                                   {"secretRef": {"name": "seed-credentials", "optional": True}}]
        assert spec["nodeSelector"] == SELECTOR and spec["tolerations"] == TOLERATIONS
        assert spec["serviceAccountName"] == "seed-jobs" and spec["automountServiceAccountToken"] is False
        assert spec["restartPolicy"] == "Never" and spec["securityContext"]["runAsUser"] == 50000
        assert pod["metadata"]["namespace"] == "seed"
        assert pod["metadata"]["name"].startswith("seed-" + stage.name.replace("_", "-") + "-")
        assert (task.pool, task.pool_slots, task.startup_timeout_seconds) == ("gpu-a100", 1, 300)
        assert task.on_finish_action.value == "delete_pod" and task.deferrable is False
    score = {s.name: pod_dict(t) for p, s, t in tasks if p is SNAPSHOTS}["score"]
    assert score["spec"]["containers"][0]["resources"]["limits"] == \
        {"cpu": "2", "memory": "8Gi", "nvidia.com/gpu": "1"}


def test_gpu_pod_without_a_template_and_with_several_gpus():
    from seedlib.kubernetes import stage_task

    config = load_config(environ={k: v for k, v in K8S_ENV.items()})
    stage = Stage("train8", engine="accelerate", body="seedlib.quality.train:body", writes={"scorer": "scorer"},
                  chain=False, resources=Resources(cpus=16, memory_gb=2.5, gpus=8))
    pipeline = Pipeline(name="p8", dag_id="p8", prefix="p8", stages=(stage,))
    task = stage_task(pipeline, stage, config)
    render(task)
    pod = pod_dict(task)
    for version in KUBE_VERSIONS:
        kubernetes_validate.validate(pod, version, strict=True)
    (base,) = pod["spec"]["containers"]
    assert base["image"] == "registry.example/seed-data:1.2.3"  # no template: the project image
    assert base["envFrom"] == [{"configMapRef": {"name": "seed-config"}}, {"secretRef": {"name": "seed-credentials"}}]
    assert base["resources"]["limits"] == {"cpu": "16", "memory": "2560Mi", "nvidia.com/gpu": "8"}
    # eight GPUs: accelerate launch, one seedlib.runner process per GPU
    assert base["command"] == ["python", "-m", "accelerate.commands.launch"]
    assert base["args"][:10] == ["--num_processes", "8", "--num_machines", "1", "--mixed_precision", "no",
                                 "--dynamo_backend", "no", "--multi_gpu", "-m"]
    assert base["args"][10:] == ["seedlib.runner", "--pipeline", "p8", "--stage", "train8", "--run", SAMPLE_REF]
    assert pod["spec"]["nodeSelector"] == SELECTOR and pod["spec"]["tolerations"] == TOLERATIONS
    # a python-engine stage, or accelerate without GPUs, stays in the worker
    assert stage_task(SNAPSHOTS, SNAPSHOTS.stage("label"), config) is None
    cpu_only = Stage("score_cpu", engine="accelerate", body="x:y", writes={"s": "internal"}, chain=False)
    assert stage_task(pipeline, cpu_only, config) is None


def test_no_secret_value_is_in_any_rendered_object_or_the_serialized_dags(k8s_bag):
    from airflow.serialization.serialized_objects import DagSerialization

    rendered = [application(t) for _, _, t in spark_tasks(k8s_bag)] + \
        [pod_dict(t) for _, _, t in gpu_tasks(k8s_bag)]
    objects = json.dumps(rendered, default=str)
    dags = json.dumps([DagSerialization.to_dict(d) for d in k8s_bag.dags.values()], default=str)
    assert "seed-credentials" in objects and "seed-config" in objects  # referenced by name ...
    for name, value in SECRET_VALUES.items():
        assert value not in objects and value not in dags, name  # ... never by value
        assert name not in objects, name  # not even as an env variable of a pod (the DAG docs name some)


# ---------- the GPU fail-fast check ----------

def node(name: str, gpus: int | None, labels: dict | None = None, taints=(), cordoned: bool = False) -> k8s.V1Node:
    allocatable = {"cpu": "32", "memory": "256Gi", **({"nvidia.com/gpu": str(gpus)} if gpus is not None else {})}
    return k8s.V1Node(metadata=k8s.V1ObjectMeta(name=name, labels=labels or {}),
                      spec=k8s.V1NodeSpec(taints=[k8s.V1Taint(**t) for t in taints] or None,
                                          unschedulable=cordoned or None),
                      status=k8s.V1NodeStatus(allocatable=allocatable))


def nodes(*items: k8s.V1Node) -> k8s.V1NodeList:
    return k8s.V1NodeList(items=list(items))


GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}


def test_gpu_check_passes_when_a_matching_node_offers_the_gpus(k8s_bag):
    from seedlib.kubernetes import check_gpu_nodes

    pod = pod_of(k8s_bag.dags["seed_snapshot"].get_task("score"))
    gpu_node = node("gpu-1", 8, SELECTOR, taints=[GPU_TAINT])  # the toleration admits the GPU taint
    check_gpu_nodes(nodes(node("cpu-1", None), gpu_node), pod, "score")
    soft = node("gpu-2", 1, SELECTOR, taints=[{"key": "team", "value": "ml", "effect": "PreferNoSchedule"}])
    check_gpu_nodes(nodes(soft), pod, "score")  # PreferNoSchedule does not keep a pod off a node


@pytest.mark.parametrize("listed, why", [
    ([], "the cluster lists no nodes"),
    ([node("cpu-1", None, SELECTOR), node("cpu-2", 0, SELECTOR)],
     r"2 nodes match, none has allocatable nvidia.com/gpu >= 1 \(most: 0; is the NVIDIA device plugin running\?\)"),
    ([node("gpu-1", 8), node("cpu-1", None)], "none of the 2 nodes matches the selector"),
    ([node("gpu-1", 8, SELECTOR, taints=[{"key": "dedicated", "value": "ml", "effect": "NoSchedule"}])],
     "1 nodes have them, but each is cordoned or has a taint the pod does not tolerate"),
    ([node("gpu-1", 8, SELECTOR, cordoned=True)], "1 nodes have them, but each is cordoned"),
])
def test_gpu_check_fails_fast_naming_resource_selector_and_stage(k8s_bag, listed, why):
    from seedlib.kubernetes import check_gpu_nodes

    pod = pod_of(k8s_bag.dags["seed_snapshot"].get_task("score"))
    with pytest.raises(StageError) as e:
        check_gpu_nodes(nodes(*listed), pod, "score")
    message = str(e.value)
    assert message.startswith("stage score needs 1 nvidia.com/gpu, but no node can run it "
                              "(node selector {'nvidia.com/gpu.present': 'true'}; ")
    assert re.search(why, message), message
    assert "k8s_gpu_check=false" in message


def test_gpu_check_names_the_permission_when_nodes_cannot_be_listed():
    from kubernetes.client.rest import ApiException

    from seedlib.kubernetes import list_nodes

    class Forbidden:  # what CoreV1Api raises for a ServiceAccount without get/list on nodes
        def list_node(self):
            raise ApiException(status=403, reason="Forbidden")

    with pytest.raises(StageError, match=r"cannot list nodes \(403 Forbidden\): grant the Airflow ServiceAccount "
                                         r"get/list on nodes \(helm: rbac.listNodes\), or set k8s_gpu_check=false"):
        list_nodes(Forbidden())


# ---------- runner.launch's semantics around the pod ----------

def broken_body(ctx):
    raise StageError("files and dropped do not add up: 5 in, 4 out")


K8S_TOY_REF = "tests.test_kubernetes_mode:K8S_TOY"
K8S_TOY = Pipeline(name="k8s_toy", dag_id="k8s_toy", prefix="k8s_toy", sources=False, stages=(
    Stage("make", engine="python", body="tests.pipelines:make_body", writes=FILES_STAGE),
    Stage("broken", engine="python", body="tests.test_kubernetes_mode:broken_body", reads=("files",),
          writes=FILES_STAGE),
    Stage("train", engine="accelerate", body="tests.test_kubernetes_mode:broken_body", reads=("files",),
          writes=FILES_STAGE, resources=Resources(cpus=1, memory_gb=2, gpus=1)),
))


def toy_ref(tmp_path, run_id: str, **params) -> str:
    from seedlib.run import prepare_run

    return prepare_run({"storage": (tmp_path / "data").as_uri(), "snapshot_date": "2026-05-06", **params}, None,
                       run_id, {}, pipeline=K8S_TOY_REF).ref()


def pod(stage: str, ref: str, calls: list):
    """What the stage's pod does: seedlib.runner.main with the pod's arguments; a non-zero exit fails the
    provider's execute, as KubernetesPodOperator does for a failed container."""
    from seedlib.kubernetes import runner_args
    from seedlib.runner import main

    def start():
        calls.append(stage)
        code = main(runner_args(K8S_TOY_REF, stage, ref))
        if code:
            raise RuntimeError(f"Pod seed-{stage}-x1 returned a failure (container exit code {code})")

    return start


def test_a_stage_pod_runs_once_and_a_finished_stage_starts_none(tmp_path):
    from seedlib.kubernetes import run_stage

    ref, calls = toy_ref(tmp_path, "manual__a"), []
    first = run_stage(K8S_TOY_REF, "make", ref, pod("make", ref, calls))
    assert first["stage"] == "make" and first["summary"].startswith("30 in, 30 out, dropped: none (")
    again = run_stage(K8S_TOY_REF, "make", ref, pod("make", ref, calls))  # a retry, or a resumed run
    assert calls == ["make"] and again["summary"] == first["summary"]


def test_a_skipped_stage_passes_its_input_through_without_a_pod(tmp_path):
    from seedlib.kubernetes import run_stage
    from seedlib.stage import read_report
    from seedlib.run import RunSpec

    ref, calls = toy_ref(tmp_path, "manual__b", skip_stages=["broken"]), []
    run_stage(K8S_TOY_REF, "make", ref, pod("make", ref, calls))
    out = run_stage(K8S_TOY_REF, "broken", ref, pod("broken", ref, calls))
    assert calls == ["make"] and out["summary"] == "skipped"
    spec = RunSpec.from_ref(ref)
    assert read_report(spec.storage(), spec.stage_prefix("broken")).skipped is True


def test_the_stage_record_decides_retry_not_the_pod_phase(tmp_path):
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    from seedlib.kubernetes import run_stage

    ref, calls = toy_ref(tmp_path, "manual__c"), []
    run_stage(K8S_TOY_REF, "make", ref, pod("make", ref, calls))
    # the body raised StageError: _FAILED.json says a retry cannot help, so Airflow must not retry
    with pytest.raises(AirflowFailException, match="^StageError: files and dropped do not add up: 5 in, 4 out$"):
        run_stage(K8S_TOY_REF, "broken", ref, pod("broken", ref, calls))

    def never_started():  # e.g. ImagePullBackOff, or the startup timeout: nothing recorded, retry
        raise RuntimeError("Pod seed-train-x1 took too long to start\nsecond line")

    with pytest.raises(AirflowException) as e:
        run_stage(K8S_TOY_REF, "train", ref, never_started)
    assert type(e.value) is AirflowException
    assert str(e.value) == "its pod failed: RuntimeError: Pod seed-train-x1 took too long to start"


def test_the_gpu_task_checks_nodes_before_creating_its_pod(tmp_path):
    from airflow.sdk.exceptions import AirflowFailException

    from seedlib.kubernetes import stage_task

    ref = toy_ref(tmp_path, "manual__d")
    config = load_config(environ=K8S_ENV)
    task = stage_task(K8S_TOY, K8S_TOY.stage("train"), config)
    task.pipeline, task.ref = K8S_TOY_REF, ref  # the DAGs name declared pipelines; this one is the test's

    class Core:  # the hook's CoreV1Api, on a cluster with CPU nodes only
        created: list = []

        def list_node(self):
            return nodes(node("cpu-1", None, SELECTOR), node("cpu-2", None, SELECTOR))

        def create_namespaced_pod(self, *args, **kwargs):
            self.created.append(kwargs)

    task.__dict__["client"] = Core()
    task.__dict__["hook"] = SimpleNamespace(is_in_cluster=True, get_namespace=lambda: "seed")
    context = {"ti": SimpleNamespace(dag_id="k8s_toy", task_id="train", map_index=-1, try_number=1),
               "run_id": "manual__d", "dag": None}
    with pytest.raises(AirflowFailException, match=r"^stage train needs 1 nvidia.com/gpu, but no node can run it "
                                                   r"\(node selector \{'nvidia.com/gpu.present': 'true'\}; 2 nodes "
                                                   r"match, none has allocatable nvidia.com/gpu >= 1"):
        task.execute(context)
    assert Core.created == []
