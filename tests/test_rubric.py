"""The embedded rubric oracle (seedlib/quality/rubric.py): zero-score policy, good vs bad code, every language.

The same logic (an inventory report) is written twice per language: documented and split into small
functions with descriptive names, and as one function with one-letter names, debug prints, commented-out
code and magic numbers. The rubric must rank the first clearly above the second; zero-policy files must get
0 with the reason named; every registered language gets a score without raising.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from seedlib.languages import LANGUAGES
from seedlib.quality import rubric
from seedlib.quality.rubric import RubricOracle, judge, measure

GOOD_PYTHON = '''\
"""Inventory reports: stock value per category and the items that need restocking."""

from __future__ import annotations

from dataclasses import dataclass

RESTOCK_THRESHOLD = 5
DISCOUNT_RATE = 0.15


@dataclass(frozen=True)
class Item:
    """One stock-keeping unit: its name, category, unit price and the quantity on hand."""

    name: str
    category: str
    price: float
    quantity: int


def item_value(item: Item) -> float:
    """The value of one item's stock at unit price."""
    return item.price * item.quantity


def total_value(items: list[Item]) -> float:
    """The value of all stock at unit price."""
    return sum(item_value(item) for item in items)


def totals_by_category(items: list[Item]) -> dict[str, float]:
    """Stock value per category, categories in first-seen order."""
    totals: dict[str, float] = {}
    for item in items:
        totals[item.category] = totals.get(item.category, 0.0) + item_value(item)
    return totals


def needs_restock(items: list[Item], threshold: int = RESTOCK_THRESHOLD) -> list[str]:
    """Names of the items whose quantity is below the threshold, sorted."""
    return sorted(item.name for item in items if item.quantity < threshold)


def discounted_price(item: Item, rate: float = DISCOUNT_RATE) -> float:
    """The unit price after a discount; the rate must lie in [0, 1)."""
    if not 0 <= rate < 1:
        raise ValueError(f"discount rate must be in [0, 1), got {rate}")
    return round(item.price * (1 - rate), 2)


def report(items: list[Item]) -> str:
    """A plain-text report: one line per category, the total, then the restock list."""
    lines = [f"{category}: {value:.2f}" for category, value in totals_by_category(items).items()]
    lines.append(f"total: {total_value(items):.2f}")
    # Only mention restocking when something is actually low.
    restock = needs_restock(items)
    if restock:
        lines.append("restock: " + ", ".join(restock))
    return "\\n".join(lines)
'''

BAD_PYTHON = '''\
import os
def f(d):
    # print(d)
    t = 0
    r = {}
    l = []
    for x in d:
        print("x", x)
        if x[1] not in r:
            r[x[1]] = 0
        r[x[1]] = r[x[1]] + x[2] * x[3]
        t = t + x[2] * x[3]
        if x[3] < 5:
            l.append(x[0])
        #if x[3] < 3:
        #    l.append(x[0])
        #    print("low", x)
        if x[2] > 100:
            if x[3] > 0:
                if x[1] == "a":
                    for y in range(x[3]):
                        if y > 7:
                            print("here")
                            t = t - 3
    print(t)
    s = ""
    for k in r:
        print(k)
        s = s + k + ": " + str(round(r[k], 2)) + "\\n"
    s = s + "total: " + str(round(t, 2)) + "\\n"
    # s = s + "debug"
    # for z in l:
    #     s = s + z
    if len(l) > 0:
        s = s + "restock: "
        for z in sorted(l):
            s = s + z + ", "
    p = 0.15
    if p < 0 or p >= 1:
        print("bad")
    for x in d:
        q = round(x[2] * (1 - p), 2)
        print("q", q)
        if q > 250:
            print("expensive", x[0], q)
        if q > 250:
            print("expensive", x[0], q)
        if q < 3:
            print("cheap", x[0], q)
        if q < 3:
            print("cheap", x[0], q)
    f2 = open("/home/bob/out.txt", "w")
    f2.write(s)
    print(s)
    return s
'''

GOOD_JAVA = '''\
package com.example.inventory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Inventory reports: stock value per category and the items that need restocking. */
public final class InventoryReport {
    /** Items with fewer units than this are listed for restocking. */
    private static final int RESTOCK_THRESHOLD = 5;

    private final List<Item> items;

    /** A report over the given items (the list is copied). */
    public InventoryReport(List<Item> items) {
        this.items = new ArrayList<>(items);
    }

    /** The value of all stock at unit price. */
    public double totalValue() {
        double total = 0;
        for (Item item : items) {
            total += item.value();
        }
        return total;
    }

    /** Stock value per category, in first-seen order. */
    public Map<String, Double> totalsByCategory() {
        Map<String, Double> totals = new LinkedHashMap<>();
        for (Item item : items) {
            totals.merge(item.category(), item.value(), Double::sum);
        }
        return totals;
    }

    /** Names of the items whose quantity is below the threshold. */
    public List<String> needsRestock(int threshold) {
        List<String> names = new ArrayList<>();
        for (Item item : items) {
            if (item.quantity() < threshold) {
                names.add(item.name());
            }
        }
        return names;
    }

    /** A plain-text report: one line per category, the total, then the restock list. */
    public String render() {
        StringBuilder out = new StringBuilder();
        totalsByCategory().forEach((category, value) -> out.append(category).append(": ").append(value).append('\\n'));
        out.append("total: ").append(totalValue()).append('\\n');
        // Only mention restocking when something is actually low.
        List<String> restock = needsRestock(RESTOCK_THRESHOLD);
        if (!restock.isEmpty()) {
            out.append("restock: ").append(String.join(", ", restock));
        }
        return out.toString();
    }
}
'''

BAD_JAVA = '''\
import java.util.*;
public class R {
    public static String r(List<Object[]> d) {
        double t = 0;
        Map<String, Double> m = new HashMap<>();
        List<String> l = new ArrayList<>();
        for (Object[] x : d) {
            System.out.println("x " + x[0]);
            // System.out.println(m);
            if (!m.containsKey((String) x[1])) {
                m.put((String) x[1], 0.0);
            }
            m.put((String) x[1], m.get((String) x[1]) + (double) x[2] * (int) x[3]);
            t = t + (double) x[2] * (int) x[3];
            if ((int) x[3] < 5) {
                l.add((String) x[0]);
            }
            // if ((int) x[3] < 3) {
            //     l.add((String) x[0]);
            // }
            if ((double) x[2] > 100) {
                if ((int) x[3] > 0) {
                    if (x[1].equals("a")) {
                        for (int y = 0; y < (int) x[3]; y++) {
                            if (y > 7) {
                                System.out.println("here");
                                t = t - 3;
                            }
                        }
                    }
                }
            }
        }
        String s = "";
        for (String k : m.keySet()) {
            System.out.println(k);
            s = s + k + ": " + m.get(k) + "\\n";
        }
        s = s + "total: " + t + "\\n";
        // s = s + "debug";
        if (l.size() > 0) {
            s = s + "restock: ";
            for (String z : l) {
                s = s + z + ", ";
            }
        }
        double p = 0.15;
        for (Object[] x : d) {
            double q = (double) x[2] * (1 - p);
            System.out.println("q " + q);
            if (q > 250) {
                System.out.println("expensive " + x[0]);
            }
            if (q > 250) {
                System.out.println("expensive " + x[0]);
            }
            if (q < 3) {
                System.out.println("cheap " + x[0]);
            }
        }
        System.out.println(s);
        return s;
    }
}
'''

GOOD_GO = '''\
// Package inventory reports stock value per category and the items that need restocking.
package inventory

import (
	"fmt"
	"sort"
	"strings"
)

// RestockThreshold is the quantity below which an item is listed for restocking.
const RestockThreshold = 5

// Item is one stock-keeping unit.
type Item struct {
	Name     string
	Category string
	Price    float64
	Quantity int
}

// Value is the item's stock value at unit price.
func (item Item) Value() float64 {
	return item.Price * float64(item.Quantity)
}

// TotalValue is the value of all stock at unit price.
func TotalValue(items []Item) float64 {
	total := 0.0
	for _, item := range items {
		total += item.Value()
	}
	return total
}

// TotalsByCategory sums the stock value per category.
func TotalsByCategory(items []Item) map[string]float64 {
	totals := make(map[string]float64)
	for _, item := range items {
		totals[item.Category] += item.Value()
	}
	return totals
}

// NeedsRestock lists the names of items below the threshold, sorted.
func NeedsRestock(items []Item, threshold int) []string {
	var names []string
	for _, item := range items {
		if item.Quantity < threshold {
			names = append(names, item.Name)
		}
	}
	sort.Strings(names)
	return names
}

// Report renders one line per category, the total, then the restock list.
func Report(items []Item) string {
	var lines []string
	for category, value := range TotalsByCategory(items) {
		lines = append(lines, fmt.Sprintf("%s: %.2f", category, value))
	}
	sort.Strings(lines)
	lines = append(lines, fmt.Sprintf("total: %.2f", TotalValue(items)))
	// Only mention restocking when something is actually low.
	if restock := NeedsRestock(items, RestockThreshold); len(restock) > 0 {
		lines = append(lines, "restock: "+strings.Join(restock, ", "))
	}
	return strings.Join(lines, "\\n")
}
'''

BAD_GO = '''\
package main

import "fmt"

func r(d [][]interface{}) string {
	t := 0.0
	m := map[string]float64{}
	l := []string{}
	for _, x := range d {
		fmt.Println("x", x)
		// fmt.Println(m)
		m[x[1].(string)] = m[x[1].(string)] + x[2].(float64)*float64(x[3].(int))
		t = t + x[2].(float64)*float64(x[3].(int))
		if x[3].(int) < 5 {
			l = append(l, x[0].(string))
		}
		// if x[3].(int) < 3 {
		//	l = append(l, x[0].(string))
		// }
		if x[2].(float64) > 100 {
			if x[3].(int) > 0 {
				if x[1].(string) == "a" {
					for y := 0; y < x[3].(int); y++ {
						if y > 7 {
							fmt.Println("here")
							t = t - 3
						}
					}
				}
			}
		}
	}
	s := ""
	for k, v := range m {
		fmt.Println(k)
		s = s + k + ": " + fmt.Sprint(v) + "\\n"
	}
	s = s + "total: " + fmt.Sprint(t) + "\\n"
	// s = s + "debug"
	if len(l) > 0 {
		s = s + "restock: "
		for _, z := range l {
			s = s + z + ", "
		}
	}
	p := 0.15
	for _, x := range d {
		q := x[2].(float64) * (1 - p)
		fmt.Println("q", q)
		if q > 250 {
			fmt.Println("expensive", x[0])
		}
		if q > 250 {
			fmt.Println("expensive", x[0])
		}
		if q < 3 {
			fmt.Println("cheap", x[0])
		}
	}
	fmt.Println(s)
	return s
}
'''

JSON_CONFIG = '{\n  "name": "demo",\n  "version": "1.2.3",\n  "dependencies": {\n    "left-pad": "^1.3.0"\n  }\n}\n'
YAML_CONFIG = "service:\n  name: api\n  replicas: 3\n  ports:\n    - 8080\n    - 8443\n"
INI_CONFIG = "[server]\nhost = example.org\nport = 8080\n\n[database]\nuser = admin\ntimeout = 30\n"
PY_SETTINGS = ('DEBUG = False\nALLOWED_HOSTS = ["example.org", "www.example.org"]\nTIME_ZONE = "UTC"\n'
               'DATABASES = {\n    "default": {\n        "ENGINE": "sqlite3",\n        "NAME": "db.sqlite3",\n'
               '    },\n}\nLANGUAGE_CODE = "en-us"\nUSE_TZ = True\n')
PY_DATA = "TABLE = [\n" + "".join(f"    ({i}, {i * i}, {i * 0.5}, 'row{i}'),\n" for i in range(60)) + "]\n"
JS_DATA = "export const WORDS = [\n" + "".join(f'  "word{i}",\n' for i in range(80)) + "];\n"
NO_LOGIC = "import os\nimport sys\n\nfrom .core import run\n"
PROTOBUF = ('# -*- coding: utf-8 -*-\n# Generated by the protocol buffer compiler.  DO NOT EDIT!\n'
            '# source: person.proto\n"""Generated protocol buffer code."""\n'
            'from google.protobuf import descriptor as _descriptor\n'
            'from google.protobuf import symbol_database as _symbol_database\n'
            '_sym_db = _symbol_database.Default()\n'
            "DESCRIPTOR = _descriptor.FileDescriptor(name='person.proto', package='demo', syntax='proto3')\n"
            "def _build():\n    for name in ('Person',):\n        _sym_db.RegisterMessage(name)\n")
GO_GENERATED = "// Code generated by protoc-gen-go. DO NOT EDIT.\n// source: person.proto\n\npackage demo\n\n" \
               + GOOD_GO.split("package inventory", 1)[1]
THRIFT_GENERATED = "/**\n * Autogenerated by Thrift Compiler (0.13.0)\n *\n * DO NOT EDIT UNLESS YOU ARE SURE\n */\n" \
                   + GOOD_JAVA
SWIG_GENERATED = ("# This file was automatically generated by SWIG (http://www.swig.org).\n# Version 4.0.2\n"
                  + GOOD_PYTHON)


@pytest.mark.parametrize("lang, content, reason", [
    ("JSON", JSON_CONFIG, "configuration"),
    ("YAML", YAML_CONFIG, "configuration"),
    ("TOML", INI_CONFIG, "configuration"),
    ("Shell", INI_CONFIG, "configuration"),  # INI-like content under another language's name
    ("Python", PY_SETTINGS, "configuration"),
    ("Python", PY_DATA, "data literals"),
    ("JavaScript", JS_DATA, "data literals"),
    ("Python", NO_LOGIC, "almost no logic"),
    ("Python", PROTOBUF, "auto-generated"),
    ("Go", GO_GENERATED, "auto-generated"),
    ("Java", THRIFT_GENERATED, "auto-generated"),
    ("Python", SWIG_GENERATED, "auto-generated"),
    ("C", "/* @generated */\nint main(void) { return 0; }\n", "auto-generated"),
    ("JavaScript", "var a=1;" * 400 + "\nfunction f(){return a}\n", "auto-generated"),  # minified
    ("Python", "", "empty"),
    ("Python", "\x00\x01\x02binary\x00" * 50, "not text"),
])
def test_zero_policy_gives_zero_and_names_the_reason(lang, content, reason):
    m = measure(lang, content)
    assert (m.score, m.zero_reason) == (0, reason)
    assert reason in m.explanation and m.explanation.startswith("Zero-score policy")
    assert judge(lang, content) == (0, m.explanation)


def test_a_docstring_that_mentions_generated_code_is_not_a_banner():
    text = '"""Helpers for files generated by other tools; this module parses their headers."""\n' + GOOD_PYTHON
    assert measure("Python", text).zero_reason is None


@pytest.mark.parametrize("lang, good, bad", [
    ("Python", GOOD_PYTHON, BAD_PYTHON), ("Java", GOOD_JAVA, BAD_JAVA), ("Go", GOOD_GO, BAD_GO),
])
def test_well_written_code_scores_clearly_above_the_same_logic_written_badly(lang, good, bad):
    good_m, bad_m = measure(lang, good), measure(lang, bad)
    assert good_m.parsed and bad_m.parsed  # measured on tree-sitter trees
    assert good_m.score >= 7, good_m.explanation
    assert bad_m.score <= 3, bad_m.explanation
    for sub in rubric.SUBSCORES:
        assert getattr(good_m, sub) >= getattr(bad_m, sub), (sub, good_m.explanation, bad_m.explanation)
    # The explanation names the four sub-scores and the bad file's main weaknesses.
    assert good_m.explanation.startswith(f"readability {good_m.readability}, modularity {good_m.modularity}, "
                                         f"clarity {good_m.clarity}, reusability {good_m.reusability}: ")
    assert "commented-out code" in bad_m.explanation
    assert "debug prints" in bad_m.explanation


def test_line_heuristics_rank_the_same_way_without_a_tree(monkeypatch):
    """Files over the parse cap (and languages without a grammar) are measured line by line."""
    monkeypatch.setattr(rubric, "MAX_PARSE_BYTES", 10)
    good, bad = measure("Python", GOOD_PYTHON), measure("Python", BAD_PYTHON)
    assert not good.parsed and not bad.parsed
    assert good.score >= bad.score + 3, (good.explanation, bad.explanation)
    # A language without a grammar: Cython reads like Python.
    assert measure("Cython", GOOD_PYTHON).score >= measure("Cython", BAD_PYTHON).score + 3


def test_signals_seen_by_the_tree():
    facts = rubric._facts("Python", GOOD_PYTHON, GOOD_PYTHON.split("\n"))
    assert facts.parsed
    assert [f.params for f in facts.functions] == [1, 1, 1, 2, 2, 1]
    assert all(f.documented for f in facts.functions)
    bad = rubric._facts("Python", BAD_PYTHON, BAD_PYTHON.split("\n"))
    assert len(bad.functions) == 1 and bad.max_depth == 6
    # An else-if chain is one level, not one per branch.
    chain = "int f(int x) {\n if (x) { return 1; } else if (x > 1) { return 2; } else if (x > 2) { return 3; }\n return 0;\n}\n"
    assert rubric._facts("C", chain, chain.split("\n")).max_depth == 1


def test_deterministic():
    items = [("Python", GOOD_PYTHON), ("Python", BAD_PYTHON), ("Go", GOOD_GO), ("JSON", JSON_CONFIG)]
    first = [measure(lang, text) for lang, text in items]
    assert [measure(lang, text) for lang, text in reversed(items)] == list(reversed(first))


def test_deterministic_across_processes():
    """Nothing depends on set or dict order of strings: other hash seeds give the same explanations."""
    script = ("import tests.test_rubric as t; from seedlib.quality.rubric import measure; "
              "print([measure(l, c) for l, c in [('Python', t.BAD_PYTHON), ('Java', t.GOOD_JAVA), "
              "('Cython', t.BAD_PYTHON)]])")
    outputs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(outputs) == 1 and "readability" in outputs.pop()


def test_oracle_interface():
    oracle = RubricOracle()
    assert oracle.name == "rubric-v1"
    judgements = oracle.judge_many([("Python", GOOD_PYTHON), ("JSON", JSON_CONFIG)])
    assert [j.score for j in judgements] == [measure("Python", GOOD_PYTHON).score, 0]
    assert all(j.error is None and j.explanation for j in judgements)
    try:
        from seedlib.quality.oracle import Judgement
    except ImportError:  # the OpenAI oracle's module (or its client) is not installed: a local stand-in
        Judgement = rubric._FallbackJudgement  # noqa: N806
    assert all(type(j) is Judgement for j in judgements)
    assert oracle.judge_many([]) == []


SAMPLES = {
    "empty": "",
    "blank": "\n\n   \n",
    "binary": "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + "\x00\xff" * 100,
    "code": GOOD_PYTHON,
    "c-like": GOOD_JAVA,
    "prose": "# Title\n\nSome text about the project, with a list:\n\n- one\n- two\n",
    "garbage": "}{)(][ ;;; 'unterminated \"\n" * 30,
}


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_every_language_gets_a_score(lang):
    for name, content in SAMPLES.items():
        m = measure(lang, content)
        assert 0 <= m.score <= 10 and isinstance(m.score, int), (lang, name)
        assert m.explanation, (lang, name)
        assert (m.score == 0) == (m.zero_reason is not None), (lang, name, m)


def test_unknown_language_and_huge_file_are_bounded():
    assert 0 <= measure("No Such Language", GOOD_PYTHON).score <= 10
    big = GOOD_PYTHON * 200  # ~400 KB: over the parse cap, measured by lines
    started = time.perf_counter()
    m = measure("Python", big)
    assert not m.parsed and m.score >= 1
    assert time.perf_counter() - started < 2.0
