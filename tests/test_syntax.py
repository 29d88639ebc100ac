"""The syntax stage: error-share measure, per-language thresholds, bounds, minimal rules, bookkeeping."""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa
import pytest

from seedlib import datasets
from seedlib.config import ConfigError, load_config
from seedlib.languages import GRAMMARS, LANGUAGES, grammar_of
from seedlib.run import RunSpec
from seedlib.stage import PartWriter, StageRecorder, filter_parts, read_report
from tests.stages import run_stage
from seedlib.syntax import PARSE_TIMEOUT, PARSE_TOO_LARGE, RATIO_COLUMN, SYNTAX_ERROR, SyntaxFilter, make_filter
from seedlib.syntax import check as syntax
from seedlib.syntax import macros
from seedlib.syntax import rules

POOL = syntax.ParserPool()

VALID_PY = '''import os


def walk(root, depth=0):
    """Yield (depth, path) for every entry under root."""
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        yield depth, path
        if os.path.isdir(path):
            yield from walk(path, depth + 1)


class Counter:
    def __init__(self):
        self.n = 0

    def add(self, k=1):
        self.n += k
        return self.n
'''
BROKEN_PY = VALID_PY.replace("for name in sorted(os.listdir(root)):", "for name in sorted(os.listdir(root):")

MACRO_C = '''#include <stddef.h>
__BEGIN_DECLS

extern size_t my_strlen (const char *s) __THROW __attribute_pure__ __nonnull ((1));

''' + "\n".join(f'''static int add{i}(int a, int b)
{{
    int total = a;
    for (int k = 0; k < b; k++) {{
        total += k * {i};
    }}
    return total;
}}
''' for i in range(6)) + '''
__END_DECLS
'''


def config(tmp_path=None, **overrides):
    storage = {"storage": (tmp_path / "data").as_uri()} if tmp_path else {"storage": "/tmp/unused"}
    return load_config({**storage, **overrides}, {})


def ratio(grammar, text):
    result = syntax.check(POOL.get(grammar), text.encode(), 10**7, 10)
    assert result.outcome == syntax.OK
    return result


def file_row(path, text, lang, repo="o/r"):
    return {"repo": repo, "path": path, "lang": lang, "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "size": len(text.encode()), "content": text}


def files_table(rows):
    return datasets.table("files", rows)


# --- the measure -------------------------------------------------------------------------------------

def test_valid_python_has_no_error_bytes():
    assert ratio("python", VALID_PY).error_ratio == 0.0


def test_broken_python_is_over_the_default_threshold():
    result = ratio("python", BROKEN_PY)
    assert result.has_error and result.error_ratio > config().syntax.max_error_ratio


def test_missing_node_counts_its_line():
    # `x = (1 + 2` at the end: tree-sitter invents a MISSING ")" rather than an ERROR node
    source = b"a = 1\nx = (1 + 2\n"
    tree = syntax.parse(POOL.get("python"), source, 10)
    assert tree.root_node.has_error
    assert syntax.error_bytes(tree.root_node, source) >= len("x = (1 + 2") - 1


def test_nested_errors_are_counted_once():
    source = b"def f(:\n    ((( ]]] )))\n" * 3
    tree = syntax.parse(POOL.get("python"), source, 10)
    assert 0 < syntax.error_bytes(tree.root_node, source) <= len(source)


def test_macro_heavy_c_trips_has_error_but_is_kept():
    result = ratio("cpp", MACRO_C)
    assert result.has_error                       # tree-sitter's flag would reject it
    assert 0 < result.error_ratio < 0.1           # but only a small share of its bytes is unplaced
    decide = SyntaxFilter(config())
    assert decide.decide_one("lib/x.h", "C", MACRO_C) == (None, result.error_ratio)
    # even with no tolerance at all it is kept: with its macros blanked out it parses cleanly
    assert SyntaxFilter(config(syntax_error_ratio_by_language="C=0")).decide_one("lib/x.h", "C", MACRO_C) \
        == (None, 0.0)


def test_masking_macros_keeps_offsets_and_blanks_only_macro_uses():
    source = MACRO_C.encode()
    masked = macros.mask(source)
    assert len(masked) == len(source) and masked.count(b"\n") == source.count(b"\n")
    for gone in (b"__BEGIN_DECLS", b"__THROW", b"__attribute_pure__", b"__nonnull", b"__END_DECLS"):
        assert gone not in masked
    assert b"extern size_t my_strlen (const char *s)" in masked and masked.count(b"static int add") == 6
    assert ratio("cpp", masked.decode()).error_ratio == 0.0
    block = b"int a;\n#if 0\nthis is not C {{{\n#if X\n#endif\n#else\nint b;\n#endif\n"
    assert macros.mask(block) == block.replace(b"this is not C {{{", b" " * 17).replace(
        b"#if X\n#endif", b"     \n      ")
    guarded = b'#ifdef __cplusplus\nextern "C" {\n#endif\nint f(void);\n#ifdef __cplusplus\n}\n#endif\n'
    assert macros.mask(guarded) == guarded.replace(b'extern "C" {', b" " * 12).replace(b"\n}\n", b"\n \n")
    assert macros.mask(b"typedef struct screen SCREEN;\ntypedef unsigned int UINT;\n") == \
        b"typedef struct screen SCREEN;\ntypedef unsigned int UINT;\n"     # typedef names are not macros
    cpp = b"namespace std _GLIBCXX_VISIBILITY(default)\n{\n  typedef int result_type _GLIBCXX17_DEPRECATED;\n}\n"
    assert macros.mask(cpp) == cpp.replace(b"_GLIBCXX_VISIBILITY(default)", b" " * 28).replace(
        b"_GLIBCXX17_DEPRECATED", b" " * 21)


def test_real_c_errors_are_still_caught_after_masking():
    broken = MACRO_C.replace("total += k", "total += (k", 3)   # three unclosed parentheses
    strict = SyntaxFilter(config(syntax_error_ratio_by_language={"C": 0.01}))
    reason, share = strict.decide_one("lib/x.h", "C", broken)
    assert reason == SYNTAX_ERROR and 0.01 < share < ratio("cpp", broken).error_ratio


def test_per_language_thresholds_come_from_config():
    lenient = SyntaxFilter(config(syntax_max_error_ratio=0.5, syntax_error_ratio_by_language={}))
    assert lenient.decide_one("a.py", "Python", BROKEN_PY)[0] is None
    assert SyntaxFilter(config()).decide_one("a.py", "Python", BROKEN_PY)[0] == SYNTAX_ERROR
    env = load_config({"storage": "/tmp/x"}, {"SEED_SYNTAX_ERROR_RATIO_BY_LANGUAGE": "c++=0.5, Go=0"})
    assert env.syntax.error_ratio_by_language == (("Go", 0.0), ("c++", 0.5))
    assert SyntaxFilter(env).max_ratio("C++") == 0.5 and SyntaxFilter(env).max_ratio("Rust") == 0.001


@pytest.mark.parametrize("key, value, message", [
    ("syntax_max_error_ratio", "lots", "expected a number"),
    ("syntax_max_error_ratio", -0.1, "non-negative"),
    ("syntax_error_ratio_by_language", "C:0.1", "NAME=NUMBER"),
    ("syntax_error_ratio_by_language", {"C": "high"}, "C: expected a number"),
    ("syntax_rules", "minified,shouting", "unknown rule 'shouting'"),
    ("syntax_parse_timeout_ms", 0, "greater than 0"),
])
def test_bad_syntax_config_names_the_key(key, value, message):
    with pytest.raises(ConfigError, match=key) as e:
        config(**{key: value})
    assert message in str(e.value)


def test_syntax_config_round_trips_through_the_run_spec():
    from seedlib.config import config_from_dict

    c = config(syntax_error_ratio_by_language="C=0.3", syntax_max_error_ratio=0.02)
    public = c.public_dict()
    assert public["syntax"]["error_ratio_by_language"] == {"C": 0.3}
    assert json.loads(json.dumps(public)) == public and config_from_dict(public) == c


# --- bounds ------------------------------------------------------------------------------------------

def test_size_cap_gives_parse_too_large():
    decide = SyntaxFilter(config(syntax_max_parse_bytes=len(VALID_PY.encode()) - 1))
    assert decide.decide_one("a.py", "Python", VALID_PY) == (PARSE_TOO_LARGE, None)
    assert decide.decide_one("a.md", "Markdown", VALID_PY) == (None, None)  # not parsed: no cap


def test_timeout_gives_parse_timeout_and_the_parser_recovers():
    big = VALID_PY * 3000   # ~1 MB: far more than 1 ms of parsing
    decide = SyntaxFilter(config(syntax_parse_timeout_ms=1, syntax_max_parse_bytes=10**7))
    assert decide.decide_one("a.py", "Python", big) == (PARSE_TIMEOUT, None)
    # the cancelled parser was reset: the next file parses from scratch, not the old document
    relaxed = SyntaxFilter(config(syntax_parse_timeout_ms=10_000), pool=decide.pool)
    assert relaxed.decide_one("b.py", "Python", VALID_PY) == (None, 0.0)


# --- minimal rules -----------------------------------------------------------------------------------

GENERATED = "// Code generated by protoc-gen-go. DO NOT EDIT.\npackage x\n\nfunc F() int { return 1 }\n"
MENTIONS_GENERATED = "package x\n\n" + "func F() int { return 1 }\n" * 200 + "// see: do not edit by hand\n"
BASE64 = "ICON = '" + "QUJD" * 400 + "'\n"
MINIFIED = "function a(b){return b+1}" * 60 + "\n"
LONG_MEAN = ("var x = " + "1 + " * 40 + "1;\n") * 20
TABLE = "TABLE = [\n" + "".join(f"    {i}, {i * 7}, {i * 13}, 0x{i:02x},\n" for i in range(300)) + "]\n"
CODE_WITH_SMALL_TABLE = TABLE[:200] + "]\n" + VALID_PY * 3
VALID_JS = "function add(a, b) {\n  return a + b;\n}\n\nmodule.exports = { add };\n"
ONE_LINE_DOCSTRING = '"""A module whose only content is one docstring line well over a hundred characters long, as some packages have."""\n'


@pytest.mark.parametrize("rule, positive, negative, lang", [
    (rules.AUTO_GENERATED, GENERATED, MENTIONS_GENERATED, "Go"),
    (rules.ENCODED_DATA, BASE64, VALID_PY, "Python"),
    (rules.MINIFIED, MINIFIED, VALID_JS, "JavaScript"),
    (rules.MINIFIED, LONG_MEAN, VALID_JS, "JavaScript"),
    (rules.MINIFIED, LONG_MEAN, ONE_LINE_DOCSTRING, "Python"),
    (rules.DATA_LITERALS, TABLE, CODE_WITH_SMALL_TABLE, "Python"),
])
def test_rule_positive_and_negative(rule, positive, negative, lang):
    c = config()
    assert rules.RULES[rule](positive, lang, c) is True
    assert rules.RULES[rule](negative, lang, c) is False
    decide = SyntaxFilter(c)
    assert decide.decide_one("f", lang, positive)[0] == rule
    assert decide.decide_one("f", lang, negative)[0] is None
    assert SyntaxFilter(config(syntax_rules=[r for r in rules.ORDER if r != rule])).decide_one(
        "f", lang, positive)[0] != rule


def test_data_languages_are_exempt_from_data_literals():
    data = "[\n" + "".join(f'  "{i}", {i},\n' for i in range(300)) + "  0\n]\n"
    assert rules.data_literals(data, "Python", config())
    assert not rules.data_literals(data, "JSON", config())
    assert SyntaxFilter(config()).decide_one("d.json", "JSON", data) == (None, 0.0)


def test_rule_thresholds_come_from_config():
    assert rules.minified(MINIFIED, "JavaScript", config(syntax_max_line_chars=5000,
                                                         syntax_max_mean_line_chars=5000)) is False
    assert rules.data_literals(TABLE, "Python", config(syntax_max_data_share=0.99)) is False
    assert rules.encoded_data(BASE64, "Python", config(syntax_max_encoded_run=10_000,
                                                       syntax_max_encoded_share=1.0)) is False


# --- languages ---------------------------------------------------------------------------------------

def test_every_grammar_in_the_table_loads():
    assert set(GRAMMARS) <= LANGUAGES
    for lang, grammar in GRAMMARS.items():
        assert POOL.get(grammar) is not None, lang
    assert grammar_of("C", "x/y.h") == "cpp" and grammar_of("C", "x/y.c") == "c"
    assert grammar_of("TypeScript", "a.tsx") == "tsx" and grammar_of("TypeScript", "a.ts") == "typescript"
    assert grammar_of("Markdown", "README.md") is None and grammar_of(None, "x") is None


# --- the filter and the stage bookkeeping ------------------------------------------------------------

ROWS = [
    file_row("a.py", VALID_PY, "Python"),
    file_row("b.py", BROKEN_PY, "Python"),
    file_row("c.h", MACRO_C, "C"),
    file_row("d.md", "# Title\n\nSome *text*.\n", "Markdown"),
    file_row("e.md", "# Other\n", "Markdown"),
    file_row("f.bat", "@echo off\r\necho hi\r\n", "Batchfile"),
    file_row("g.js", MINIFIED, "JavaScript"),
    file_row("h.go", GENERATED, "Go"),
]


def test_filter_keeps_drops_and_counts_unparsed():
    kept, dropped, details = make_filter(config())(files_table(ROWS))
    assert kept.column("path").to_pylist() == ["a.py", "c.h", "d.md", "e.md", "f.bat"]
    ratios = dict(zip(kept.column("path").to_pylist(), kept.column(RATIO_COLUMN).to_pylist()))
    assert ratios["a.py"] == 0.0 and 0 < ratios["c.h"] < 0.1
    assert ratios["d.md"] is None and ratios["f.bat"] is None
    assert kept.schema.field(RATIO_COLUMN).type == pa.float64()
    assert {(d["path"], d["reason"], d["stage"]) for d in dropped} == {
        ("b.py", SYNTAX_ERROR, "syntax"), ("g.js", "minified", "syntax"), ("h.go", "auto_generated", "syntax")}
    assert details == {"unparsed": {"Batchfile": 1, "Markdown": 2}}


def test_filter_parts_round_trip_with_exact_counts(tmp_path):
    cfg = config(tmp_path)
    spec = RunSpec(snapshot="2026-02-03", run_id="run_1", config=cfg.public_dict())
    storage = spec.storage()
    rec = StageRecorder(storage, spec.stage_prefix("dedup"), "dedup")
    writers = [PartWriter(storage, spec.stage_prefix("dedup"), p) for p in range(3)]
    for i, row in enumerate(ROWS):
        writers[i % 3].add("files", [row])
    crawl = rec.finish([p for w in writers for p in w.close().to_pylist()])
    items = list(enumerate(crawl.datasets["files"]["paths"]))
    parts = list(filter_parts(spec.to_json(), "syntax", make_filter, items))
    report = StageRecorder(storage, spec.stage_prefix("syntax"), "syntax", "dedup").finish(parts, crawl.rows_out)
    assert (report.rows_in, report.rows_out) == (8, 5)
    assert report.dropped == {"auto_generated": 1, "minified": 1, "syntax_error": 1}
    assert report.details == {"unparsed": {"Batchfile": 1, "Markdown": 2}}
    assert report.manifest_entry()["details"] == {"unparsed": {"Batchfile": 1, "Markdown": 2}}
    kept = storage.read_parquet(report.datasets["files"]["paths"])
    assert sorted(kept.column("path").to_pylist()) == ["a.py", "c.h", "d.md", "e.md", "f.bat"]
    assert kept.column_names[:6] == datasets.FILES.names and kept.column_names[-1] == RATIO_COLUMN
    ledger = storage.read_parquet(report.datasets["dropped"]["paths"])
    assert sorted(ledger.column("reason").to_pylist()) == ["auto_generated", "minified", "syntax_error"]
    assert read_report(storage, spec.stage_prefix("syntax")).details == report.details


def test_details_survive_a_part_with_no_kept_rows(tmp_path):
    cfg = config(tmp_path)
    spec = RunSpec(snapshot="2026-02-03", run_id="run_1", config=cfg.public_dict())
    storage = spec.storage()
    w = PartWriter(storage, spec.stage_prefix("s"), 0)
    w.add_details("files", {"unparsed": {"Markdown": 2}})
    parts = w.close().to_pylist()
    assert [(p["dataset"], p["rows"], json.loads(p["counts"])) for p in parts] == [
        ("files", 0, {"unparsed": {"Markdown": 2}})]
    report = StageRecorder(storage, spec.stage_prefix("s"), "s", "x").finish(parts, 0)
    assert report.details == {"unparsed": {"Markdown": 2}} and report.rows_out == 0


def test_two_element_filters_still_work(tmp_path):
    cfg = config(tmp_path)
    spec = RunSpec(snapshot="2026-02-03", run_id="run_1", config=cfg.public_dict())
    w = PartWriter(spec.storage(), spec.stage_prefix("dedup"), 0)
    w.add("files", ROWS[:2])
    [part] = w.close().to_pylist()
    out = list(filter_parts(spec.to_json(), "keep", lambda c: (lambda t: (t, [])), [(0, part["key"])]))
    assert [(p["dataset"], p["rows"], p["counts"]) for p in out] == [("files", 2, "{}")]


@pytest.mark.slow
def test_spark_body_on_local_storage(tmp_path, spark):
    cfg = config(tmp_path)
    spec = RunSpec(snapshot="2026-02-03", run_id="run_1", config=cfg.public_dict())
    storage = spec.storage()
    writers = [PartWriter(storage, spec.stage_prefix("crawl"), p) for p in range(2)]
    for i, row in enumerate(ROWS):
        writers[i % 2].add("files", [row])
    crawl = StageRecorder(storage, spec.stage_prefix("crawl"), "crawl").finish(
        [p for w in writers for p in w.close().to_pylist()])
    report = run_stage(spark, spec, "syntax")
    assert (report.rows_in, report.rows_out) == (crawl.rows_out, 5)
    assert report.dropped == {"auto_generated": 1, "minified": 1, "syntax_error": 1}
    assert report.details == {"unparsed": {"Batchfile": 1, "Markdown": 2}}


def test_docstrings_are_not_data_literals():
    # Multi-line strings used to count as "literal-only lines" (a string could span lines): a well
    # documented module was dropped as data_literals.
    doc = '"""' + "Explains the module in prose, with numbers like 1, 2 and 3.\n" * 40 + '"""\n'
    module = doc + "def f(x):\n    " + doc.replace("\n", "\n    ") + "return x\n"
    assert not rules.data_literals(module, "Python", config())
    assert SyntaxFilter(config()).decide_one("m.py", "Python", module)[0] is None


def test_rules_agree_with_their_plain_definitions_on_edge_cases():
    c = config()
    hex_escapes = "BLOB = b'" + "\\x00" * 300 + "'\n"          # 1200 chars of \x escapes: one long run
    hex_list = "T = [" + "0x1f, " * 300 + "]\n"
    assert rules.encoded_data(hex_escapes, "Python", c) and rules.encoded_data(hex_list, "C", c)
    assert not rules.encoded_data("x = '0x1f'\n" * 10, "Python", c)
    assert rules.auto_generated("# Code generated by mockgen. DO NOT EDIT.\n", "Go", c)
    assert not rules.auto_generated("# regenerate the cache when needed\n", "Python", c)
