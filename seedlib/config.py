"""The one typed configuration of a run, composed of sections declared beside their stages.

Sections (the mapping table `SECTIONS` below): `run`, `s3`, `github` (seedlib/sections.py), `crawl`
(seedlib/crawl/settings.py), `dedup`, `repo_dedup`, `near_dedup` (seedlib/dedup/settings.py) and `syntax`
(seedlib/syntax/settings.py), `quality` (seedlib/quality/settings.py), `decontam`, `commit_samples`,
`repo_sequences`, `fim`, `export` (seedlib/samples/settings.py), `web` (seedlib/web/settings.py),
`kubernetes` (seedlib/sections.py, flat prefix `k8s_`). Code reads values by section: `config.near_dedup.threshold`.

What users type is flat: key `threshold` of section `near_dedup` is `near_dedup_threshold` in a YAML file,
as `SEED_NEAR_DEDUP_THRESHOLD`, as a run param or a flag; the `run` and `crawl` sections' keys are spelt as
they are (`storage`, `max_file_bytes`, `commit_min_stars`). YAML also takes the nested form
`near_dedup: {threshold: 0.7}`. `public_dict()` (manifests, _RUN.json) is nested by section;
`config_from_dict()` reads it and the flat form of older manifests (`flat_dict` normalises either).

Precedence, highest first: explicit overrides (command-line flags, Airflow run params) > environment
`SEED_<KEY>` > YAML file > defaults. A bad value fails fast with a `ConfigError` that names the key and
where it came from. Secrets are not configuration: they come only from the environment (see `Secrets`),
are refused in YAML, and never appear in `Config.public_dict()`.

No module reads the environment on its own: callers pass `environ` in explicitly.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from seedlib.crawl.settings import CrawlSection
from seedlib.dedup.settings import DedupSection, NearDedupSection, RepoDedupSection
from seedlib.sections import ConfigError, GitHubSection, KubernetesSection, RunSection, S3Section, SectionError
from seedlib.quality.settings import QualitySection
from seedlib.samples.settings import (CommitSamplesSection, DecontamSection, ExportSection, FimSection,
                                      SequencesSection)
from seedlib.syntax.settings import SyntaxSection
from seedlib.web.settings import WebSection

__all__ = ["Config", "ConfigError", "Secrets", "load_config", "config_from_dict", "flat_dict", "help_for",
           "redact", "SECTIONS", "FLAT", "FIELDS", "markdown"]


# Keys that must never be configured in a file; they come from the environment only.
SECRET_ENV = {
    "github_token": ("SEED_GITHUB_TOKEN", "GITHUB_TOKEN"),
    "oracle_api_key": ("SEED_ORACLE_API_KEY",),
}
_SECRET_LIKE_KEYS = {"github_token", "token", "aws_access_key_id", "aws_secret_access_key",
                     "aws_session_token", "llm_api_key", "oracle_api_key", "password", "secret"}


@dataclass(frozen=True)
class Config:
    """Effective configuration, one attribute per section (see SECTIONS)."""

    run: RunSection = field(default_factory=RunSection)
    s3: S3Section = field(default_factory=S3Section)
    github: GitHubSection = field(default_factory=GitHubSection)
    crawl: CrawlSection = field(default_factory=CrawlSection)
    dedup: DedupSection = field(default_factory=DedupSection)
    repo_dedup: RepoDedupSection = field(default_factory=RepoDedupSection)
    near_dedup: NearDedupSection = field(default_factory=NearDedupSection)
    syntax: SyntaxSection = field(default_factory=SyntaxSection)
    quality: QualitySection = field(default_factory=QualitySection)
    decontam: DecontamSection = field(default_factory=DecontamSection)
    commit_samples: CommitSamplesSection = field(default_factory=CommitSamplesSection)
    repo_sequences: SequencesSection = field(default_factory=SequencesSection)
    fim: FimSection = field(default_factory=FimSection)
    export: ExportSection = field(default_factory=ExportSection)
    web: WebSection = field(default_factory=WebSection)
    kubernetes: KubernetesSection = field(default_factory=KubernetesSection)

    def public_dict(self) -> dict[str, Any]:
        """JSON-ready, secret-free view, nested by section (what goes into manifests and logs)."""
        out: dict[str, Any] = {}
        for name in SECTIONS:
            section = getattr(self, name)
            out[name] = {f.name: _jsonable(f, getattr(section, f.name)) for f in dataclasses.fields(section)}
        return out

    def flat(self) -> dict[str, Any]:
        """Every value by its flat name (what users type)."""
        return {flat: getattr(getattr(self, s), k) for flat, (s, k) in FLAT.items()}


def _jsonable(f: dataclasses.Field, value: Any) -> Any:
    if f.type == _MAPPING:
        return {name: number for name, number in value}
    if isinstance(value, tuple):
        return list(value)
    return value


# THE mapping table between sections and flat names: section -> the prefix of its keys' flat names.
# `<prefix><key>` is what users type (YAML flat keys, SEED_<FLAT>, run params, flags).
SECTIONS: dict[str, str] = {
    "run": "",
    "s3": "s3_",
    "github": "github_",
    "crawl": "",
    "dedup": "dedup_",
    "repo_dedup": "repo_dedup_",
    "near_dedup": "near_dedup_",
    "syntax": "syntax_",
    "quality": "quality_",
    "decontam": "decontam_",
    "commit_samples": "commit_samples_",
    "repo_sequences": "repo_",
    "fim": "fim_",
    "export": "export_",
    "web": "web_",
    "kubernetes": "k8s_",
}
_CLASSES: dict[str, type] = {f.name: f.default_factory for f in dataclasses.fields(Config)}  # type: ignore[misc]
assert list(_CLASSES) == list(SECTIONS), "Config's sections and SECTIONS must agree"

# flat name -> (section, key), and flat name -> the dataclass field (type, default, help).
FLAT: dict[str, tuple[str, str]] = {}
FIELDS: dict[str, dataclasses.Field] = {}
for _section, _prefix in SECTIONS.items():
    for _f in dataclasses.fields(_CLASSES[_section]):
        _flat = _prefix + _f.name
        assert _flat not in FLAT and _flat not in SECTIONS, f"flat name {_flat} is ambiguous"
        FLAT[_flat], FIELDS[_flat] = (_section, _f.name), _f
del _section, _prefix, _f, _flat


def flat_name(section: str, key: str) -> str:
    """How users spell a section's key: near_dedup, threshold -> near_dedup_threshold."""
    return SECTIONS[section] + key


def help_for(name: str) -> str:
    """The help text of a key, by its flat name (`allow_empty`) or as `section.key`."""
    if "." in name:
        name = flat_name(*name.split(".", 1))
    return FIELDS[name].metadata["help"]


def flat_dict(data: Mapping[str, Any]) -> dict[str, Any]:
    """A configuration dict by flat names, from the nested form (`public_dict()`, new manifests) or the
    flat form (older manifests and run specs), without checking it. A section's unknown key is kept as
    `section.key`, so comparisons of two dicts still see it."""
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name in SECTIONS and isinstance(value, Mapping):
            for key, inner in value.items():
                known = key in {f.name for f in dataclasses.fields(_CLASSES[name])}
                out[flat_name(name, key) if known else f"{name}.{key}"] = inner
        else:
            out[name] = value
    return out


@dataclass(frozen=True)
class Secrets:
    """Credentials, read from the environment only. `repr` never shows values."""

    github_token: str | None = None
    oracle_api_key: str | None = None

    def __repr__(self) -> str:
        shown = {k: "***" if getattr(self, k) else None for k in SECRET_ENV}
        return f"Secrets({', '.join(f'{k}={v}' for k, v in shown.items())})"

    def values(self) -> list[str]:
        return [v for v in (self.github_token, self.oracle_api_key) if v]

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Secrets":
        found = {}
        for key, names in SECRET_ENV.items():
            found[key] = next((environ[n] for n in names if environ.get(n)), None)
        return cls(**found)


def env_name(key: str) -> str:
    return "SEED_" + key.upper()


def _coerce(key: str, value: Any, origin: str) -> Any:
    """Convert one raw value to the field's type, or raise ConfigError naming key and origin."""
    ftype = FIELDS[key].type
    where = f"{key} (from {origin})"
    if ftype in ("tuple[str, ...]",):
        if isinstance(value, str):
            items = [s.strip() for s in value.split(",")]
        elif isinstance(value, (list, tuple)):
            items = value
        else:
            raise ConfigError(f"{where}: expected a list of strings or a comma-separated string, got {value!r}")
        if not all(isinstance(s, str) for s in items):
            raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
        return tuple(s for s in (x.strip() for x in items) if s)
    if ftype == _MAPPING:
        return _coerce_mapping(where, value)
    if ftype == "float":
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
        if not number >= 0 or number == float("inf"):
            raise ConfigError(f"{where}: expected a non-negative number, got {value!r}")
        return number
    if ftype == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if ftype == "int":
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected an integer, got {value!r}") from None
        if number < 0:
            raise ConfigError(f"{where}: expected a non-negative integer, got {number}")
        return number
    if ftype == "str":
        if value is None:
            return ""
        if not isinstance(value, (str, int, float)):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return str(value)
    raise AssertionError(f"unhandled config type {ftype} for {key}")


_MAPPING = "tuple[tuple[str, float], ...]"  # a per-name number mapping, stored sorted as (name, value) pairs


def _coerce_mapping(where: str, value: Any) -> tuple[tuple[str, float], ...]:
    """{name: number}, [[name, number], ...] or "NAME=NUMBER,..." -> sorted ((name, number), ...)."""
    if isinstance(value, str):
        pairs = []
        for item in (s.strip() for s in value.split(",")):
            if not item:
                continue
            name, sep, number = item.rpartition("=")
            if not sep or not name.strip():
                raise ConfigError(f"{where}: expected NAME=NUMBER pairs separated by commas, got {item!r}")
            pairs.append((name.strip(), number.strip()))
    elif isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, (list, tuple)) and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in value):
        pairs = [tuple(p) for p in value]
    else:
        raise ConfigError(f"{where}: expected a mapping of name: number, got {value!r}")
    out = {}
    for name, number in pairs:
        if not isinstance(name, str):
            raise ConfigError(f"{where}: expected string names, got {name!r}")
        if isinstance(number, bool):
            raise ConfigError(f"{where}: {name}: expected a number, got {number!r}")
        try:
            out[name] = float(number)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: {name}: expected a number, got {number!r}") from None
        if not out[name] >= 0:
            raise ConfigError(f"{where}: {name}: expected a non-negative number, got {number!r}")
    return tuple(sorted(out.items()))


def _check_key(key: str, origin: str) -> None:
    if key in SECRET_ENV or key.lower() in _SECRET_LIKE_KEYS:
        where = f"set {' or '.join(SECRET_ENV[key])} in the environment" if key in SECRET_ENV else \
            "they come from the environment only"
        raise ConfigError(f"{key} (from {origin}): secrets are not accepted here; {where}")
    if key not in FIELDS:
        import difflib

        close = difflib.get_close_matches(key, sorted(FIELDS), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        known = ", ".join(sorted(FIELDS))
        raise ConfigError(f"{key} (from {origin}): unknown configuration key{hint}; known keys: {known}; "
                          f"sections (nested form in YAML): {', '.join(SECTIONS)}")


# SEED_* variables that are not configuration keys: where things live, and the secrets.
NON_KEY_ENV = frozenset({"SEED_HOME", "SEED_CONFIG",
                         "SEED_TRAIN_SCORER_ON_SNAPSHOT"}  # dags/seed_train_scorer.py's schedule
                        | {n for names in SECRET_ENV.values() for n in names})


def _check_environment(environ: Mapping[str, str]) -> None:
    """A SEED_* variable that is no key is refused by name (a typo must not be silently ignored)."""
    import difflib

    keys = {env_name(k) for k in FIELDS}
    for name in sorted(environ):
        if name.startswith("SEED_") and name not in keys and name not in NON_KEY_ENV:
            close = difflib.get_close_matches(name, sorted(keys), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigError(f"environment {name}: not a configuration key{hint} (keys are SEED_<KEY>, "
                              "see docs/configuration.md; also SEED_HOME and SEED_CONFIG)")


def read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"config file {p}: cannot read it ({e.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"config file {p}: not valid YAML{at}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p}: expected a mapping of key: value at the top level")
    return data


def _entries(data: Mapping[str, Any], origin: str) -> dict[str, Any]:
    """One layer's raw values by flat name, from the flat form (`near_dedup_threshold: 0.7`) and the nested
    form (`near_dedup: {threshold: 0.7}`), refusing secrets, unknown keys and a key given twice."""
    out: dict[str, Any] = {}
    spelt: dict[str, str] = {}

    def put(flat: str, as_given: str, value: Any) -> None:
        if flat in out:
            raise ConfigError(f"{flat} (from {origin}): given twice, as {spelt[flat]} and as {as_given}")
        out[flat], spelt[flat] = value, as_given

    for name, value in data.items():
        name = str(name)
        if name in SECTIONS and (isinstance(value, Mapping) or value is None):
            keys = [f.name for f in dataclasses.fields(_CLASSES[name])]
            for key, inner in (value or {}).items():
                key = str(key)
                if flat_name(name, key) in SECRET_ENV or key.lower() in _SECRET_LIKE_KEYS:
                    _check_key(flat_name(name, key) if flat_name(name, key) in SECRET_ENV else key, origin)
                if key not in keys:
                    import difflib

                    close = difflib.get_close_matches(key, keys, n=1)
                    hint = f"; did you mean {close[0]}?" if close else ""
                    raise ConfigError(f"{name}.{key} (from {origin}): unknown key in section {name}{hint}; "
                                      f"its keys: {', '.join(keys)}")
                put(flat_name(name, key), f"{name}.{key}", inner)
        elif name in SECTIONS:
            raise ConfigError(f"{name} (from {origin}): a section: expected a mapping of key: value, "
                              f"got {value!r}")
        else:
            _check_key(name, origin)
            put(name, name, value)
    return out


def load_config(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None,
                config_file: str | None = None, cwd: str | None = None) -> Config:
    """Build the effective Config from the layers. `overrides` keys are flat names (as run params).

    The YAML file is `config_file`, else `SEED_CONFIG` from `environ`, else none. The default storage
    is `$SEED_HOME/data`, SEED_HOME defaulting to `<cwd>/.seed`.
    """
    environ = environ or {}
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None and v != [] and v != ()}
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}

    def layer(raw_values: Mapping[str, Any], origin_of) -> None:
        for flat, raw in raw_values.items():
            values[flat] = _coerce(flat, raw, origin_of(flat))
            origins[flat] = origin_of(flat)

    path = config_file or environ.get("SEED_CONFIG")
    if path:
        origin = f"config file {path}"
        layer(_entries(read_yaml(path), origin), lambda _: origin)
    _check_environment(environ)
    layer({flat: environ[env_name(flat)] for flat in FIELDS if env_name(flat) in environ},
          lambda flat: f"environment {env_name(flat)}")
    origin = "command line / run parameters"
    layer(_entries(overrides, origin), lambda _: origin)

    if not values.get("storage"):
        home = environ.get("SEED_HOME") or Path(cwd or os.getcwd()) / ".seed"
        values["storage"] = (Path(home) / "data").resolve().as_uri()
    config = _build(values)
    validate(config, origins)
    return config


def _build(values: Mapping[str, Any]) -> Config:
    """Config from coerced values by flat name (missing ones take their defaults)."""
    per: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    for flat, value in values.items():
        section, key = FLAT[flat]
        per[section][key] = value
    return Config(**{name: _CLASSES[name](**per[name]) for name in SECTIONS})


def validate(config: Config, origins: Mapping[str, str] | None = None) -> None:
    """Each section validates itself; a bad value is named as users type it, with where it came from."""
    for name in SECTIONS:
        try:
            getattr(config, name).validate()
        except SectionError as e:
            flat = flat_name(name, e.key)
            where = f" (from {origins[flat]})" if origins and flat in origins else ""
            raise ConfigError(f"{flat}: {e.message}{where}") from None


def config_from_dict(data: Mapping[str, Any]) -> Config:
    """Rebuild a Config from `public_dict()` output (nested by section) or the flat form of older
    manifests and run specs (e.g. inside a Spark job)."""
    origin = "run spec"
    config = _build({flat: _coerce(flat, raw, origin) for flat, raw in _entries(data, origin).items()})
    validate(config, {flat: origin for flat in FIELDS})
    return config


def markdown() -> str:
    """docs/configuration.md: every section with its keys, types, defaults and help (from the dataclasses)."""
    import inspect

    lines = [
        "# Configuration",
        "",
        "<!-- Generated from the section dataclasses by `python -m seedlib.config --markdown`; do not edit. -->",
        "",
        "One typed configuration in sections, each declared and validated beside its stage. Precedence, highest",
        "first: command-line flag or Airflow run param > environment `SEED_<FLAT NAME>` > YAML file (`--config` or",
        "`SEED_CONFIG`) > defaults. A bad value fails with a message naming the key and where it came from; a",
        "`SEED_*` variable that is no key is refused by name. Secrets (e.g. `SEED_GITHUB_TOKEN`) come from the",
        "environment only and never appear in a manifest.",
        "",
        "Every key has a flat name, used by `SEED_*` environment variables and Airflow run params (the trigger",
        "form offers some of them; `seed run` has flags for a few) and accepted in YAML: `<section>_<key>` (e.g.",
        "`near_dedup_threshold`, `SEED_NEAR_DEDUP_THRESHOLD`), except in the `run` and `crawl` sections, whose",
        "keys are spelt as they are (e.g. `storage`, `max_file_bytes`, `commit_min_stars`). YAML also takes the",
        "nested form:",
        "",
        "```yaml",
        "storage: s3://bucket/curated      # flat",
        "near_dedup_threshold: 0.8         # flat",
        "syntax:                           # nested",
        "  max_error_ratio: 0.002",
        "  rules: [auto_generated, minified]",
        "```",
        "",
        "Lists are YAML lists or comma-separated strings; per-language numbers are a YAML mapping or",
        "`LANG=NUMBER,...`. Manifests and `_RUN.json` record the effective configuration nested by section.",
        "",
    ]
    for name, prefix in SECTIONS.items():
        cls = _CLASSES[name]
        module = sys.modules[cls.__module__].__file__ or ""
        where = Path(module).as_posix().split("/seedlib/", 1)[-1]
        doc = inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0].replace("\n", " ")
        lines += [f"## `{name}`", "", f"{doc} Declared in `seedlib/{where}`.", "",
                  "| key | flat name / environment | type | default | meaning |",
                  "|---|---|---|---|---|"]
        for f in dataclasses.fields(cls):
            flat = prefix + f.name
            help_text = f.metadata["help"].replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
            lines.append(f"| `{f.name}` | `{flat}` / `{env_name(flat)}` | {_TYPE_NAMES[f.type]} | "
                         f"{_default_text(f)} | {help_text} |")
        lines.append("")
    return "\n".join(lines)


_TYPE_NAMES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean",
               "tuple[str, ...]": "list of strings", _MAPPING: "name: number"}
assert all(f.type in _TYPE_NAMES for f in FIELDS.values()), "a section key has a type config.py cannot coerce"


def _default_text(f: dataclasses.Field) -> str:
    value = f.default
    if f.type == _MAPPING:
        text = ", ".join(f"{k}={v:g}" for k, v in value)
    elif isinstance(value, tuple):
        text = ", ".join(value)
    elif isinstance(value, bool):
        text = str(value).lower()
    else:
        text = str(value)
    return f"`{text}`" if text else "(empty)"


def redact(text: str, secrets: Secrets) -> str:
    """Replace every secret value in text with ***."""
    for value in secrets.values():
        text = text.replace(value, "***")
    return text


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m seedlib.config",
                                     description="print the configuration reference (docs/configuration.md)")
    parser.add_argument("--markdown", action="store_true", help="print docs/configuration.md")
    parser.parse_args()
    from seedlib.config import markdown as _markdown  # the imported module, not this __main__ copy

    print(_markdown())
