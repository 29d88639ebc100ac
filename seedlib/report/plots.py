"""The report's plots: Plotly figures drawn only from the collected numbers (collect.py).

Each function takes one section of the report data and returns a `plotly.graph_objects.Figure` (or None
when there is nothing to draw). build.py serialises them as JSON specs that one inlined copy of plotly.js
renders, so a figure's numbers are exactly the embedded data's.
"""

from __future__ import annotations

import plotly.graph_objects as go

from seedlib.report.collect import OTHER

HEIGHT = 380


def _figure(title: str, x: str = "", y: str = "", height: int = HEIGHT, **layout) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(template="none", title={"text": title, "x": 0, "font": {"size": 15}}, height=height,
                      margin={"l": 60, "r": 20, "t": 50, "b": 60}, font={"family": "system-ui, sans-serif", "size": 12},
                      legend={"orientation": "h", "y": -0.2}, xaxis={"title": {"text": x}, "automargin": True},
                      yaxis={"title": {"text": y}, "automargin": True, "gridcolor": "#e5e5e5"}, **layout)
    return fig


def funnel_files(funnel: dict) -> go.Figure | None:
    stages = funnel["stages"]
    if not stages:
        return None
    names = [f"{stages[0]['name']} (seen)"] + [s["name"] for s in stages]
    values = [stages[0]["rows_in"]] + [s["rows_out"] for s in stages]
    fig = _figure("Files kept after each stage", height=320 + 18 * len(names))
    fig.add_trace(go.Funnel(y=names, x=values, textinfo="value+percent initial", name="files"))
    return fig


def funnel_bytes(funnel: dict) -> go.Figure | None:
    stages = funnel["stages"]
    if not stages:
        return None
    names = [f"{stages[0]['name']} (seen)"] + [s["name"] for s in stages]
    values = [stages[0]["bytes_in"]] + [s["bytes_out"] for s in stages]
    fig = _figure("Bytes kept after each stage (gaps: not derivable)", y="bytes")
    fig.add_trace(go.Bar(x=names, y=values, name="bytes",
                         text=["n/a" if v is None else None for v in values], textposition="outside"))
    return fig


def drops_by_reason(drops: dict) -> go.Figure | None:
    rows = drops["rows"]
    if not rows:
        return None
    stages = list(dict.fromkeys(r["stage"] for r in rows))
    fig = _figure("Dropped items by stage and reason", y="items", barmode="stack")
    for reason in sorted({r["reason"] for r in rows}):
        counts = {r["stage"]: r["count"] for r in rows if r["reason"] == reason}
        fig.add_trace(go.Bar(x=stages, y=[counts.get(s, 0) for s in stages], name=reason))
    return fig


def languages(langs: dict, limit: int = 15) -> go.Figure | None:
    rows = langs["rows"][:limit]
    if not rows:
        return None
    fig = _figure(f"Files per language before and after (top {len(rows)})", y="files", barmode="group")
    names = [r["lang"] for r in rows]
    fig.add_trace(go.Bar(x=names, y=[r["before_files"] for r in rows], name="before (seen by the crawl)"))
    fig.add_trace(go.Bar(x=names, y=[r["after_files"] for r in rows], name="after (files)"))
    return fig


def language_volume(langs: dict, limit: int = 15) -> go.Figure | None:
    rows = [r for r in langs["rows"] if r["after_files"]][:limit]
    if not rows:
        return None
    fig = _figure("Kept bytes and tokens per language", y="count", barmode="group")
    names = [r["lang"] for r in rows]
    fig.add_trace(go.Bar(x=names, y=[r["after_bytes"] for r in rows], name="bytes"))
    fig.add_trace(go.Bar(x=names, y=[r["after_tokens"] for r in rows],
                         name=f"tokens ({langs['tokens']['method']})"))
    return fig


def _stacked(title: str, section: dict, x: str) -> go.Figure | None:
    if not section["by_lang"]:
        return None
    fig = _figure(title, x=x, y="files", barmode="stack")
    for lang, counts in section["by_lang"].items():
        fig.add_trace(go.Bar(x=section["labels"], y=counts, name=lang))
    return fig


def sizes(dist: dict) -> go.Figure | None:
    return _stacked("File sizes (kept files)", dist["size"], "size")


def lines(dist: dict) -> go.Figure | None:
    return _stacked("Lines per file (kept files)", dist["lines"], "lines")


def line_lengths(dist: dict) -> go.Figure | None:
    ll = dist["line_length"]
    if not ll["sample_lines"]:
        return None
    fig = _figure(f"Line lengths (characters; {ll['sample_lines']} lines of a {ll['sample_files']}-file sample)",
                  x="characters", y="lines")
    fig.add_trace(go.Bar(x=ll["labels"], y=ll["counts"], name="lines"))
    return fig


def duplicate_clusters(dup: dict) -> go.Figure | None:
    if not dup["cluster_sizes"]:
        return None
    fig = _figure("Duplicate clusters by size (kept file + its dropped copies)", x="files in the cluster",
                  y="clusters")
    fig.add_trace(go.Bar(x=list(dup["cluster_sizes"]), y=list(dup["cluster_sizes"].values()), name="clusters"))
    fig.update_xaxes(type="category")
    return fig


def syntax(syn: dict) -> go.Figure | None:
    if not syn.get("available") or not syn["by_lang"]:
        return None
    fig = _figure("Share of bytes in tree-sitter ERROR/MISSING regions (kept files)", x="error share",
                  y="files", barmode="group")
    for lang, counts in syn["by_lang"].items():
        fig.add_trace(go.Bar(x=syn["labels"], y=counts, name=lang))
    return fig


def quality(q: dict) -> list[tuple[str, go.Figure]]:
    """One histogram per language (the top ones, then the rest together), with the cut where it applies."""
    if not q.get("available"):
        return []
    out = []
    centers = [(a + b) / 2 for a, b in zip(q["edges"], q["edges"][1:])]
    for lang, counts in q["by_lang"].items():
        cut = q["cut"].get("all" if q["scope"] == "global" else lang)
        dropped = q["low_quality_drops"].get(lang, 0) if lang != OTHER else None
        title = f"Quality scores: {lang}"
        if cut is not None:
            title += f" (cut {cut:g}; {dropped if dropped is not None else 'some'} dropped as low_quality)"
        fig = _figure(title, x="quality score (0-10)", y="kept files", height=300)
        fig.add_trace(go.Bar(x=centers, y=counts, width=0.5, name="kept files",
                             customdata=q["labels"], hovertemplate="%{customdata}: %{y}<extra></extra>"))
        if cut is not None:
            fig.add_vline(x=cut, line_dash="dash", line_color="#c0392b")
        fig.update_xaxes(range=[0, 10])
        out.append((lang, fig))
    return out


def scorer(sc: dict | None) -> go.Figure | None:
    if not sc:
        return None
    names = [k for k in ("mae", "class_balanced_mae", "baseline_mae", "baseline_class_balanced_mae") if k in sc]
    if not names:
        return None
    fig = _figure("Scorer: held-out mean absolute error (lower is better)", y="MAE (score points)")
    fig.add_trace(go.Bar(x=names, y=[sc[k] for k in names], name="MAE"))
    return fig


def samples(s: dict) -> go.Figure | None:
    names = [k for k in ("commit_history", "commit_samples", "commit_dropped", "repo_sequences")
             if s.get(k) is not None]
    if not names:
        return None
    fig = _figure("Commit and repository samples", y="rows")
    fig.add_trace(go.Bar(x=names, y=[s[k] for k in names], name="rows"))
    return fig


def timing(rows: list[dict]) -> go.Figure | None:
    if not rows:
        return None
    fig = _figure("Run time per stage", x="seconds", height=200 + 24 * len(rows))
    fig.add_trace(go.Bar(y=[r["name"] + (" (skipped)" if r["skipped"] else "") for r in rows],
                         x=[r["seconds"] for r in rows], orientation="h", name="seconds"))
    fig.update_yaxes(autorange="reversed")
    return fig


def previous_stages(prev: dict) -> go.Figure | None:
    if not prev.get("snapshot"):
        return None
    rows = [r for r in prev["stages"] if r["rows_out"] is not None or r["rows_out_before"] is not None]
    fig = _figure(f"Items kept per stage: {prev['snapshot']} and now", y="rows out", barmode="group")
    names = [r["name"] for r in rows]
    fig.add_trace(go.Bar(x=names, y=[r["rows_out_before"] for r in rows], name=prev["snapshot"]))
    fig.add_trace(go.Bar(x=names, y=[r["rows_out"] for r in rows], name="this snapshot"))
    return fig


def previous_languages(prev: dict, limit: int = 15) -> go.Figure | None:
    if not prev.get("snapshot") or not prev["files"]:
        return None
    rows = prev["files"][:limit]
    fig = _figure(f"Files added and removed per language since {prev['snapshot']}", y="files", barmode="group")
    names = [r["lang"] for r in rows]
    fig.add_trace(go.Bar(x=names, y=[r["added"] for r in rows], name="added"))
    fig.add_trace(go.Bar(x=names, y=[-r["removed"] for r in rows], name="removed (negative)"))
    fig.add_trace(go.Bar(x=names, y=[r["changed"] for r in rows], name="changed contents"))
    return fig
