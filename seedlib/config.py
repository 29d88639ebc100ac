"""The one typed configuration of a snapshot run.

Precedence, highest first: explicit overrides (command-line flags, Airflow run params) > environment
`SEED_<KEY>` > YAML file > defaults. A bad value fails fast with a `ConfigError` that names the key and
where it came from. Secrets are not configuration: they come only from the environment (see `Secrets`),
are refused in YAML, and never appear in `Config.public_dict()`.

No module reads the environment on its own: callers pass `environ` in explicitly.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml


class ConfigError(ValueError):
    """A configuration value is missing, unknown or of the wrong type. The message names the key."""


# Keys that must never be configured in a file; they come from the environment only.
SECRET_ENV = {
    "github_token": ("SEED_GITHUB_TOKEN", "GITHUB_TOKEN"),
}
_SECRET_LIKE_KEYS = {"github_token", "token", "aws_access_key_id", "aws_secret_access_key",
                     "aws_session_token", "llm_api_key", "password", "secret"}


@dataclass(frozen=True)
class Config:
    """Effective configuration. Field docs are shown by `seed run --help`."""

    storage: str = field(default="", metadata={"help": "root URI: file:///abs/path or s3://bucket/prefix "
                                                       "(default: <working dir>/.seed/data)"})
    sources: tuple[str, ...] = field(default=(), metadata={
        "help": "repositories to crawl: git URL, file:///abs/repo, local path, @FILE; empty = embedded default"})
    languages: tuple[str, ...] = field(default=(), metadata={"help": "languages to keep (empty = all known)"})
    max_file_bytes: int = field(default=1_000_000, metadata={"help": "files larger than this are dropped as too_large"})
    max_files_per_repo: int = field(default=200_000, metadata={
        "help": "files beyond this many in one repository are dropped as repo_file_cap"})
    clone_timeout_s: int = field(default=600, metadata={"help": "seconds allowed for one git clone"})
    github_api_url: str = field(default="https://api.github.com", metadata={"help": "GitHub REST API base URL"})
    github_min_stars: int = field(default=0, metadata={"help": "github: search results need at least this many stars"})
    github_min_forks: int = field(default=0, metadata={"help": "... and this many forks"})
    github_include_forks: bool = field(default=False, metadata={"help": "keep repositories that are forks"})
    github_include_archived: bool = field(default=False, metadata={"help": "keep archived repositories"})
    commit_min_stars: int = field(default=100, metadata={"help": "commits are extracted from repositories with at least this many stars (ignored when unknown)"})
    commit_min_forks: int = field(default=10, metadata={"help": "... and this many forks (ignored when unknown)"})
    commit_min_commits: int = field(default=100, metadata={"help": "... and this many first-parent commits"})
    commit_min_days: int = field(default=100, metadata={"help": "... and this many days between first and last commit"})
    commit_max_commits: int = field(default=1000, metadata={"help": "newest first-parent commits kept per repository"})
    commit_max_file_bytes: int = field(default=200_000, metadata={"help": "before/after contents larger than this are left out"})
    allow_empty: bool = field(default=False, metadata={
        "help": "publish even when every repository failed or no file was kept (refused by default: an "
                "empty snapshot would replace the date's previous one)"})
    spark_master: str = field(default="local[*]", metadata={"help": "Spark master for the embedded connection"})
    partitions: int = field(default=4, metadata={"help": "Spark partitions for per-repository work"})
    s3_endpoint_url: str = field(default="", metadata={"help": "S3 endpoint (empty = AWS); e.g. http://127.0.0.1:9000"})
    s3_region: str = field(default="us-east-1", metadata={"help": "S3 region"})
    s3_max_attempts: int = field(default=10, metadata={"help": "S3 attempts per request (throttling and 5xx are retried)"})
    # The dedup stages (seedlib/dedup): exact_dedup, near_dedup.
    dedup_against_published: bool = field(default=True, metadata={
        "help": "also drop files that duplicate files published by earlier snapshots (the dedup index in their "
                "manifests), so each snapshot holds only what is new; false makes every snapshot self-contained"})
    dedup_exact_hash: str = field(default="raw", metadata={
        "help": "exact dedup key: raw (SHA-256 of the bytes) or whitespace (of the contents with whitespace runs collapsed)"})
    dedup_keep_order: tuple[str, ...] = field(default=("license", "stars", "forks", "pushed"), metadata={
        "help": "which copy is kept: repository criteria in order (license = permissive first, stars, forks, "
                "pushed = most recent), then repo and path ascending"})
    dedup_permissive_licenses: tuple[str, ...] = field(default=(
        "MIT", "MIT-0", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "Unlicense", "0BSD", "Zlib",
        "CC0-1.0", "BSL-1.0", "PSF-2.0", "Python-2.0"), metadata={"help": "SPDX ids counted as permissive (case-insensitive)"})
    near_dedup_shingle: int = field(default=5, metadata={"help": "words per MinHash shingle (1-8)"})
    near_dedup_num_perm: int = field(default=256, metadata={"help": "MinHash permutations"})
    near_dedup_threshold: float = field(default=0.7, metadata={
        "help": "Jaccard threshold of near duplicates (LSH bands x rows are derived from it); 0 disables"})
    near_dedup_max_bucket: int = field(default=100, metadata={
        "help": "LSH buckets with more members link each member to the best one only (never gathered into one task)"})
    near_dedup_max_component: int = field(default=10_000, metadata={
        "help": "in larger components only files similar to the keeper itself are dropped"})
    repo_dedup_threshold: float = field(default=0.85, metadata={
        "help": "Jaccard threshold over repositories' sets of file hashes for repo_duplicate; 0 disables"})
    repo_dedup_min_files: int = field(default=5, metadata={
        "help": "repositories with fewer distinct files are not compared for repository-level near dedup"})
    # The syntax stage (seedlib/syntax): tree-sitter check and minimal rules.
    syntax_max_error_ratio: float = field(default=0.001, metadata={
        "help": "files whose share of bytes in tree-sitter ERROR/MISSING regions exceeds this are dropped as syntax_error"})
    syntax_error_ratio_by_language: tuple[tuple[str, float], ...] = field(
        default=(("C", 0.25), ("C++", 0.25), ("CUDA", 0.25)), metadata={
            "help": "per-language overrides of syntax_max_error_ratio (LANG=RATIO,...; replaces the default list)"})
    syntax_max_parse_bytes: int = field(default=500_000, metadata={
        "help": "larger files of a parsed language are dropped as parse_too_large"})
    syntax_parse_timeout_ms: int = field(default=5_000, metadata={
        "help": "a parse running longer is cancelled and the file dropped as parse_timeout"})
    syntax_rules: tuple[str, ...] = field(default=("auto_generated", "encoded_data", "minified", "data_literals"),
                                          metadata={"help": "minimal rules applied before parsing (empty = none)"})
    syntax_max_line_chars: int = field(default=1_000, metadata={"help": "a longer line makes a file minified"})
    syntax_max_mean_line_chars: int = field(default=100, metadata={
        "help": "a higher mean line length makes a file minified"})
    syntax_max_encoded_run: int = field(default=1_024, metadata={
        "help": "a longer base64/hex run makes a file encoded_data"})
    syntax_max_encoded_share: float = field(default=0.5, metadata={
        "help": "a larger share of characters in base64/hex runs (>= 64 chars) makes a file encoded_data"})
    syntax_max_data_share: float = field(default=0.5, metadata={
        "help": "a larger share of bytes on literal-only lines makes a code file data_literals"})

    def public_dict(self) -> dict[str, Any]:
        """JSON-ready, secret-free view (what goes into manifests and logs)."""
        out = dataclasses.asdict(self)
        for k, v in out.items():
            if FIELDS[k].type == _MAPPING:
                out[k] = {name: value for name, value in v}
            elif isinstance(v, tuple):
                out[k] = list(v)
        return out


@dataclass(frozen=True)
class Secrets:
    """Credentials, read from the environment only. `repr` never shows values."""

    github_token: str | None = None

    def __repr__(self) -> str:
        return f"Secrets(github_token={'***' if self.github_token else None})"

    def values(self) -> list[str]:
        return [v for v in (self.github_token,) if v]

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Secrets":
        found = {}
        for key, names in SECRET_ENV.items():
            found[key] = next((environ[n] for n in names if environ.get(n)), None)
        return cls(**found)


FIELDS = {f.name: f for f in dataclasses.fields(Config)}
SYNTAX_RULES = frozenset({"auto_generated", "encoded_data", "minified", "data_literals"})


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
        names = " or ".join(SECRET_ENV.get(key, ("the environment",)))
        raise ConfigError(f"{key} (from {origin}): secrets are not accepted here; set {names} in the environment")
    if key not in FIELDS:
        known = ", ".join(sorted(FIELDS))
        raise ConfigError(f"{key} (from {origin}): unknown configuration key; known keys: {known}")


# SEED_* variables that are not configuration keys: where things live, and the secrets.
NON_KEY_ENV = frozenset({"SEED_HOME", "SEED_CONFIG"} | {n for names in SECRET_ENV.values() for n in names})


def _check_environment(environ: Mapping[str, str]) -> None:
    """A SEED_* variable that is no key is refused by name (a typo must not be silently ignored)."""
    import difflib

    keys = {env_name(k) for k in FIELDS}
    for name in sorted(environ):
        if name.startswith("SEED_") and name not in keys and name not in NON_KEY_ENV:
            close = difflib.get_close_matches(name, sorted(keys), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigError(f"environment {name}: not a configuration key{hint} (keys are SEED_<KEY>, "
                              "see `seed run --help`; also SEED_HOME and SEED_CONFIG)")


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


def load_config(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None,
                config_file: str | None = None, cwd: str | None = None) -> Config:
    """Build the effective Config from the layers. `overrides` keys are Config field names.

    The YAML file is `config_file`, else `SEED_CONFIG` from `environ`, else none. The default storage
    is `$SEED_HOME/data`, SEED_HOME defaulting to `<cwd>/.seed`.
    """
    environ = environ or {}
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None and v != [] and v != ()}
    values: dict[str, Any] = {}

    path = config_file or environ.get("SEED_CONFIG")
    if path:
        for key, raw in read_yaml(path).items():
            _check_key(str(key), f"config file {path}")
            values[key] = _coerce(key, raw, f"config file {path}")
    _check_environment(environ)
    for key in FIELDS:
        name = env_name(key)
        if name in environ:
            values[key] = _coerce(key, environ[name], f"environment {name}")
    for key, raw in overrides.items():
        _check_key(key, "command line / run parameters")
        values[key] = _coerce(key, raw, "command line / run parameters")

    if not values.get("storage"):
        home = environ.get("SEED_HOME") or Path(cwd or os.getcwd()) / ".seed"
        values["storage"] = (Path(home) / "data").resolve().as_uri()
    config = Config(**values)
    _validate(config)
    return config


def _validate(config: Config) -> None:
    s = config.storage
    if not (s.startswith("file:///") or s.startswith("s3://") or s.startswith("/")):
        raise ConfigError(f"storage: expected file:///abs/path, an absolute path or s3://bucket/prefix, got {s!r}")
    if config.max_file_bytes == 0:
        raise ConfigError("max_file_bytes: must be greater than 0")
    if config.partitions == 0:
        raise ConfigError("partitions: must be greater than 0")
    _check_languages(config.languages)
    unknown_rules = sorted(set(config.syntax_rules) - SYNTAX_RULES)
    if unknown_rules:
        raise ConfigError(f"syntax_rules: unknown rule {unknown_rules[0]!r}; known: {', '.join(sorted(SYNTAX_RULES))}")
    if config.syntax_parse_timeout_ms == 0:
        raise ConfigError("syntax_parse_timeout_ms: must be greater than 0")
    if config.dedup_exact_hash not in ("raw", "whitespace"):
        raise ConfigError(f"dedup_exact_hash: expected raw or whitespace, got {config.dedup_exact_hash!r}")
    bad_order = [c for c in config.dedup_keep_order if c not in ("license", "stars", "forks", "pushed")]
    if bad_order:
        raise ConfigError(f"dedup_keep_order: unknown criterion {bad_order[0]!r}; known: license, stars, forks, pushed")
    if not 1 <= config.near_dedup_shingle <= 8:
        raise ConfigError(f"near_dedup_shingle: expected 1..8 words, got {config.near_dedup_shingle}")
    if config.near_dedup_num_perm < 16:
        raise ConfigError(f"near_dedup_num_perm: expected at least 16, got {config.near_dedup_num_perm}")
    for key in ("near_dedup_threshold", "repo_dedup_threshold"):
        if getattr(config, key) > 1:
            raise ConfigError(f"{key}: expected a Jaccard threshold in [0, 1], got {getattr(config, key)}")
    if config.near_dedup_max_bucket < 2:
        raise ConfigError(f"near_dedup_max_bucket: expected at least 2, got {config.near_dedup_max_bucket}")
    if config.s3_max_attempts == 0:
        raise ConfigError("s3_max_attempts: must be at least 1")
    if config.s3_endpoint_url and not config.s3_endpoint_url.startswith(("http://", "https://")):
        raise ConfigError(f"s3_endpoint_url: expected http:// or https:// URL, got {config.s3_endpoint_url!r}")


def _check_languages(names: tuple[str, ...]) -> None:
    """Every name must be in the language table (case-insensitive, as the crawl compares them)."""
    import difflib

    from seedlib.languages import LANGUAGES

    known = {lang.lower(): lang for lang in LANGUAGES}
    for name in names:
        if name.lower() not in known:
            close = difflib.get_close_matches(name.lower(), known, n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(repr(known[c]) for c in close)}?" if close else \
                "; see seedlib/languages.py for the table"
            raise ConfigError(f"languages: unknown language {name!r}{hint}")


def config_from_dict(data: Mapping[str, Any]) -> Config:
    """Rebuild a Config from `public_dict()` output (e.g. inside a Spark job)."""
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ConfigError(f"{unknown[0]} (from run spec): unknown configuration key")
    config = Config(**{k: _coerce(k, v, "run spec") for k, v in data.items()})
    _validate(config)
    return config


def redact(text: str, secrets: Secrets) -> str:
    """Replace every secret value in text with ***."""
    for value in secrets.values():
        text = text.replace(value, "***")
    return text
