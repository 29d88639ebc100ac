"""The oracle client against a real OpenAI-compatible server (transformers serve + SmolLM2-135M-Instruct)
and a fault-injecting proxy in front of it.

The 135M model does not reliably follow the rating format, so tests of the real server assert on the
accounting (a score or a counted malformed_rating), never on the score; canned proxy answers pin the rest.
"""

from __future__ import annotations

import logging

import pytest

from seedlib.quality.oracle import (MALFORMED_RATING, ORACLE_ERROR, RUBRIC, Judgement, OpenAIOracle,
                                    build_messages, explanation_of, parse_rating)
from seedlib.storage import open_storage

ADD = ("Python", 'def add(a, b):\n    """Sum of two numbers."""\n    return a + b\n')
GREET = ("Python", 'def greet(name):\n    return f"Hello, {name}!"\n')
TOKENS = 48  # the real model generates ~20 tokens/s on CPU


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Clean code.\nRating: [[7]]", 7),
        ("Rating:[[7]]", 7),
        ("Rating:  [[ 10 ]]  ", 10),
        ("Rating: [[0]]", 0),
        ("Rating: [[3]] on reflection... Rating: [[8]]", 8),
        ("**Rating: [[6]]**", 6),
        ("no rating here", None),
        ("Rating: [[11]]", None),
        ("Rating: [[7.5]]", None),
        ("Rating: [[seven]]", None),
        ("Rating: [[-1]]", None),
        ("Rating: [7]", None),
        ("Rating: 7", None),
        ("rating: [[7]]", None),
        ("Rating: [[8]] but the format asks for Rating: [[X]]", None),  # the last marker is the verdict
    ],
)
def test_parse_rating(text: str, expected: int | None) -> None:
    assert parse_rating(text) == expected


def test_explanation_of() -> None:
    assert explanation_of("  Readable, small.\nRating: [[7]]\n") == "Readable, small."
    assert explanation_of("Rating: [[1]] first guess. Better: Rating: [[2]]") == "Rating: [[1]] first guess. Better:"
    assert explanation_of("  no verdict at all ") == "no verdict at all"
    assert explanation_of("x" * 5000 + "Rating: [[3]]") == "x" * 1000


def test_build_messages_cuts_content_and_says_so() -> None:
    system, user = build_messages("Rust", "fn main() {}", max_chars=100)
    assert system == {"role": "system", "content": RUBRIC}
    assert user["role"] == "user"
    assert user["content"] == "Language: Rust\nFile content:\n```\nfn main() {}\n```"

    _, cut = build_messages("Python", "a" * 30 + "b" * 20, max_chars=30)
    assert "a" * 30 in cut["content"] and "b" not in cut["content"].split("File content:")[1]
    assert "The file has 50 characters; only its first 30 are shown." in cut["content"]

    _, fenced = build_messages("Markdown", "```python\nx = 1\n```", max_chars=100)
    assert fenced["content"].endswith("\n````")  # a fence the file cannot close


def test_rubric_asks_for_zero_policy_first_and_the_exact_rating_form() -> None:
    zero = RUBRIC.index("zero-score policy")
    for word in ("configuration", "data file", "logic", "generated"):
        assert zero < RUBRIC.index(word)
    for dimension in ("readability", "modularity", "clarity", "reusability"):
        assert zero < RUBRIC.index(dimension)
    assert RUBRIC.rstrip().endswith("Rating: [[X]]")


def test_a_real_request_gives_a_score_or_a_counted_malformed_rating(llm_server) -> None:
    oracle = OpenAIOracle(llm_server.base_url, llm_server.model, None, max_tokens=TOKENS)
    [judgement] = oracle.judge_many([ADD])
    assert oracle.stats["requests"] == 1 and oracle.stats[ORACLE_ERROR] == 0
    if judgement.score is None:
        assert judgement.error == MALFORMED_RATING and oracle.stats[MALFORMED_RATING] == 1
        assert judgement.explanation  # the model did answer something
    else:
        assert 0 <= judgement.score <= 10 and judgement.error is None and oracle.stats[MALFORMED_RATING] == 0


def test_every_request_carries_explicit_sampling_parameters(faulty_llm) -> None:
    proxy = faulty_llm(["rated"])
    oracle = OpenAIOracle(proxy.base_url, "the-model", None, max_tokens=33, temperature=0.2, top_p=0.9)
    assert oracle.judge_many([ADD]) == [Judgement(7, "Tidy and well named.")]
    [body] = proxy.bodies
    assert {k: body[k] for k in ("model", "temperature", "top_p", "max_tokens", "n", "seed")} == {
        "model": "the-model", "temperature": 0.2, "top_p": 0.9, "max_tokens": 33, "n": 1, "seed": 0}
    assert body["messages"] == build_messages(*ADD, max_chars=12000)
    assert proxy.authorizations == ["Bearer EMPTY"]  # servers without auth still get a well-formed header
    assert oracle.name == "openai:the-model"


def test_429_and_500_are_retried_and_the_real_answer_comes_through(llm_server, faulty_llm) -> None:
    proxy = faulty_llm(["429", "500"])
    oracle = OpenAIOracle(proxy.base_url, llm_server.model, None, max_tokens=TOKENS, max_retries=2)
    [judgement] = oracle.judge_many([GREET])
    assert judgement.error != ORACLE_ERROR
    assert proxy.injected == {"429": 1, "500": 1} and proxy.forwarded == 1 and proxy.requests == 3
    assert oracle.stats["requests"] == 1 and oracle.stats[ORACLE_ERROR] == 0 and not oracle.errors


def test_a_timeout_is_retried(faulty_llm) -> None:
    proxy = faulty_llm(["slow", "rated"], delay_s=3.0)
    oracle = OpenAIOracle(proxy.base_url, "m", None, timeout_s=0.5, max_retries=1)
    assert oracle.judge_many([ADD]) == [Judgement(7, "Tidy and well named.")]
    assert proxy.injected == {"slow": 1, "rated": 1}
    assert oracle.stats == {"requests": 1, "cache_hits": 0, ORACLE_ERROR: 0, MALFORMED_RATING: 0}


def test_a_malformed_rating_is_counted_never_guessed_and_cached(faulty_llm, tmp_path) -> None:
    cache = open_storage(tmp_path.as_uri())
    proxy = faulty_llm(["malformed"])
    oracle = OpenAIOracle(proxy.base_url, "m", None, cache=cache)
    assert oracle.judge_many([ADD]) == [Judgement(None, "Tidy and well named.", MALFORMED_RATING)]
    assert oracle.stats[MALFORMED_RATING] == 1 and oracle.stats[ORACLE_ERROR] == 0
    # The answer was paid for: a rerun reads it from the cache and reaches the same verdict.
    again = OpenAIOracle(proxy.base_url, "m", None, cache=cache)
    assert again.judge_many([ADD])[0].error == MALFORMED_RATING
    assert proxy.requests == 1 and again.stats["cache_hits"] == 1 and again.stats[MALFORMED_RATING] == 1


def test_exhausted_retries_give_oracle_error_without_raising(faulty_llm, tmp_path) -> None:
    cache = open_storage(tmp_path.as_uri())
    proxy = faulty_llm(["500", "500", "500", "rated"])
    oracle = OpenAIOracle(proxy.base_url, "m", None, max_retries=2, concurrency=1, cache=cache)
    failed, rated = oracle.judge_many([ADD, GREET])  # concurrency 1: ADD takes the three 500s
    assert failed == Judgement(None, "", ORACLE_ERROR) and rated.score == 7
    assert proxy.requests == 4
    assert oracle.stats == {"requests": 2, "cache_hits": 0, ORACLE_ERROR: 1, MALFORMED_RATING: 0}
    [(reason, count)] = oracle.errors.items()
    assert reason.startswith("InternalServerError: ") and count == 1
    assert len(cache.list("cache/oracle")) == 1  # only the answer is cached, not the failure


def test_a_second_run_pays_nothing(faulty_llm, tmp_path) -> None:
    cache = open_storage(tmp_path.as_uri())
    proxy = faulty_llm(["rated", "malformed"])  # then it forwards: a third request would reach the server
    first = OpenAIOracle(proxy.base_url, "m", None, concurrency=2, cache=cache)
    judged = first.judge_many([ADD, GREET, ADD])
    assert proxy.requests == 2 and first.stats["requests"] == 2  # the duplicate is sent once
    assert judged[0] == judged[2] and sorted(j.error or "" for j in judged[1:]) == ["", MALFORMED_RATING]
    keys = cache.list("cache/oracle")
    assert len(keys) == 2
    for key in keys:
        _, _, shard, name = key.split("/")
        assert name == f"{name[:64]}.json" and shard == name[:2]
        assert set(cache.read_json(key)) == {"model", "text"}

    rerun = OpenAIOracle(proxy.base_url, "m", None, concurrency=2, cache=cache)
    assert rerun.judge_many([ADD, GREET, ADD]) == judged
    assert proxy.requests == 2 and rerun.stats["requests"] == 0 and rerun.stats["cache_hits"] == 2


def test_the_cache_key_covers_model_and_sampling(faulty_llm, tmp_path) -> None:
    cache = open_storage(tmp_path.as_uri())
    proxy = faulty_llm(["rated"] * 3)
    for model, temperature, requests in [("m", 0.0, 1), ("m", 0.0, 1), ("m", 0.5, 2), ("other", 0.0, 3)]:
        OpenAIOracle(proxy.base_url, model, None, temperature=temperature, cache=cache).judge_many([ADD])
        assert proxy.requests == requests
    assert len(cache.list("cache/oracle")) == 3


def test_the_api_key_appears_nowhere(faulty_llm, tmp_path, caplog, capsys) -> None:
    secret = "sk-test-SECRET123"
    caplog.set_level(logging.DEBUG)
    for name in ("openai", "httpx", "httpx2", "httpcore", "seedlib"):
        caplog.set_level(logging.DEBUG, logger=name)
    cache = open_storage(tmp_path.as_uri())
    proxy = faulty_llm(["429", "500", "500", "rated", "malformed"])
    oracle = OpenAIOracle(proxy.base_url, "m", secret, max_retries=2, concurrency=1, cache=cache)
    judged = oracle.judge_many([ADD, GREET, ("Go", "package main\n")])
    assert [j.error for j in judged] == [ORACLE_ERROR, None, MALFORMED_RATING]
    assert proxy.authorizations == [f"Bearer {secret}"] * 5  # the key was really in play
    assert "Retrying request" in caplog.text  # the client's retry logs were captured
    out, err = capsys.readouterr()
    cached = b"".join((tmp_path / key).read_bytes() for key in cache.list(""))
    for place in (repr(oracle), str(oracle), str(oracle.stats), str(oracle.errors), repr(judged), caplog.text,
                  out, err, cached.decode()):
        assert "SECRET123" not in place
