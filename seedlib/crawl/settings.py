"""The crawl stage's configuration section: what is extracted from each repository and its history."""

from __future__ import annotations

import dataclasses

from seedlib.crawl.commits import CommitCriteria
from seedlib.sections import Section, key

_COMMITS = CommitCriteria()  # the history preset's defaults live with the criteria


@dataclasses.dataclass(frozen=True)
class CrawlSection(Section):
    """Clone, extract files at HEAD, and the commit history (commit_history) of well-established repositories."""

    max_file_bytes: int = key(1_000_000, "files larger than this are dropped as too_large")
    max_files_per_repo: int = key(200_000, "files beyond this many in one repository are dropped as repo_file_cap")
    clone_timeout_s: int = key(600, "seconds allowed for one git clone")
    commit_min_stars: int = key(_COMMITS.min_stars, "commits are extracted from repositories with at least this "
                                                    "many stars (ignored when unknown)")
    commit_min_forks: int = key(_COMMITS.min_forks, "... and this many forks (ignored when unknown)")
    commit_min_commits: int = key(_COMMITS.min_commits, "... and this many first-parent commits")
    commit_min_days: int = key(_COMMITS.min_days, "... and this many days between first and last commit")
    commit_max_commits: int = key(1000, "newest first-parent commits kept per repository")
    commit_max_file_bytes: int = key(200_000, "before/after contents larger than this are left out")

    def validate(self) -> None:
        self.positive(self, "max_file_bytes")

    def criteria(self) -> CommitCriteria:
        """Which repositories get their history extracted."""
        return CommitCriteria(min_stars=self.commit_min_stars, min_forks=self.commit_min_forks,
                              min_commits=self.commit_min_commits, min_days=self.commit_min_days)

