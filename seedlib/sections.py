"""What a configuration section is, and the run-wide sections (run, s3, github, kubernetes).

A section is a small frozen dataclass whose fields are its keys, each declared with `key(default, help)`,
and whose `validate()` raises `SectionError(key, message)` for a bad value. A stage declares its own
section beside its code (seedlib/crawl/settings.py, seedlib/dedup/settings.py, seedlib/syntax/settings.py);
seedlib/config.py composes them into `Config`, spells their keys on the flat surfaces (YAML flat keys,
`SEED_*` variables, run params) and turns a SectionError into a ConfigError naming the key as users type it.

Standard library only: every stage module and the configuration import it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any, ClassVar

# Defaults shared with the modules that use them outside a configuration.
GITHUB_API_URL = "https://api.github.com"
S3_REGION = "us-east-1"
S3_MAX_ATTEMPTS = 10


class ConfigError(ValueError):
    """A configuration value is missing, unknown or of the wrong type. The message names the key."""


class SectionError(ConfigError):
    """A section's value is bad: `key` is the section's own key name (config.py names it as users do)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key, self.message = key, message


def key(default: Any, help: str) -> Any:
    """One key of a section: its default (immutable: str, int, float, bool, tuples) and its help text."""
    return dataclasses.field(default=default, metadata={"help": help})


class Section:
    """Base of every section: `validate()` checks values beyond their types (types are coerced by
    seedlib/config.py from the annotations: str, int, float, bool, tuple[str, ...] and the per-name
    number mapping tuple[tuple[str, float], ...])."""

    doc: ClassVar[str] = ""

    def validate(self) -> None:
        """Raise SectionError naming the key whose value is bad."""

    @staticmethod
    def positive(obj: Any, *names: str) -> None:
        for name in names:
            if getattr(obj, name) == 0:
                raise SectionError(name, "must be greater than 0")


DEPLOYMENTS = ("local", "kubernetes")
_SUBMIT = {"auto": None, "true": True, "1": True, "yes": True, "on": True,
           "false": False, "0": False, "no": False, "off": False}


@dataclasses.dataclass(frozen=True)
class RunSection(Section):
    """What to crawl, where the run lives, and how Spark runs."""

    storage: str = key("", "root URI: file:///abs/path or s3://bucket/prefix (default: <working dir>/.seed/data)")
    sources: tuple[str, ...] = key((), "repositories to crawl: git URL, file:///abs/repo, local path, @FILE; "
                                       "empty = embedded default")
    languages: tuple[str, ...] = key((), "languages to keep (empty = all known)")
    allow_empty: bool = key(False, "publish even when every repository failed or no file was kept (refused by "
                                   "default: an empty snapshot would replace the date's previous one)")
    spark_master: str = key("local[*]", "Spark master for the embedded connection")
    partitions: int = key(4, "Spark partitions for per-repository work")
    spark_submit: str = key("auto", "how Spark stages start: true = each as its own spark-submit; false = "
                                    "inside the task's process on one Spark session the stages share (saves "
                                    "the JVM start per stage; executors keep the environment, e.g. S3 "
                                    "credentials, of the moment the session started); auto = false when "
                                    "spark_master is local[...], else true")
    accelerate_launch: bool = key(True, "run each accelerate stage (training, scoring) as its own `accelerate "
                                        "launch` (false: inside the task's process, as one process, which "
                                        "saves starting torch per stage on small local runs)")
    deployment: str = key("local", "where the DAGs' stages run, decided when the DAG files are parsed: local = "
                                   "every stage in its Airflow task (spark-submit, accelerate launch or the "
                                   "task's process); kubernetes = Spark stages as SparkApplications of the "
                                   "kubeflow spark-operator and GPU stages as pods (section kubernetes, "
                                   "docs/kubernetes.md)")

    def validate(self) -> None:
        s = self.storage
        if not (s.startswith("file:///") or s.startswith("s3://") or s.startswith("/")):
            raise SectionError("storage", f"expected file:///abs/path, an absolute path or s3://bucket/prefix, "
                                          f"got {s!r}")
        self.positive(self, "partitions")
        if self.spark_submit.strip().lower() not in _SUBMIT:
            raise SectionError("spark_submit", f"expected auto, true or false, got {self.spark_submit!r}")
        if self.deployment not in DEPLOYMENTS:
            raise SectionError("deployment", f"expected {' or '.join(DEPLOYMENTS)}, got {self.deployment!r}")
        check_languages(self.languages)

    @property
    def uses_spark_submit(self) -> bool:
        """Whether Spark stages run as their own spark-submit (`spark_submit`, with auto resolved)."""
        value = _SUBMIT[self.spark_submit.strip().lower()]
        return not self.spark_master.startswith("local") if value is None else value


def check_languages(names: tuple[str, ...]) -> None:
    """Every name must be in the language table (case-insensitive, as the crawl compares them)."""
    import difflib

    from seedlib.languages import LANGUAGES

    known = {lang.lower(): lang for lang in LANGUAGES}
    for name in names:
        if name.lower() not in known:
            close = difflib.get_close_matches(name.lower(), known, n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(repr(known[c]) for c in close)}?" if close else \
                "; see seedlib/languages.py for the table"
            raise SectionError("languages", f"unknown language {name!r}{hint}")


@dataclasses.dataclass(frozen=True)
class S3Section(Section):
    """The S3 endpoint of an s3:// storage root (credentials come from the environment only)."""

    endpoint_url: str = key("", "S3 endpoint (empty = AWS); e.g. http://127.0.0.1:9000")
    region: str = key(S3_REGION, "S3 region")
    max_attempts: int = key(S3_MAX_ATTEMPTS, "S3 attempts per request (throttling and 5xx are retried)")

    def validate(self) -> None:
        if self.max_attempts == 0:
            raise SectionError("max_attempts", "must be at least 1")
        if self.endpoint_url and not self.endpoint_url.startswith(("http://", "https://")):
            raise SectionError("endpoint_url", f"expected http:// or https:// URL, got {self.endpoint_url!r}")


@dataclasses.dataclass(frozen=True)
class GitHubSection(Section):
    """Repository discovery through the GitHub API (only with a token: SEED_GITHUB_TOKEN or GITHUB_TOKEN)."""

    api_url: str = key(GITHUB_API_URL, "GitHub REST API base URL")
    min_stars: int = key(0, "github: search results need at least this many stars")
    min_forks: int = key(0, "... and this many forks")
    include_forks: bool = key(False, "keep repositories that are forks")
    include_archived: bool = key(False, "keep archived repositories")


_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_TOLERATION_KEYS = {"key", "operator", "value", "effect", "tolerationSeconds"}
_TAINT_EFFECTS = ("", "NoSchedule", "PreferNoSchedule", "NoExecute")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


@dataclasses.dataclass(frozen=True)
class KubernetesSection(Section):
    """Kubernetes mode (`deployment: kubernetes`): what the SparkApplications and GPU pods the DAG tasks
    create are made of. Only names of ConfigMaps and Secrets are configured here, never their values."""

    namespace: str = key("default", "namespace of the SparkApplications and GPU pods")
    image: str = key("", "the project image (Dockerfile) of Spark drivers/executors and GPU pods; required "
                         "with deployment=kubernetes")
    image_pull_policy: str = key("IfNotPresent", "imagePullPolicy: Always, IfNotPresent or Never")
    service_account: str = key("", "ServiceAccount of Spark drivers (they create their executors) and GPU "
                                   "pods (empty = the namespace's default)")
    env_configmap: str = key("", "ConfigMap whose SEED_* variables every driver, executor and GPU pod gets "
                                 "(envFrom; empty = none)")
    env_secret: str = key("", "Secret with the credentials (AWS_*, SEED_GITHUB_TOKEN, ...) every driver, "
                              "executor and GPU pod gets (envFrom, by name; empty = none)")
    executors: int = key(2, "executor instances of each SparkApplication (their cores and memory come from "
                            "the stage's declared resources)")
    gpu_pool: str = key("gpu", "the Airflow pool GPU stages take a slot of (its slots: how many GPU tasks run "
                               "at once)")
    gpu_image: str = key("", "image of GPU pods (e.g. a CUDA build); empty = the pod template's, else image")
    gpu_node_selector: str = key("{}", "JSON object of node labels GPU pods must match, e.g. "
                                       "{\"nvidia.com/gpu.present\": \"true\"}")
    gpu_tolerations: str = key("[]", "JSON list of tolerations of GPU pods, e.g. [{\"key\": \"nvidia.com/gpu\", "
                                     "\"operator\": \"Exists\", \"effect\": \"NoSchedule\"}]")
    gpu_pod_template: str = key("", "pod template file (YAML) GPU pods start from, main container `base`; "
                                    "the stage's command, resources and the keys above take precedence")
    gpu_check: bool = key(True, "before creating a GPU pod, fail unless some schedulable node matching the "
                                "node selector has enough allocatable nvidia.com/gpu (false: clusters whose "
                                "autoscaler adds GPU nodes on demand)")
    startup_timeout_s: int = key(600, "seconds a SparkApplication's driver or a GPU pod may take to start "
                                      "(Pending, pulling) before the task fails")

    def validate(self) -> None:
        if not _DNS_LABEL.match(self.namespace):
            raise SectionError("namespace", f"expected a DNS-1123 label (lower case, digits, '-'), "
                                            f"got {self.namespace!r}")
        if self.image_pull_policy not in _PULL_POLICIES:
            raise SectionError("image_pull_policy", f"expected one of {', '.join(_PULL_POLICIES)}, "
                                                    f"got {self.image_pull_policy!r}")
        for name in ("service_account", "env_configmap", "env_secret"):
            value = getattr(self, name)
            if value and not _DNS_NAME.match(value):
                raise SectionError(name, f"expected a Kubernetes object name (lower case, digits, '-', '.'), "
                                         f"got {value!r}")
        self.positive(self, "executors", "startup_timeout_s")
        if not self.gpu_pool.strip():
            raise SectionError("gpu_pool", "must name an Airflow pool")
        _ = self.node_selector, self.tolerations  # parsed now: a bad value fails when the configuration loads

    @property
    def node_selector(self) -> dict[str, str]:
        """gpu_node_selector as a mapping of label -> value."""
        value = _json("gpu_node_selector", self.gpu_node_selector, "a JSON object", {})
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in value.items()):
            raise SectionError("gpu_node_selector", f"expected a JSON object of string labels to string values "
                                                    f"(quote numbers and booleans), got {self.gpu_node_selector!r}")
        return value

    @property
    def tolerations(self) -> list[dict[str, Any]]:
        """gpu_tolerations as a list of toleration objects (Kubernetes' field names)."""
        value = _json("gpu_tolerations", self.gpu_tolerations, "a JSON list", [])
        if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
            raise SectionError("gpu_tolerations", f"expected a JSON list of objects, got {self.gpu_tolerations!r}")
        for t in value:
            unknown = set(t) - _TOLERATION_KEYS
            if unknown:
                raise SectionError("gpu_tolerations", f"unknown toleration field {sorted(unknown)[0]!r} "
                                                      f"(known: {', '.join(sorted(_TOLERATION_KEYS))})")
            if t.get("operator", "Equal") not in ("Equal", "Exists"):
                raise SectionError("gpu_tolerations", f"operator must be Equal or Exists, got {t['operator']!r}")
            if t.get("effect", "") not in _TAINT_EFFECTS:
                raise SectionError("gpu_tolerations", f"effect must be one of NoSchedule, PreferNoSchedule, "
                                                      f"NoExecute (or absent), got {t['effect']!r}")
            if not isinstance(t.get("tolerationSeconds", 0), int):
                raise SectionError("gpu_tolerations", "tolerationSeconds must be an integer")
        return value


def _json(name: str, text: str, expected: str, empty: Any) -> Any:
    """A key's JSON value (`empty` for an empty string), or a SectionError naming the key."""
    try:
        return json.loads(text) if text.strip() else empty
    except json.JSONDecodeError as e:
        raise SectionError(name, f"expected {expected}, not valid JSON ({e.msg} at column {e.colno})") from None
