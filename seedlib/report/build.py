"""The snapshot report: one self-contained HTML file, published beside the manifest as `report.html`.

Self-contained: plotly.js is inlined once (no CDN, no network needed to open it); each figure is a JSON
spec in a `<script type="application/json" class="plot-spec">` block that one small script renders. The
numbers every table and plot is drawn from are embedded as `<script type="application/json"
id="report-data">` (collect.py's dict), so tests and scripts can read them back. Everything taken from
the data (paths, repository names, reasons) is HTML-escaped; JSON blocks escape `<`, `>` and `&`.
Deterministic: the same publication gives the same bytes (the only time in it is the manifest's created_at).
"""

from __future__ import annotations

import html
import json

from seedlib.report import plots
from seedlib.report.collect import collect, human_bytes
from seedlib.run import snapshot_prefix
from seedlib.storage import Storage

REPORT_FILE = "report.html"
MANIFEST_META = "seed-manifest-sha256"  # the report names the manifest bytes it was built from

# (id, heading) of every section, in page order.
SECTIONS = (
    ("overview", "Overview"),
    ("funnel", "Stage funnel"),
    ("drops", "Drops by stage and reason"),
    ("languages", "Languages before and after"),
    ("distributions", "Size and line-length distributions"),
    ("duplicates", "Duplicate clusters"),
    ("syntax", "Syntax error share"),
    ("quality", "Quality scores"),
    ("scorer", "Scorer"),
    ("samples", "Commit and repository samples"),
    ("timing", "Run time per stage"),
    ("previous", "Difference from the previous snapshot"),
    ("ledger", "Ledger samples"),
)

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "showLink": False, "showSendToCloud": False}

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f2d3d;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#cfd8e3;font-size:13px}
nav{padding:8px 28px;background:#eef1f5;font-size:13px;position:sticky;top:0;z-index:5}
nav a{margin-right:14px;color:#1f4e8c;text-decoration:none}
main{padding:8px 28px 40px;max-width:1200px}
section{background:#fff;border:1px solid #e1e4e8;border-radius:6px;padding:12px 18px;margin:16px 0}
h2{font-size:18px;margin:6px 0 10px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border-bottom:1px solid #e5e5e5;padding:3px 10px;text-align:left;vertical-align:top}
th{background:#f4f6f8}td.n{text-align:right;font-variant-numeric:tabular-nums}
td.mono,code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
p.note{color:#555;font-size:13px;margin:6px 0}
.plot{width:100%;min-height:300px}
"""

_RENDER = """
(function(){
  var config = JSON.parse(document.getElementById("plot-config").textContent);
  document.querySelectorAll("script.plot-spec").forEach(function(s){
    var spec = JSON.parse(s.textContent);
    Plotly.newPlot(s.getAttribute("data-target"), spec.data, spec.layout, config);
  });
})();
"""


def script_json(obj) -> str:
    """JSON safe inside a <script> element: no `<`, `>` or `&` (so no `</script>` in crawled data)."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _num(n) -> str:
    if n is None:
        return "n/a"
    if isinstance(n, float):
        return f"{n:,.4g}" if abs(n) < 1000 else f"{n:,.0f}"
    return f"{n:,}"


def _bytes(n) -> str:
    return "n/a" if n is None else f"{human_bytes(n)}"


class Cell:
    """A table cell: text (escaped when rendered) and a class (n = number, mono = path/hash)."""

    def __init__(self, text, cls: str = "", title: str = ""):
        self.text, self.cls, self.title = text, cls, title


def _cell(v) -> str:
    if isinstance(v, Cell):
        attrs = (f' class="{esc(v.cls)}"' if v.cls else "") + (f' title="{esc(v.title)}"' if v.title else "")
        return f"<td{attrs}>{esc(v.text)}</td>"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return f'<td class="n">{esc(_num(v))}</td>'
    return f"<td>{esc(v)}</td>"


def table(headers: list[str], rows: list[list], caption: str = "") -> str:
    if not rows:
        return '<p class="note">(none)</p>'
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def _nbytes(n) -> Cell:
    return Cell(_bytes(n), "n", "" if n is None else f"{n} bytes")


class Page:
    def __init__(self):
        self.figures: list[tuple[str, dict]] = []

    def plot(self, fig_id: str, fig) -> str:
        if fig is None:
            return ""
        import plotly.io as pio

        spec = json.loads(pio.to_json(fig, validate=False, pretty=False))
        self.figures.append((fig_id, {"data": spec.get("data", []), "layout": spec.get("layout", {})}))
        return f'<div class="plot" id="{esc(fig_id)}"></div>'


# --- sections -------------------------------------------------------------------------------------------

def _overview(d: dict, page: Page) -> str:
    repos = d["repos"]
    langs = d["languages"]
    kept_bytes = sum(r["after_bytes"] for r in langs["rows"])
    facts = [["snapshot", d["snapshot"]], ["created_at (manifest)", d["created_at"]],
             ["code version", Cell(d["code_version"], "mono")],
             ["repositories", f"{repos['rows']} ({', '.join(f'{k} {v}' for k, v in repos['status'].items()) or '-'}); "
                              f"{repos['kept']} with kept files"],
             ["files kept", d["datasets"].get("files")], ["bytes kept", _nbytes(kept_bytes)],
             ["tokens kept", Cell(f"{_num(langs['tokens']['total'])} ({langs['tokens']['method']})", "n")]]
    out = table(["", ""], facts)
    out += table(["dataset", "rows"], [[Cell(n, "mono"), r] for n, r in d["datasets"].items()],
                 caption="Published datasets (manifest)")
    return out


def _funnel(d: dict, page: Page) -> str:
    f = d["funnel"]
    rows = [[s["name"] + (" (skipped)" if s["skipped"] else ""), s["rows_in"], s["rows_out"], s["dropped"],
             _nbytes(s["bytes_in"]), _nbytes(s["bytes_out"]), _nbytes(s["bytes_dropped_known"]),
             s["dropped_without_size"]] for s in f["stages"]]
    out = table(["stage", "files in", "files out", "dropped", "bytes in", "bytes out", "bytes dropped (known)",
                 "dropped without a size"], rows)
    out += note(f"Files in/out: the manifest's stages. Bytes: the kept files' sizes, the dropped files' sizes "
                f"from {f['sizes_from']}; n/a where some dropped file's size is in no published dataset.")
    out += "".join(note(n) for n in f["notes"])
    out += page.plot("fig-funnel-files", plots.funnel_files(f)) + page.plot("fig-funnel-bytes", plots.funnel_bytes(f))
    return out


def _drops(d: dict, page: Page) -> str:
    rows = [[r["stage"], Cell(r["reason"], "mono"), r["count"], r["meaning"]] for r in d["drops"]["rows"]]
    return (table(["stage", "reason", "items", "meaning (seedlib/ledger.py)"], rows)
            + note(f"{d['drops']['total']:,} items dropped in all (the manifest's stages[].dropped; "
                   "commit_samples' reasons are the commit ledger's).")
            + page.plot("fig-drops", plots.drops_by_reason(d["drops"])))


def _languages(d: dict, page: Page) -> str:
    langs = d["languages"]
    rows = [[r["lang"], r["before_files"],
             _nbytes(r["before_bytes"]) if r["before_bytes"] is not None else
             Cell(f">= {_bytes(r['before_bytes_known'])} ({r['before_without_size']} without size)", "n"),
             r["after_files"], _nbytes(r["after_bytes"]), r["after_lines"],
             r["after_tokens"] if r["after_tokens"] is not None else Cell("n/a", "n")] for r in langs["rows"]]
    return (table(["language", "files before", "bytes before", "files after", "bytes after", "lines after",
                   f"tokens after ({langs['tokens']['method']})"], rows)
            + note("Tokens: " + langs["tokens"]["how"] + ".") + note(langs["before_note"] + ".")
            + page.plot("fig-languages", plots.languages(langs))
            + page.plot("fig-language-volume", plots.language_volume(langs)))


def _distributions(d: dict, page: Page) -> str:
    dist = d["distributions"]
    size = dist["size"]
    ll = dist["line_length"]
    return (note(f"Kept files: median size {_bytes(size['median'])}, largest {_bytes(size['max'])}, "
                 f"{_num(dist['lines']['total'])} lines (every file's lines are counted). Line lengths come from "
                 f"a fixed sample: {ll['sample_files']} files (those with the smallest sha256), "
                 f"{_num(ll['sample_lines'])} lines.")
            + page.plot("fig-sizes", plots.sizes(dist)) + page.plot("fig-lines", plots.lines(dist))
            + page.plot("fig-line-lengths", plots.line_lengths(dist)))


def _duplicates(d: dict, page: Page) -> str:
    dup = d["duplicates"]
    if not dup["clusters"]:
        return note("No dropped file names a kept copy (duplicate_of) in this snapshot's ledger.")
    rows = [[c["size"], Cell(c["kept_sha256"][:16], "mono", c["kept_sha256"]), c["kept_repo"] or "-",
             Cell(c["kept_path"] or "-", "mono"), c["kept"], ", ".join(f"{k} {v}" for k, v in c["reasons"].items())]
            for c in dup["largest"]]
    return (note(f"{dup['clusters']:,} clusters: a kept file (the ledger's duplicate_of) and its "
                 f"{dup['dropped_copies']:,} dropped copies; {dup['against_earlier_snapshots']:,} of them are kept "
                 "in an earlier snapshot.")
            + table(["files", "kept sha256", "kept repo", "kept path", "kept where", "copies by reason"], rows,
                    caption="The largest clusters")
            + page.plot("fig-duplicates", plots.duplicate_clusters(dup)))


def _syntax(d: dict, page: Page) -> str:
    syn = d["syntax"]
    if not syn.get("available"):
        return note(syn["why"] + ".")
    rows = [[lang, syn["thresholds"].get(lang), syn["syntax_error_drops"].get(lang, 0), sum(counts)]
            for lang, counts in syn["by_lang"].items()]
    return (table(["language", "threshold (config)", "dropped as syntax_error", "kept files"], rows)
            + note("Kept files' syntax_error_ratio (share of bytes in ERROR/MISSING regions); a file above its "
                   "language's threshold was dropped as syntax_error, so those are counted from the ledger.")
            + page.plot("fig-syntax", plots.syntax(syn)))


def _quality(d: dict, page: Page) -> str:
    q = d["quality"]
    if not q.get("available"):
        return note(q["why"] + ".")
    rows = [[g, thr] for g, thr in q["cut"].items()]
    out = table(["group", "cut (highest score dropped)"], rows) if rows else note(
        "The quality stage's details name no cut (quality_cut): no group had enough files to cut.")
    out += note(f"scope {q['scope']}, share {q['share']}"
                + (f", cut inherited from snapshot {q['cut_from']}" if q["cut_from"] else "")
                + f"; dropped as low_quality per language: "
                + (", ".join(f"{k} {v}" for k, v in q["low_quality_drops"].items()) or "none")
                + (f"; {q['unscored']} kept files have no score" if q["unscored"] else "") + ".")
    out += note(q["note"] + ".")
    for lang, fig in plots.quality(q):
        out += page.plot(f"fig-quality-{_slug(lang)}", fig)
    return out


def _scorer(d: dict, page: Page) -> str:
    sc = d["scorer"]
    if not sc:
        return note("The manifest names no scorer (the quality stages did not run).")
    return (table(["", ""], [[k, Cell(v, "mono") if isinstance(v, str) else v] for k, v in sorted(sc.items())])
            + page.plot("fig-scorer", plots.scorer(sc)))


def _samples(d: dict, page: Page) -> str:
    s = d["samples"]

    def rows_of(key):
        return s[key] if s[key] is not None else Cell("not in this snapshot")

    rows = [["commit_history (qualifying repositories' commits)", rows_of("commit_history")],
            ["commit_samples", rows_of("commit_samples")],
            ["commit_samples: repositories", rows_of("commit_sample_repos")],
            ["commit_dropped (commit ledger)", rows_of("commit_dropped")],
            ["repo_sequences", rows_of("repo_sequences")],
            ["repo_sequences: repositories", rows_of("repo_sequence_repos")]]
    out = table(["dataset", "rows"], rows)
    if s["commit_dropped_by_reason"]:
        out += table(["commit ledger reason", "commits"], [[k, v] for k, v in s["commit_dropped_by_reason"].items()])
    if s["repo_sequences_details"]:
        out += table(["repo_sequences detail", ""], [[k, v] for k, v in sorted(s["repo_sequences_details"].items())])
    return out + page.plot("fig-samples", plots.samples(s))


def _timing(d: dict, page: Page) -> str:
    rows = [[r["name"], r["seconds"], "yes" if r["skipped"] else "", r["resumed_parts"]] for r in d["timing"]]
    total = sum(r["seconds"] for r in d["timing"])
    return (table(["stage", "seconds", "skipped", "resumed parts"], rows)
            + note(f"{total:,.1f} s over all stages (the manifest's stages[].seconds).")
            + page.plot("fig-timing", plots.timing(d["timing"])))


def _previous(d: dict, page: Page) -> str:
    p = d["previous"]
    if not p.get("snapshot"):
        return note("No snapshot was published before this one.")
    out = note(f"Compared with snapshot {p['snapshot']} (created {p['created_at']}); scorer "
               f"{p['scorer_before'] or '-'} then, {p['scorer'] or '-'} now.")
    out += table(["stage", "in before", "in now", "out before", "out now"],
                 [[r["name"], _opt(r["rows_in_before"]), _opt(r["rows_in"]), _opt(r["rows_out_before"]),
                   _opt(r["rows_out"])] for r in p["stages"]], caption="Items per stage")
    out += table(["dataset", "rows before", "rows now", "change"],
                 [[Cell(r["name"], "mono"), _opt(r["before"]), _opt(r["now"]),
                   _opt(None if r["before"] is None or r["now"] is None else r["now"] - r["before"])]
                  for r in p["datasets"]], caption="Rows per dataset")
    lang_headers = ["language", "files before", "files now", "added", "removed", "changed contents"]
    out += table(lang_headers, [[r["lang"], r["before"], r["now"], r["added"], r["removed"], r["changed"]]
                                for r in p["files"]], caption="files (by repo and path)")
    if "corpus" in p:
        out += table(lang_headers, [[r["lang"], r["before"], r["now"], r["added"], r["removed"], r["changed"]]
                                    for r in p["corpus"]], caption="The corpus as of each snapshot (corpus_index)")
    return (out + page.plot("fig-previous-stages", plots.previous_stages(p))
            + page.plot("fig-previous-languages", plots.previous_languages(p)))


def _ledger(d: dict, page: Page) -> str:
    rows = [[r["stage"], Cell(r["reason"], "mono"), r["repo"], Cell(r["path"], "mono"),
             Cell((r["duplicate_of"] or "")[:16], "mono", r["duplicate_of"] or ""), Cell(r["kept_copy"] or "", "mono")]
            for r in d["ledger_samples"]]
    return (note("A few rows of the files ledger (dropped) per reason: those with the smallest sha256, so the "
                 "same rows every time.")
            + table(["stage", "reason", "repo", "path", "duplicate_of", "kept copy"], rows))


def _opt(v):
    return Cell("-", "n") if v is None else v


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-") or "x"


RENDERERS = {"overview": _overview, "funnel": _funnel, "drops": _drops, "languages": _languages,
             "distributions": _distributions, "duplicates": _duplicates, "syntax": _syntax, "quality": _quality,
             "scorer": _scorer, "samples": _samples, "timing": _timing, "previous": _previous, "ledger": _ledger}


def render(data: dict) -> str:
    """The HTML page for collected report data."""
    from plotly.offline import get_plotlyjs

    page = Page()
    body = "".join(f'<section id="{sid}"><h2>{esc(title)}</h2>{RENDERERS[sid](data, page)}</section>'
                   for sid, title in SECTIONS)
    nav = "".join(f'<a href="#{sid}">{esc(title)}</a>' for sid, title in SECTIONS)
    data_out = dict(data, figures=[{"id": fid, "traces": len(spec["data"])} for fid, spec in page.figures])
    specs = "".join(f'<script type="application/json" class="plot-spec" data-target="{esc(fid)}">'
                    f"{script_json(spec)}</script>\n" for fid, spec in page.figures)
    title = f"Snapshot {data['snapshot']}: seed-data report"
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<meta name=\"{MANIFEST_META}\" content=\"{esc(data['manifest_sha256'])}\">\n<title>{esc(title)}</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>{esc(title)}</h1><p>published {esc(data['created_at'])} by code "
        f"{esc(data['code_version'])}; every number below is read from the snapshot's manifest and datasets</p>"
        f"</header>\n<nav>{nav}</nav>\n<main>\n{body}\n</main>\n"
        f'<script type="application/json" id="report-data">{script_json(data_out)}</script>\n'
        f'<script type="application/json" id="plot-config">{script_json(PLOTLY_CONFIG)}</script>\n'
        f"{specs}"
        "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>\n"
        f"<script>{get_plotlyjs()}</script>\n"
        f"<script>{_RENDER}</script>\n</body>\n</html>\n"
    )


def build_report(storage: Storage, snapshot: str, **options) -> str:
    """The report's HTML for a published snapshot (options: collect()'s tokenizer, sample_bytes, ...)."""
    return render(collect(storage, snapshot, **options))


def report_key(snapshot: str) -> str:
    return f"{snapshot_prefix(snapshot)}/{REPORT_FILE}"


def write_report(storage: Storage, snapshot: str, **options) -> str:
    """Build the report and publish it as `snapshots/dt=D/report.html`; returns its URI."""
    key = report_key(snapshot)
    storage.write_bytes(key, build_report(storage, snapshot, **options).encode("utf-8"))
    return storage.uri(key)


def current_report(storage: Storage, snapshot: str) -> str | None:
    """The URI of the snapshot's report if one exists and was built from the manifest published now
    (a rerun of the date replaces the manifest: an older report is then stale), else None."""
    import hashlib

    from seedlib.run import manifest_key

    key = report_key(snapshot)
    if not storage.exists(key) or not storage.exists(manifest_key(snapshot)):
        return None
    head = storage.read_bytes(key)[:4096].decode("utf-8", "replace")
    digest = hashlib.sha256(storage.read_bytes(manifest_key(snapshot))).hexdigest()
    return storage.uri(key) if f'<meta name="{MANIFEST_META}" content="{digest}">' in head else None


def report_data(text: str) -> dict:
    """The numbers embedded in a report's HTML (the `report-data` block)."""
    start = text.index('<script type="application/json" id="report-data">')
    start = text.index(">", start) + 1
    return json.loads(text[start:text.index("</script>", start)])


def summary(storage: Storage, snapshot: str) -> dict | None:
    """Token totals and the report's URI from the snapshot's current report (None when there is none):
    cheap enough for `seed status` (no dataset is read)."""
    uri = current_report(storage, snapshot)
    if uri is None:
        return None
    data = report_data(storage.read_bytes(report_key(snapshot)).decode("utf-8"))
    tokens = data["languages"]["tokens"]
    return {"report": uri, "tokens": tokens["total"], "tokens_method": tokens["method"], "tokens_how": tokens["how"],
            "tokens_by_language": {r["lang"]: r["after_tokens"] for r in data["languages"]["rows"] if r["after_files"]}}
