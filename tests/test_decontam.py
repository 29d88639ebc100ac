"""Decontamination: HumanEval and extra benchmark sets, word n-gram matching, the index cache, the stage."""

from __future__ import annotations

import gzip
import hashlib
import json
import pickle

import pytest

from seedlib import datasets
from seedlib.config import ConfigError, load_config
from seedlib.run import RunSpec
from seedlib.samples import decontam
from seedlib.samples.decontam import ContaminationFilter, build_index, words
from tests.stages import run_stage, write_crawl


def config(tmp_path=None, **overrides):
    storage = (tmp_path / "data").as_uri() if tmp_path else "/tmp/unused"
    return load_config({"storage": storage, **overrides}, {})


@pytest.fixture(scope="module")
def humaneval():
    with gzip.open(decontam.humaneval_path(), "rt", encoding="utf-8") as f:
        return {row["task_id"]: row for row in map(json.loads, f)}


@pytest.fixture(scope="module")
def index():
    return build_index(config())


def problem_text(row):
    return row["prompt"] + row["canonical_solution"]


SURROUNDING = '''import os


def walk(root):
    """Yield every path under root, sorted."""
    for name in sorted(os.listdir(root)):
        yield os.path.join(root, name)

'''

MBPP = [
    {"task_id": 11, "text": "Write a python function to remove first and last occurrence of a given character "
                            "from the string.",
     "code": "def remove_Occ(s,ch): \r\n    for i in range(len(s)): \r\n        if (s[i] == ch): \r\n"
             "            s = s[0 : i] + s[i + 1:] \r\n            break\r\n    return s ",
     "test_list": ['assert remove_Occ("hello","l") == "heo"', 'assert remove_Occ("abcda","a") == "bcd"'],
     "test_setup_code": "", "challenge_test_list": []},
    {"task_id": 12, "text": "Write a function to sort a given matrix in ascending order according to the sum "
                            "of its rows.",
     "code": "def sort_matrix(M):\r\n    result = sorted(M, key=sum)\r\n    return result",
     "test_list": ["assert sort_matrix([[1, 2, 3], [2, 4, 5], [1, 1, 1]])==[[1, 1, 1], [1, 2, 3], [2, 4, 5]]"]},
]


def write_jsonl(path, rows, gz=False):
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def file_row(path, text, repo="o/r"):
    return {"repo": repo, "path": path, "lang": "Python", "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "size": len(text.encode()), "content": text}


# --- HumanEval and the matching rule --------------------------------------------------------------------

def test_humaneval_ships_with_the_install_and_is_indexed(index):
    assert index.sets == ("HumanEval",) and len(index.problems) == 164
    assert index.problems[0] == "HumanEval/0" and index.problems[163] == "HumanEval/163"
    assert index.n == 10 and 5_000 < len(index) < 20_000
    assert index.summary() == {"benchmark_problems": {"HumanEval": 164}, "benchmark_ngrams": {"HumanEval": len(index)}}


def test_a_file_holding_a_humaneval_solution_is_contaminated_with_its_id(index, humaneval):
    assert index.hit(SURROUNDING) is None
    assert index.hit(SURROUNDING + problem_text(humaneval["HumanEval/12"]) + "\n\nprint(walk('.'))\n") \
        == "HumanEval/12"
    assert index.hit(problem_text(humaneval["HumanEval/0"])) == "HumanEval/0"
    # the prompt alone (a docstring and signature someone pasted) is enough
    assert index.hit(humaneval["HumanEval/12"]["prompt"]) == "HumanEval/12"


def test_n_minus_one_shared_words_are_kept_n_are_contaminated(index, humaneval):
    found = words(problem_text(humaneval["HumanEval/12"]))
    start = int(decontam.distinctive(found, 10)[0])   # an indexed 10-gram of the problem
    ten = found[start:start + 10]
    # words outside the benchmarks' vocabulary around it: no other window can be in the index
    assert index.hit("qqxx1 qqxx2 " + " ".join(ten) + " qqxx3") == "HumanEval/12"
    assert index.hit("qqxx1 qqxx2 " + " ".join(ten[:9]) + " qqxx3") is None
    assert index.hit("qqxx1 " + " ".join(ten[1:]) + " qqxx3") is None
    assert index.hit(" ".join(ten[:9]) + " qqxx " + " ".join(ten[9:])) is None  # broken in the middle


def test_whitespace_case_and_punctuation_do_not_hide_a_copy(index, humaneval):
    text = problem_text(humaneval["HumanEval/12"])
    reformatted = " ".join(text.split()).upper().replace("'", '"').replace("(", "( ").replace(":", " :")
    assert reformatted != text and index.hit(reformatted) == "HumanEval/12"
    one_word_a_line = "\n".join(words(text))
    assert index.hit(one_word_a_line) == "HumanEval/12"
    assert words("Has_Close_Elements(numbers, 0.5)") == ["has_close_elements", "numbers", "0", "5"]


def shared_ten_grams(a: str, b: str) -> set[tuple[str, ...]]:
    grams = lambda w: {tuple(w[i:i + 10]) for i in range(len(w) - 9)}  # noqa: E731
    return grams(words(a)) & grams(words(b))


def test_boilerplate_shared_with_a_problem_is_not_a_hit(index, humaneval):
    # each shares 10-grams with a HumanEval problem (129, 19, 78), and with unrelated real code (numpy,
    # scipy and sympy loops, pip's vendored rich, hex tables): not enough to call a file contaminated
    loops = "for i in range(n):\n    for j in range(n):\n        if grid[i][j] == 1:\n            count += 1\n"
    spelled = "{'zero': 0, 'one': 1, 'two': 2, 'three': 3, 'four': 4, 'five': 5, 'six': 6}"
    hexdigits = "HEX = '0 1 2 3 4 5 6 7 8 9 a b c d e f'"
    for text, problem in ((loops, "HumanEval/129"), (spelled, "HumanEval/19"), (hexdigits, "HumanEval/78")):
        assert shared_ten_grams(text, problem_text(humaneval[problem])), problem
        assert index.hit(text) is None, problem
    # HumanEval's `test` harness (METADATA + check(candidate)) is not part of the problem's text
    assert index.hit(humaneval["HumanEval/12"]["test"]) is None


def test_empty_index_keeps_everything(tmp_path, humaneval):
    empty = build_index(config(decontam_humaneval=False))
    assert empty.empty and empty.sets == () and empty.hit(problem_text(humaneval["HumanEval/12"])) is None
    table = datasets.table("files", [file_row("a.py", problem_text(humaneval["HumanEval/12"]))])
    kept, dropped, details = ContaminationFilter(empty)(table)
    assert kept.num_rows == 1 and dropped == [] and details == {}


# --- extra benchmark sets -------------------------------------------------------------------------------

def test_an_extra_jsonl_set_is_used(tmp_path):
    path = write_jsonl(tmp_path / "mbpp.jsonl.gz", MBPP, gz=True)
    idx = build_index(config(decontam_benchmarks=[str(path)], decontam_humaneval=False))
    assert idx.sets == ("mbpp",) and idx.problems == ("mbpp/11", "mbpp/12")
    code = "import sys\n\n" + MBPP[1]["code"].replace("\r\n", "\n") + "\n\nif __name__ == '__main__':\n    main()\n"
    assert idx.hit(code) == "mbpp/12"
    assert idx.hit("# " + MBPP[0]["text"] + "\n" + "def solve(m):\n    return m\n") == "mbpp/11"
    assert idx.hit("\n".join(MBPP[0]["test_list"])) == "mbpp/11"
    # remove_Occ's body alone is loops and one-letter names (fewer than 3 strong words in every 10-gram):
    # no sign of where it comes from; with its task text (as a docstring) it is caught
    assert idx.hit(MBPP[0]["code"]) is None
    assert idx.hit(f'"""{MBPP[0]["text"]}"""\n' + MBPP[0]["code"]) == "mbpp/11"
    # with HumanEval too: both sets, HumanEval first; ids keep their set
    both = build_index(config(decontam_benchmarks=[path.as_uri()]))
    assert both.sets == ("HumanEval", "mbpp") and len(both.problems) == 166
    assert both.hit(code) == "mbpp/12" and both.benchmark_of(both.find(code)) == "mbpp"


def test_ids_with_a_slash_are_kept_and_missing_ids_are_line_numbers(tmp_path):
    rows = [{"task_id": "Mbpp/2", "prompt": MBPP[0]["text"]}, {"question": MBPP[1]["text"]}]
    idx = build_index(config(decontam_benchmarks=[str(write_jsonl(tmp_path / "plus.jsonl", rows))],
                             decontam_humaneval=False))
    assert idx.problems == ("Mbpp/2", "plus/2")


def test_a_benchmark_on_s3_is_read_with_the_run_s3_settings(tmp_path, s3_root):
    import boto3

    root, s3 = s3_root
    bucket = root[len("s3://"):].split("/")[0]
    data = "".join(json.dumps(r) + "\n" for r in MBPP).encode()
    boto3.client("s3", endpoint_url=s3.endpoint_url, region_name="us-east-1").put_object(
        Bucket=bucket, Key="evals/mbpp.jsonl", Body=data)
    cfg = config(tmp_path, decontam_benchmarks=[f"s3://{bucket}/evals/mbpp.jsonl"], decontam_humaneval=False,
                 s3_endpoint_url=s3.endpoint_url)
    assert build_index(cfg).hit(MBPP[1]["code"]) == "mbpp/12"
    # under the run's own s3:// root it is read through the run's storage
    from seedlib.storage import open_storage

    storage = open_storage(root, s3)
    storage.write_bytes("evals/mine.jsonl", data.replace(b"remove_Occ", b"remove_occurrence"))
    on_root = config(decontam_benchmarks=[f"{root}/evals/mine.jsonl"], decontam_humaneval=False)
    tests = "\n".join(MBPP[0]["test_list"]).replace("remove_Occ", "remove_occurrence")
    assert build_index(on_root, storage).hit(tests) == "mine/11"
    missing = config(tmp_path, decontam_benchmarks=[f"s3://{bucket}/evals/nope.jsonl"],
                     s3_endpoint_url=s3.endpoint_url)
    with pytest.raises(ConfigError, match=rf"decontam_benchmarks: s3://{bucket}/evals/nope.jsonl: no such"):
        build_index(missing)


@pytest.mark.parametrize("name, content, message", [
    ("missing.jsonl", None, "no such benchmark file"),
    ("bad.jsonl", b'{"task_id": 1, "text": "x y z"}\n{not json\n', "line 2 is not JSON"),
    ("list.jsonl", b'["a", "b"]\n', "line 1: expected a JSON object"),
    ("fields.jsonl", b'{"task_id": 1, "test": "assert f(1) == 2", "entry_point": "f"}\n',
     "line 1 has none of the text fields prompt, text"),
    ("typed.jsonl", b'{"task_id": 1, "text": "ok", "test_list": "assert f()"}\n', "'test_list' must be a list"),
    ("empty.jsonl", b"\n\n", "holds no problems"),
    ("broken.jsonl.gz", b"\x1f\x8b\x08\x00garbage", "not a valid gzip file"),
    ("latin1.jsonl", '{"text": "caf\u00e9"}\n'.encode("latin-1"), "not UTF-8"),
    ("twice.jsonl", b'{"task_id": 1, "text": "a"}\n{"task_id": 1, "text": "b"}\n', "'twice/1' repeats"),
])
def test_a_bad_benchmark_file_fails_with_the_key_and_path(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError) as e:
        build_index(config(decontam_benchmarks=[str(path)]))
    assert str(e.value).startswith(f"decontam_benchmarks: {path}: ") and message in str(e.value)


# --- built once -----------------------------------------------------------------------------------------

def test_the_index_is_built_once_per_benchmark_set_and_n(tmp_path):
    path = write_jsonl(tmp_path / "once.jsonl", MBPP)
    cfg = config(decontam_benchmarks=[str(path)])
    first = build_index(cfg)
    assert build_index(cfg) is first and build_index(config(decontam_benchmarks=[path.as_uri()])) is first
    assert decontam.BUILDS[first.fingerprint] == 1
    other_n = build_index(config(decontam_benchmarks=[str(path)], decontam_ngram=8))
    assert other_n is not first and other_n.n == 8 and decontam.BUILDS[other_n.fingerprint] == 1
    write_jsonl(path, MBPP[:1])        # new contents: a new index
    changed = build_index(cfg)
    assert changed is not first and changed.problems[-1] == "once/11" and decontam.BUILDS[first.fingerprint] == 1
    # what the broadcast ships: a pickled copy answers the same
    copy = pickle.loads(pickle.dumps(first))
    assert copy.hit(MBPP[1]["code"]) == first.hit(MBPP[1]["code"]) == "once/12"


# --- the filter and the stage ---------------------------------------------------------------------------

def test_filter_drops_contaminated_files_into_the_ledger(index, humaneval):
    rows = [file_row("clean.py", SURROUNDING), file_row("he.py", SURROUNDING + problem_text(humaneval["HumanEval/3"])),
            file_row("empty.py", "")]
    kept, dropped, details = ContaminationFilter(index)(datasets.table("files", rows))
    assert kept.column("path").to_pylist() == ["clean.py", "empty.py"]
    assert dropped == [{"repo": "o/r", "path": "he.py", "sha256": rows[1]["sha256"], "stage": "decontam",
                        "reason": "contaminated", "duplicate_of": None}]
    assert details == {"contaminated_by": {"HumanEval": 1}}
    kept, dropped, details = ContaminationFilter(index)(datasets.table("files", rows[:1]))
    assert kept.num_rows == 1 and not dropped and details == {"contaminated_by": {"HumanEval": 0}}


@pytest.mark.slow
def test_decontam_stage_on_spark(tmp_path, spark, humaneval):
    bench = write_jsonl(tmp_path / "mbpp.jsonl", MBPP)
    cfg = config(tmp_path, decontam_benchmarks=[str(bench)])
    spec = RunSpec(snapshot="2026-03-04", run_id="run_1", config=cfg.public_dict())
    files = [file_row("a/clean.py", SURROUNDING),
             file_row("a/he12.py", SURROUNDING + problem_text(humaneval["HumanEval/12"])),
             file_row("b/mbpp.py", "x = 1\n" + MBPP[1]["code"], repo="o/b"),
             file_row("b/notes.md", "# Notes\n\nNothing copied here, only a " + " ".join(words(MBPP[0]["text"])[:9])),
             file_row("c/he0.py", humaneval["HumanEval/0"]["prompt"].upper(), repo="o/c"),
             file_row("c/util.py", "def util(x):\n    return x * 2\n", repo="o/c")]
    crawl = write_crawl(spec, files, partitions=3)
    report = run_stage(spark, spec, "decontam")
    assert (report.rows_in, report.rows_out) == (crawl.rows_out, 3) == (6, 3)
    assert report.dropped == {"contaminated": 3}
    assert report.details["contaminated_by"] == {"HumanEval": 2, "mbpp": 1}
    assert report.details["benchmark_problems"] == {"HumanEval": 164, "mbpp": 2}
    storage = spec.storage()
    kept = storage.read_parquet(report.datasets["files"]["paths"])
    by_path = {r["path"]: r for r in kept.to_pylist()}
    assert sorted(by_path) == ["a/clean.py", "b/notes.md", "c/util.py"]
    originals = {f["path"]: f for f in files}
    assert all(by_path[p]["content"] == originals[p]["content"] and by_path[p]["sha256"] == originals[p]["sha256"]
               for p in by_path)
    ledger_rows = storage.read_parquet(report.datasets["dropped"]["paths"]).to_pylist()
    assert sorted((r["repo"], r["path"], r["sha256"], r["stage"], r["reason"]) for r in ledger_rows) == sorted(
        (f["repo"], f["path"], f["sha256"], "decontam", "contaminated")
        for f in files if f["path"] in ("a/he12.py", "b/mbpp.py", "c/he0.py"))
    assert decontam.BUILDS[build_index(cfg).fingerprint] == 1   # the driver built it once; tasks got a copy
