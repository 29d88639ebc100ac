"""Kubernetes mode of the DAGs (`deployment: kubernetes`): the same declared stages, run as pods.

    spark stages                 a SparkApplication (sparkoperator.k8s.io/v1beta2) for the kubeflow
                                 spark-operator, submitted by SparkStageOperator (SparkKubernetesOperator)
    accelerate stages with GPUs  a pod requesting nvidia.com/gpu, in the Airflow pool `k8s_gpu_pool`, run by
                                 GpuStageOperator (KubernetesPodOperator)
    everything else              unchanged: StageOperator, in the Airflow worker (python stages, prepare,
                                 publish, and accelerate stages that declare no GPU)

The code inside the pods is exactly the local one: the driver runs spark_jobs/stage.py and the GPU pod
`python -m seedlib.runner`, both `seedlib.runner.main` with `--pipeline P --stage S --run REF`, REF being
the prepare task's XCom. The Airflow task runs the stage through the same `runner.launch` as local
engines, with the pod as its engine: the two operators are thin subclasses whose `execute` is
`run_stage(..., start=<the provider's own execute>)`. So a stage already complete in the run starts no
pod, a `--skip` stage passes its input through without one, and after the pod ends the stage's report
or its _FAILED.json (not the pod's phase) decide success and whether Airflow may retry.

Before a GPU pod is created, `check_gpu_nodes` fails the task (no retry) unless some schedulable node
that the pod's node selector and tolerations admit has enough allocatable nvidia.com/gpu: a GPU stage on
a cluster without GPUs says so at once instead of waiting Pending. `k8s_startup_timeout_s` bounds the
rest (a pod or driver that does not start in time fails the task).

Imported only in kubernetes mode (it imports the cncf.kubernetes provider); docs/kubernetes.md.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.operators.spark_kubernetes import SparkKubernetesOperator
from kubernetes.client import models as k8s

from seedlib.config import Config, ConfigError
from seedlib.pipelines import Pipeline, Stage
from seedlib.stage import StageError

# The prepare task's XCom (the run's reference), rendered by Airflow when the task runs.
REF = "{{ ti.xcom_pull(task_ids='prepare') }}"
SPARK_API = "sparkoperator.k8s.io/v1beta2"
SPARK_VERSION = "4.3.0"  # pyspark in requirements.txt, and the image's Spark
APP_DIR = "/opt/seed/spark_jobs"  # where the Dockerfile puts spark_jobs/ in the image
APP_FILE = f"local://{APP_DIR}/stage.py"
GPU = "nvidia.com/gpu"
# s3a in drivers and executors (the image carries hadoop-aws and spark-hadoop-cloud): the magic committer
# writes task output straight to its final keys, with no rename (S3 has none), and Spark SQL's writers
# reach it through the cloud commit protocol; credentials come from the pod's environment (the Secret)
# or its ServiceAccount (IRSA), never from this configuration.
S3A_CONF = {
    "spark.hadoop.fs.s3a.aws.credentials.provider":
        "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider",
    "spark.hadoop.fs.s3a.committer.name": "magic",
    "spark.hadoop.fs.s3a.committer.magic.enabled": "true",
    "spark.hadoop.mapreduce.outputcommitter.factory.scheme.s3a":
        "org.apache.hadoop.fs.s3a.commit.S3ACommitterFactory",
    "spark.sql.sources.commitProtocolClass": "org.apache.spark.internal.io.cloud.PathOutputCommitProtocol",
    "spark.sql.parquet.output.committer.class": "org.apache.spark.internal.io.cloud.BindingParquetOutputCommitter",
}


def runner_args(pipeline: str, stage: str, ref: str = REF) -> list[str]:
    """seedlib.runner.main's arguments (what spark-submit and `accelerate launch` pass locally)."""
    return ["--pipeline", pipeline, "--stage", stage, "--run", ref]


def object_name(stage: Stage) -> str:
    """The SparkApplication / pod name stem of a stage (the operators add a unique suffix)."""
    return "seed-" + stage.name.replace("_", "-").lower()


def is_gpu_stage(stage: Stage) -> bool:
    return stage.engine == "accelerate" and stage.resources.gpus > 0


def spark_memory(memory_gb: float) -> str:
    """Spark's memory notation (the operator adds its overhead on top): 4 -> "4096m"."""
    return f"{round(memory_gb * 1024)}m"


def pod_memory(memory_gb: float) -> str:
    """A Kubernetes memory quantity: 16 -> "16Gi", 2.5 -> "2560Mi"."""
    mib = round(memory_gb * 1024)
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


def env_from(config: Config) -> list[dict[str, Any]]:
    """The configured ConfigMap and Secret, by name: every pod gets the deployment's SEED_* configuration
    and its credentials from them, so no value is ever inlined into a spec."""
    k = config.kubernetes
    return ([{"configMapRef": {"name": k.env_configmap}}] if k.env_configmap else []) + \
        ([{"secretRef": {"name": k.env_secret}}] if k.env_secret else [])


def spark_conf(config: Config) -> dict[str, str]:
    """sparkConf of every SparkApplication: the driver's log4j settings (as runner._spark_submit), s3a with
    the magic committer, and the endpoint of an S3-compatible store (MinIO, Ceph: path-style URLs)."""
    conf = {"spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{APP_DIR}/log4j2.properties",
            **S3A_CONF, "spark.hadoop.fs.s3a.endpoint.region": config.s3.region}
    endpoint = config.s3.endpoint_url
    conf["spark.hadoop.fs.s3a.path.style.access"] = "true" if endpoint else "false"
    if endpoint:
        conf["spark.hadoop.fs.s3a.endpoint"] = endpoint
        conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = "true" if endpoint.startswith("https://") else "false"
    return conf


def spark_application(pipeline: str, stage: Stage, config: Config, ref: str = REF) -> dict[str, Any]:
    """The SparkApplication of a Spark stage: the project image runs spark_jobs/stage.py in cluster mode;
    driver and each executor get the stage's declared cores and memory. restartPolicy Never: retries are
    Airflow's, decided from the stage's _FAILED.json (run_stage), not the operator's."""
    k, res = config.kubernetes, stage.resources
    pod = {"cores": res.cpus, "coreLimit": str(res.cpus), "memory": spark_memory(res.memory_gb)}
    sources = env_from(config)
    if sources:
        pod["envFrom"] = sources
    driver = {**pod, **({"serviceAccount": k.service_account} if k.service_account else {})}
    return {
        "apiVersion": SPARK_API,
        "kind": "SparkApplication",
        "metadata": {"name": object_name(stage), "namespace": k.namespace},
        "spec": {
            "type": "Python",
            "mode": "cluster",
            "sparkVersion": SPARK_VERSION,
            "image": k.image,
            "imagePullPolicy": k.image_pull_policy,
            "mainApplicationFile": APP_FILE,
            "arguments": runner_args(pipeline, stage.name, ref),
            "sparkConf": spark_conf(config),
            "restartPolicy": {"type": "Never"},
            "driver": driver,
            "executor": {**pod, "instances": k.executors},
        },
    }


def gpu_command(pipeline: str, stage: Stage, ref: str = REF) -> tuple[list[str], list[str]]:
    """(command, args) of a GPU pod: seedlib.runner in one process for one GPU; for several, under
    `accelerate launch` with one process per GPU and the flags runner._accelerate_launch uses."""
    args = runner_args(pipeline, stage.name, ref)
    gpus = stage.resources.gpus
    if gpus <= 1:
        return ["python", "-m", "seedlib.runner"], args
    return (["python", "-m", "accelerate.commands.launch"],
            ["--num_processes", str(gpus), "--num_machines", "1", "--mixed_precision", "no",
             "--dynamo_backend", "no", "--multi_gpu", "-m", "seedlib.runner", *args])


def gpu_resources(stage: Stage) -> k8s.V1ResourceRequirements:
    """The stage's declared cpus, memory and GPUs, as requests equal to limits (Guaranteed QoS: a node
    under memory pressure does not evict a training pod first)."""
    res = stage.resources
    amounts = {"cpu": str(res.cpus), "memory": pod_memory(res.memory_gb), GPU: str(res.gpus)}
    return k8s.V1ResourceRequirements(requests=dict(amounts), limits=dict(amounts))


# ---------- the GPU fail-fast check ----------

def _tolerated(taint: k8s.V1Taint, tolerations: list[k8s.V1Toleration]) -> bool:
    for t in tolerations:
        if t.effect and t.effect != taint.effect:
            continue
        if (t.operator or "Equal") == "Exists":
            if not t.key or t.key == taint.key:
                return True
        elif t.key == taint.key and (t.value or "") == (taint.value or ""):
            return True
    return False


def _gpus_on(node: k8s.V1Node) -> int:
    amount = str((node.status.allocatable or {}).get(GPU, "0") if node.status else "0")
    try:
        return int(amount)
    except ValueError:  # a quantity such as "1k" is not what any GPU device plugin reports
        return 0


def check_gpu_nodes(nodes: k8s.V1NodeList, pod: k8s.V1Pod, stage: str) -> None:
    """Raise StageError unless some node could run `pod` for its GPUs: schedulable, matching the pod's
    node selector, every NoSchedule/NoExecute taint tolerated, enough allocatable nvidia.com/gpu.
    The message names the stage, the resource, the node selector and why the nodes do not fit."""
    container = pod.spec.containers[0]
    resources = container.resources or k8s.V1ResourceRequirements()
    wanted = int(str((resources.limits or {}).get(GPU) or (resources.requests or {}).get(GPU) or 0))
    if wanted == 0:
        return
    selector = pod.spec.node_selector or {}
    tolerations = pod.spec.tolerations or []
    items = nodes.items or []
    selected = [n for n in items if all((n.metadata.labels or {}).get(k) == v for k, v in selector.items())]
    with_gpus = [n for n in selected if _gpus_on(n) >= wanted]
    fit = [n for n in with_gpus if not (n.spec and n.spec.unschedulable)
           and all(_tolerated(t, tolerations) for t in ((n.spec.taints if n.spec else None) or [])
                   if t.effect in ("NoSchedule", "NoExecute"))]
    if fit:
        return
    where = f"node selector {selector}" if selector else "no node selector"
    if not items:
        why = "the cluster lists no nodes"
    elif not selected:
        why = f"none of the {len(items)} nodes matches the selector"
    elif not with_gpus:
        most = max(_gpus_on(n) for n in selected)
        why = (f"{len(selected)} nodes match, none has allocatable {GPU} >= {wanted} (most: {most}; is the "
               "NVIDIA device plugin running?)")
    else:
        why = (f"{len(with_gpus)} nodes have them, but each is cordoned or has a taint the pod does not "
               "tolerate (k8s_gpu_tolerations)")
    raise StageError(f"stage {stage} needs {wanted} {GPU}, but no node can run it ({where}; {why}); "
                     "set k8s_gpu_node_selector / k8s_gpu_tolerations to match the GPU nodes, or "
                     "k8s_gpu_check=false on a cluster whose autoscaler adds GPU nodes on demand")


def list_nodes(client) -> k8s.V1NodeList:
    """All nodes, through the operator hook's CoreV1Api. A refusal names the permission the check needs."""
    from kubernetes.client.rest import ApiException

    try:
        return client.list_node()
    except ApiException as e:
        if e.status in (401, 403):
            raise StageError(f"the GPU check cannot list nodes ({e.status} {e.reason}): grant the Airflow "
                             "ServiceAccount get/list on nodes (helm: rbac.listNodes), or set "
                             "k8s_gpu_check=false") from None
        raise


# ---------- runner.launch's semantics around a pod ----------

def run_stage(pipeline_ref: str, stage_name: str, ref: str, start: Callable[[], Any]) -> dict:
    """What a kubernetes-mode stage task does: seedlib.airflow_support.stage_task with `start()` (create the
    pod and wait for it) as the engine. So a stage complete in the run, or skipped, starts no pod, and the
    stage's report or _FAILED.json decide success and retry, as for local engines. Raises AirflowException
    (retry) or AirflowFailException (no retry: a StageError or ConfigError, e.g. the GPU check, or a stage
    that recorded a failure a retry cannot mend)."""
    from seedlib.airflow_support import stage_task

    return stage_task(pipeline_ref, stage_name, ref, engine=lambda: _pod(start))


def _pod(start: Callable[[], Any]) -> tuple[bool, str]:
    """Run the pod; (succeeded, what to say if the stage recorded no report)."""
    from seedlib.config import Secrets, redact
    from seedlib.runner import first_line

    try:
        start()
    except (ConfigError, StageError):
        raise
    except Exception as e:  # noqa: BLE001 - the pod failed or never ran; the stage's own record decides
        return False, f"its pod failed: {redact(first_line(e), Secrets.from_env(os.environ))}"
    return True, "its pod finished without recording the stage's report"


class SparkStageOperator(SparkKubernetesOperator):
    """A Spark stage as a SparkApplication (`spark_application`), with run_stage around the provider's
    submit-and-follow. Not deferrable: run_stage's check after the driver ends runs in `execute`."""

    template_fields = [*SparkKubernetesOperator.template_fields, "ref"]
    ui_color = "#fce8b2"

    def __init__(self, *, pipeline: str, stage: str, ref: str = REF, **kwargs):
        super().__init__(task_id=stage, deferrable=False, **kwargs)
        self.pipeline, self.stage, self.ref = pipeline, stage, ref

    def execute(self, context):
        return run_stage(self.pipeline, self.stage, self.ref, lambda: super(SparkStageOperator, self).execute(context))


class GpuStageOperator(KubernetesPodOperator):
    """A GPU stage as a pod, with run_stage around the provider's create-and-wait, and the GPU check
    (`check_gpu_nodes`) on the pod exactly as it will be created, before it is. Not deferrable (see
    SparkStageOperator)."""

    template_fields = (*KubernetesPodOperator.template_fields, "ref")
    ui_color = "#d2e3fc"

    def __init__(self, *, pipeline: str, stage: str, ref: str = REF, gpu_check: bool = True, **kwargs):
        super().__init__(task_id=stage, deferrable=False, **kwargs)
        self.pipeline, self.stage, self.ref, self.gpu_check = pipeline, stage, ref, gpu_check

    def build_pod_request_obj(self, context=None, *, dry_run: bool = False) -> k8s.V1Pod:
        """The provider's pod, without repeating a ConfigMap or Secret the pod template already names in
        envFrom (the provider appends the operator's entries to the template's; the template's stay)."""
        pod = super().build_pod_request_obj(context, dry_run=dry_run)
        for container in pod.spec.containers:
            seen, unique = set(), []
            for source in container.env_from or []:
                named = (source.config_map_ref.name if source.config_map_ref else None,
                         source.secret_ref.name if source.secret_ref else None, source.prefix)
                if named not in seen:
                    seen.add(named)
                    unique.append(source)
            container.env_from = unique or None
        return pod

    def execute(self, context):
        def start():
            if self.pod_template_file and not os.path.isfile(self.pod_template_file):
                # the provider would only warn and build the pod without it
                raise StageError(f"k8s_gpu_pod_template: {self.pod_template_file} does not exist here "
                                 "(the Airflow worker must have the GPU pod template mounted)")
            self.pod_request_obj = self.build_pod_request_obj(context)
            if self.gpu_check:
                check_gpu_nodes(list_nodes(self.client), self.pod_request_obj, self.stage)
            return super(GpuStageOperator, self).execute(context)

        return run_stage(self.pipeline, self.stage, self.ref, start)


def check_deployment(config: Config) -> None:
    """What kubernetes mode needs beyond each key's own checks; ConfigError names the key."""
    if not config.kubernetes.image:
        raise ConfigError("k8s_image: required with deployment=kubernetes (the project image, see Dockerfile; "
                          "SEED_K8S_IMAGE)")


def stage_task(pipeline: Pipeline, stage: Stage, config: Config, **kwargs):
    """The task of a stage that kubernetes mode runs as a pod, or None (it stays a StageOperator).
    `kwargs` go to the operator (doc, ...)."""
    k = config.kubernetes
    if stage.engine == "spark":
        return SparkStageOperator(
            pipeline=pipeline.name, stage=stage.name, name=object_name(stage), namespace=k.namespace,
            template_spec={"spark": spark_application(pipeline.name, stage, config)},
            startup_timeout_seconds=k.startup_timeout_s, get_logs=True, delete_on_termination=True, **kwargs)
    if not is_gpu_stage(stage):
        return None
    cmds, arguments = gpu_command(pipeline.name, stage)
    sources = ([k8s.V1EnvFromSource(config_map_ref=k8s.V1ConfigMapEnvSource(name=k.env_configmap))]
               if k.env_configmap else []) + \
        ([k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=k.env_secret))] if k.env_secret else [])
    image = k.gpu_image or (None if k.gpu_pod_template else k.image)  # None: the template's image
    return GpuStageOperator(
        pipeline=pipeline.name, stage=stage.name, gpu_check=k.gpu_check, name=object_name(stage),
        namespace=k.namespace, image=image, image_pull_policy=k.image_pull_policy, cmds=cmds,
        arguments=arguments, container_resources=gpu_resources(stage), env_from=sources,
        service_account_name=k.service_account or None, automount_service_account_token=False,
        node_selector=k.node_selector or None, tolerations=k.tolerations or None,
        pod_template_file=k.gpu_pod_template or None, startup_timeout_seconds=k.startup_timeout_s,
        on_finish_action="delete_pod", get_logs=True, pool=k.gpu_pool, pool_slots=1, **kwargs)
