"""The quality scorer's configuration section (flat names `quality_*`): labelling, training, scoring, the cut."""

from __future__ import annotations

import dataclasses

from seedlib.sections import Section, SectionError, key

ORACLES = ("rubric", "openai")
BASE_MODELS = ("auto", "smollm2-135m", "minilm-l6")  # or a local folder / s3:// prefix of a model
DROP_SCOPES = ("language", "global")


@dataclasses.dataclass(frozen=True)
class QualitySection(Section):
    """Oracle labels -> a small regression model (accelerate) -> a score per file -> the bottom share dropped."""

    oracle: str = key("rubric", "who labels files: rubric (measured from the code itself, needs no endpoint) "
                                "or openai (any OpenAI-compatible chat-completions server, e.g. vLLM)")
    oracle_base_url: str = key("", "the oracle's API base URL, e.g. http://127.0.0.1:8000/v1 (oracle=openai); "
                                   "the key comes from SEED_ORACLE_API_KEY or the Airflow connection seed_oracle")
    oracle_model: str = key("", "the model name to send (oracle=openai)")
    oracle_concurrency: int = key(8, "requests in flight at once")
    oracle_timeout_s: float = key(120.0, "seconds per request before the client retries it")
    oracle_max_retries: int = key(4, "retries per request (429/5xx/timeouts; Retry-After is honoured)")
    oracle_max_tokens: int = key(512, "the most tokens the oracle may answer with")
    oracle_max_chars: int = key(12_000, "a file's content is cut to this many characters in the prompt")
    labels_per_language: int = key(40, "files sampled per language for labelling (the report: ~10,000)")
    label_weights: tuple[tuple[str, float], ...] = key(
        (("Python", 2.7),), "per-language multipliers of labels_per_language (LANG=FACTOR,...)")
    seed: int = key(0, "seed of the label sample, the held-out split and training")
    base_model: str = key("auto", "the scorer's base: auto (smollm2-135m with a GPU, minilm-l6 without), "
                                  "smollm2-135m, minilm-l6, or a local folder / s3:// prefix of a HF model")
    max_tokens: int = key(256, "tokens of a file the scorer reads (the text is cut to 8x this in characters "
                               "first; longer files are judged by their beginning); 512-2048 on a GPU")
    epochs: int = key(1, "training epochs")
    learning_rate: float = key(1e-4, "AdamW learning rate")
    batch_size: int = key(8, "training batch size per process")
    min_steps: int = key(60, "at least this many optimizer steps: a small label set is trained for more epochs")
    grad_accum: int = key(1, "gradient accumulation steps")
    holdout_files: int = key(1_178, "held-out labels for MAE (at most a fifth of the labels; the report's "
                                    "test set had 1,178 files)")
    score_batch_tokens: int = key(16_384, "scoring batches are filled up to this many tokens (padding included); "
                                          "on a CPU at most 2,048 (larger CPU batches are slower)")
    drop_share: float = key(0.10, "the lowest-scoring share of files dropped as low_quality")
    drop_scope: str = key("language", "where the share is taken: per language, or global")
    scorer: str = key("", "the scorer to use: a version published under the storage root, or the URI of a "
                          "scorer folder anywhere (s3://.../scorers/VERSION); empty: the latest published")
    train_if_missing: bool = key(True, "a snapshot run trains a scorer first when none is published")
    retrain: bool = key(False, "a snapshot run trains a new scorer even when one is published")

    def validate(self) -> None:
        if self.oracle not in ORACLES:
            raise SectionError("oracle", f"must be one of {', '.join(ORACLES)}, got {self.oracle!r}")
        if self.oracle == "openai" and not (self.oracle_base_url and self.oracle_model):
            raise SectionError("oracle_base_url", "oracle=openai needs quality_oracle_base_url and "
                                                  "quality_oracle_model")
        if self.drop_scope not in DROP_SCOPES:
            raise SectionError("drop_scope", f"must be one of {', '.join(DROP_SCOPES)}, got {self.drop_scope!r}")
        if not 0 <= self.drop_share < 1:
            raise SectionError("drop_share", f"must be in [0, 1), got {self.drop_share}")
        self.positive(self, "oracle_concurrency", "oracle_max_tokens", "oracle_max_chars", "max_tokens",
                      "epochs", "batch_size", "grad_accum", "score_batch_tokens", "labels_per_language")
