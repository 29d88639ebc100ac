"""What a configuration section is, and the run-wide sections (run, s3, github).

A section is a small frozen dataclass whose fields are its keys, each declared with `key(default, help)`,
and whose `validate()` raises `SectionError(key, message)` for a bad value. A stage declares its own
section beside its code (seedlib/crawl/settings.py, seedlib/dedup/settings.py, seedlib/syntax/settings.py);
seedlib/config.py composes them into `Config`, spells their keys on the flat surfaces (YAML flat keys,
`SEED_*` variables, run params) and turns a SectionError into a ConfigError naming the key as users type it.

Standard library only: every stage module and the configuration import it.
"""

from __future__ import annotations

import dataclasses
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
    spark_submit: bool = key(True, "run each Spark stage as its own spark-submit (false: inside the task's "
                                   "process on one local Spark session the stages share, which saves the JVM "
                                   "start per stage on small local runs; its executors keep the environment, "
                                   "e.g. S3 credentials, of the moment the session started)")
    accelerate_launch: bool = key(True, "run each accelerate stage (training, scoring) as its own `accelerate "
                                        "launch` (false: inside the task's process, as one process, which "
                                        "saves starting torch per stage on small local runs)")

    def validate(self) -> None:
        s = self.storage
        if not (s.startswith("file:///") or s.startswith("s3://") or s.startswith("/")):
            raise SectionError("storage", f"expected file:///abs/path, an absolute path or s3://bucket/prefix, "
                                          f"got {s!r}")
        self.positive(self, "partitions")
        check_languages(self.languages)


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
