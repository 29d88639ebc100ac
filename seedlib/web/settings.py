"""Configuration of the web pipeline (flat names `web_*`; docs/web.md)."""

from __future__ import annotations

import dataclasses

from seedlib.sections import Section, SectionError, key

# Site categories (seedlib/web/category.py), in the default order of preference when two copies of a page
# are duplicates: the copy on a documentation site is kept over a forum's quote of it, and so on.
CATEGORIES = ("documentation", "forum", "blog", "other", "ecommerce")


def _per_category(name: str, pairs: tuple[tuple[str, float], ...], low: float, high: float) -> None:
    bad = [c for c, _ in pairs if c not in CATEGORIES]
    if bad:
        raise SectionError(name, f"unknown category {bad[0]!r}; categories: {', '.join(CATEGORIES)}")
    missing = [c for c in CATEGORIES if c not in dict(pairs)]
    if missing:
        raise SectionError(name, f"no value for {', '.join(missing)} (give every category: {', '.join(CATEGORIES)})")
    out = [f"{c}={v}" for c, v in pairs if not low <= v <= high]
    if out:
        raise SectionError(name, f"values must be between {low:g} and {high:g}, got {out[0]}")


@dataclasses.dataclass(frozen=True)
class WebSection(Section):
    """`seed web`: WARC files -> extracted pages -> dedup -> recall classifier -> category-aware quality."""

    warcs: tuple[str, ...] = key((), "WARC inputs: local paths, s3:// URIs, globs, or a Common Crawl style "
                                     "listing (*.paths or *.paths.gz, one path a line); empty = the embedded default")
    warc_base: str = key("", "base URI prepended to the relative lines of a *.paths listing (e.g. s3://commoncrawl/)")
    max_page_bytes: int = key(2_000_000, "HTTP bodies larger than this are dropped as too_large")
    min_words: int = key(10, "pages whose extracted text has fewer words are dropped (the report's rule)")
    keep_order: tuple[str, ...] = key(CATEGORIES, "categories in order of preference for the copy a duplicate "
                                                  "cluster keeps (then the longer text, then the url)")
    classifier: str = key("", "recall classifier version under <root>/web_classifiers/ (empty = the latest "
                              "published; none published = the default one is trained from the embedded pages)")
    recall_target: float = key(0.99, "the classifier's threshold is the highest whose recall on the held-out "
                                     "split is at least this")
    holdout: float = key(0.3, "share of labelled pages held out to measure the classifier and choose its threshold")
    thresholds: tuple[tuple[str, float], ...] = key(
        (("blog", 5.0), ("documentation", 6.0), ("ecommerce", 7.0), ("forum", 4.0), ("other", 5.0)),
        "minimum quality_score (0-10) per category: one threshold over-selects documentation, under-selects forums")
    sample_rates: tuple[tuple[str, float], ...] = key(
        (("blog", 1.0), ("documentation", 1.0), ("ecommerce", 1.0), ("forum", 1.0), ("other", 1.0)),
        "share of each category's pages above its threshold that are kept (deterministic by url)")

    def validate(self) -> None:
        self.positive(self, "max_page_bytes", "min_words")
        if sorted(self.keep_order) != sorted(CATEGORIES):
            raise SectionError("keep_order", f"must list each category once: {', '.join(CATEGORIES)}")
        if not 0.5 <= self.recall_target <= 1:
            raise SectionError("recall_target", f"must be between 0.5 and 1, got {self.recall_target}")
        if not 0.05 <= self.holdout <= 0.9:
            raise SectionError("holdout", f"must be between 0.05 and 0.9, got {self.holdout}")
        _per_category("thresholds", self.thresholds, 0, 10)
        _per_category("sample_rates", self.sample_rates, 0, 1)

    def threshold(self, category: str) -> float:
        return dict(self.thresholds)[category]

    def sample_rate(self, category: str) -> float:
        return dict(self.sample_rates)[category]
