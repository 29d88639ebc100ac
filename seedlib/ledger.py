"""The ledgers: one row for every item a stage removed, and why, with reasons from one registry.

Reasons are short snake_case words; `REASONS` is the registry, with what each one means (the README and
`seed report` show these). A reason that is not registered is an error, never a new word in the data:
a stage that needs a new reason adds it here. `duplicate_of` is set only for duplicate reasons.
"""

from __future__ import annotations

# Reasons the crawl records.
BINARY = "binary"
TOO_LARGE = "too_large"
UNDECODABLE = "undecodable"
UNDECODABLE_PATH = "undecodable_path"
LFS_POINTER = "lfs_pointer"
SYMLINK = "symlink"
SUBMODULE = "submodule"
UNREADABLE = "unreadable"
UNKNOWN_LANGUAGE = "unknown_language"
LANGUAGE_EXCLUDED = "language_excluded"
REPO_FILE_CAP = "repo_file_cap"
# Reasons whose duplicate_of is the sha256 of the kept representative.
DUPLICATE_REASONS = frozenset({"exact_duplicate", "near_duplicate"})
# Reasons whose duplicate_of is set when a kept copy of the same file exists, else null: the files of a
# repository dropped as a (near) copy of another repository.
REPO_DUPLICATE = "repo_duplicate"
OPTIONAL_DUPLICATE_REASONS = frozenset({REPO_DUPLICATE})

REASONS: dict[str, str] = {
    # crawl
    BINARY: "a NUL byte in the first 8 KB",
    TOO_LARGE: "larger than max_file_bytes (a web page: web_max_page_bytes)",
    UNDECODABLE: "not valid UTF-8 (a web page: not valid in its declared or detected charset)",
    UNDECODABLE_PATH: "the path is not valid UTF-8",
    LFS_POINTER: "a Git LFS pointer, not the file",
    SYMLINK: "a symbolic link (recorded, never followed)",
    SUBMODULE: "a submodule entry",
    UNREADABLE: "the file could not be read",
    UNKNOWN_LANGUAGE: "extension or file name not in the language table",
    LANGUAGE_EXCLUDED: "a language the run does not keep",
    REPO_FILE_CAP: "beyond max_files_per_repo in its repository",
    # exact_dedup, near_dedup
    "exact_duplicate": "same contents as the kept file duplicate_of",
    "near_duplicate": "MinHash-similar to the kept file duplicate_of",
    REPO_DUPLICATE: "its repository is a (near) copy of a kept repository",
    # syntax
    "auto_generated": "marked as generated",
    "encoded_data": "mostly base64/hex data",
    "minified": "minified (very long lines)",
    "data_literals": "mostly literal-only lines",
    "syntax_error": "too large a share of bytes in tree-sitter ERROR/MISSING regions",
    "parse_too_large": "larger than syntax_max_parse_bytes",
    "parse_timeout": "parsing took longer than syntax_parse_timeout_ms",
    # the quality scorer and training-ready outputs
    "low_quality": "quality score below the cut",
    "contaminated": "shares a 10-gram with a benchmark",
    # the commit ledger (commit_samples; keyed by repo + sha)
    "merge_commit": "a merge commit",
    "bot_author": "authored by a bot",
    "trivial_message": "an empty or trivial commit message",
    "no_changes": "no file changed in a way a sample can show",
    # the web ledger (seed_web; keyed by url + WARC record id)
    "malformed_record": "a WARC record that could not be parsed (bad headers, HTTP response or length)",
    "truncated_warc": "the WARC file ends inside a record or a gzip member: the rest of the file is unreadable",
    "not_html": "a response that is not HTML (Content-Type, or the body does not look like HTML)",
    "not_response": "a WARC record that is not an HTTP response with a 2xx status",
    "too_few_words": "fewer than web_min_words words of main text",
    "boilerplate": "no main content: the page is navigation, cookie banners and footers only",
    "not_code_related": "no code tags and the recall classifier's score is below its threshold",
    "sampled_out": "above its category's threshold but not in its sample_rate share",
    "unjudged": "the oracle gave no valid rating (oracle_error or malformed_rating after its retries)",
}


def check_reason(reason: str) -> None:
    if reason not in REASONS:
        raise ValueError(f"ledger reason {reason!r} is not registered in seedlib/ledger.py REASONS "
                         f"(known: {', '.join(sorted(REASONS))})")


def drop(repo: str, path: str, sha256: str | None, stage: str, reason: str,
         duplicate_of: str | None = None) -> dict:
    """One row of the files ledger. A typo in a reason cannot create a new silent category."""
    check_reason(reason)
    if reason not in OPTIONAL_DUPLICATE_REASONS and (duplicate_of is not None) != (reason in DUPLICATE_REASONS):
        raise ValueError(f"duplicate_of is required for duplicate reasons only (reason {reason!r})")
    return {"repo": repo, "path": path, "sha256": sha256, "stage": stage, "reason": reason,
            "duplicate_of": duplicate_of}


def drop_page(url: str, record_id: str, warc: str, stage: str, reason: str,
              duplicate_of: str | None = None) -> dict:
    """One row of the web ledger (`web_dropped`, keyed by url + WARC record id)."""
    check_reason(reason)
    if (duplicate_of is not None) != (reason in DUPLICATE_REASONS):
        raise ValueError(f"duplicate_of is required for duplicate reasons only (reason {reason!r})")
    return {"url": url, "record_id": record_id, "warc": warc, "stage": stage, "reason": reason,
            "duplicate_of": duplicate_of}


def drop_commit(repo: str, sha: str, stage: str, reason: str, duplicate_of: str | None = None) -> dict:
    """One row of the commit ledger (`commit_dropped`, keyed by repo + sha)."""
    check_reason(reason)
    if (duplicate_of is not None) != (reason in DUPLICATE_REASONS):
        raise ValueError(f"duplicate_of is required for duplicate reasons only (reason {reason!r})")
    return {"repo": repo, "sha": sha, "stage": stage, "reason": reason, "duplicate_of": duplicate_of}
