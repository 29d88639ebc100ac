"""WARC files for the web pipeline's tests, and a small realistic page set.

`write_warc(path, records, gzip=True)` writes a WARC the way Common Crawl does: a warcinfo record, then a
request and a response record per page, each record its own gzip member (or a plain WARC), with fixed dates
and record ids uuid5 of the url and the record's index, so the same call writes the same bytes. A record
is a dict:
- a page: `url`, `html` (str, encoded as `encoding`, default UTF-8) or `body` (bytes), `status` (200),
  `content_type` ("text/html; charset=utf-8"; None for no Content-Type header), `record_type` ("response";
  or "revisit", "resource", "metadata"), `http_headers` (more HTTP headers, a list of (name, value));
- `{"raw": bytes}`: a WARC record as it is (e.g. from `malformed`), gzip-compressed as its own member when
  the file is;
- `{"garbage": bytes}`: bytes written as they are, between members or records.
It returns, per record dict, where its response went: `{"url", "record_id", "offset"}` (offset of its gzip
member or of the record in a plain WARC; record_id None for raw and garbage).
`truncate(path, nbytes)` cuts a file; `malformed(url, problem)` makes a broken record.

`PAGES`: pages of each category (seedlib.web.settings.CATEGORIES) with and without code tags, plus a
boilerplate-only page and a page under ten words, with what the extractor and the category rules should
find: `category`, `code_tags` (has <pre>/<code>/highlighted blocks), `code_related` (a person would call it
about code), `code` (the exact text of each <pre> block, in order, as it must appear in the extracted text;
inline <code> is not listed).
"""

from __future__ import annotations

import gzip as gziplib
import os
from pathlib import Path
from typing import Iterable

from seedlib.web.warc import DATE, http_response, page_records, record, record_uuid, warcinfo

__all__ = ["write_warc", "truncate", "malformed", "PAGES", "page", "PROBLEMS"]


def _page_bytes(rec: dict, index: int) -> tuple[list[bytes], str]:
    url = rec["url"]
    body = rec["body"] if "body" in rec else rec["html"].encode(rec.get("encoding", "utf-8"))
    rtype = rec.get("record_type", "response")
    ids = (record_uuid(url, index, "request"), record_uuid(url, index, rtype))
    http = http_response(body, rec.get("status", 200), rec.get("content_type", "text/html; charset=utf-8"),
                         rec.get("http_headers", ()))
    if rtype in ("response", "revisit"):
        return page_records(url, http, ids, record_type=rtype), f"<urn:uuid:{ids[1]}>"
    headers = [("WARC-Target-URI", url), ("Content-Type", "text/html" if rtype == "resource" else
                                          "application/warc-fields")]
    return [record(rtype, ids[1], body, headers)], f"<urn:uuid:{ids[1]}>"


def write_warc(path: str | os.PathLike, records: Iterable[dict], gzip: bool = True) -> list[dict]:
    """Write `records` (see the module docstring) to `path`; where each one's response record went."""
    path = Path(path)
    placed: list[dict] = []
    with open(path, "wb") as f:
        f.write(_member(warcinfo(path.name, record_uuid(path.name, "warcinfo")), gzip))
        for index, rec in enumerate(records):
            if "garbage" in rec:
                placed.append({"url": None, "record_id": None, "offset": f.tell()})
                f.write(rec["garbage"])
                continue
            if "raw" in rec:
                placed.append({"url": None, "record_id": None, "offset": f.tell()})
                f.write(_member(rec["raw"], gzip))
                continue
            chunks, record_id = _page_bytes(rec, index)
            if len(chunks) == 2:  # request, then the response
                f.write(_member(chunks[0], gzip))
            placed.append({"url": rec["url"], "record_id": record_id, "offset": f.tell()})
            f.write(_member(chunks[-1], gzip))
    return placed


def _member(data: bytes, gzip: bool) -> bytes:
    return gziplib.compress(data, compresslevel=6, mtime=0) if gzip else data


def truncate(path: str | os.PathLike, nbytes: int) -> None:
    """Keep the first `nbytes` bytes of the file; a negative `nbytes` cuts that many off its end."""
    size = os.path.getsize(path)
    os.truncate(path, nbytes if nbytes >= 0 else max(size + nbytes, 0))


# What `malformed` can break, and what the reader should make of it.
PROBLEMS = ("bad_length", "short_length", "long_length", "no_status", "no_record_id", "bad_status")


def malformed(url: str, problem: str, index: int = 0) -> bytes:
    """A response record with one thing wrong (PROBLEMS): a non-numeric, too short or too long
    Content-Length, an HTTP response without its status line or with a non-numeric status, no
    WARC-Record-ID. Written by hand: fastwarc's writer would fix the length."""
    body = f"<html><body><p>broken record {index} for {url}</p></body></html>".encode()
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body
    if problem == "no_status":
        http = b"Content-Type: text/html; charset=utf-8\r\n\r\n" + body
    elif problem == "bad_status":
        http = b"HTTP/1.1 2OO OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body
    length = {"bad_length": "12x", "short_length": str(len(http) - 40),
              "long_length": str(len(http) + 200)}.get(problem, str(len(http)))
    lines = ["WARC/1.1", "WARC-Type: response", f"WARC-Date: {DATE}"]
    if problem != "no_record_id":
        lines.append(f"WARC-Record-ID: <urn:uuid:{record_uuid(url, index, 'malformed')}>")
    lines += [f"WARC-Target-URI: {url}", "Content-Type: application/http; msgtype=response",
              f"Content-Length: {length}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + http + b"\r\n\r\n"


def page(url: str, words: int = 60, code: str | None = None, title: str = "A page") -> dict:
    """A plain page with `words` words of text (and a <pre><code> block when `code` is given)."""
    text = " ".join(f"word{i % 37}" for i in range(words))
    block = f"<pre><code>{code}</code></pre>" if code is not None else ""
    return {"url": url, "html": f"<!DOCTYPE html><html><head><title>{title}</title></head><body><main>"
                                f"<h1>{title}</h1><p>{text}</p>{block}</main></body></html>"}


# ------------------------------------------------------------------------------------------ the pages

PYTHON_DOCS = """<!DOCTYPE html>
<html lang="en" data-content_root="../">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1.0" />
    <title>json — JSON encoder and decoder &#8212; Python 3.12.2 documentation</title>
    <link rel="stylesheet" type="text/css" href="../_static/pygments.css" />
    <link rel="stylesheet" type="text/css" href="../_static/pydoctheme.css" />
    <link rel="canonical" href="https://docs.python.org/3/library/json.html" />
  </head>
<body>
<div class="mobile-nav">
  <input type="checkbox" id="menuToggler" class="toggler__input" aria-controls="navigation" aria-pressed="false" />
  <nav class="nav-content" role="navigation">
    <a href="https://www.python.org/" class="nav-logo"><img src="../_static/py.svg" alt="Python logo"/></a>
    <div class="version_switcher_placeholder"></div>
    <form role="search" class="search" action="../search.html" method="get">
      <input placeholder="Quick search" aria-label="Quick search" type="search" name="q" id="search-field" />
      <input type="submit" value="Go"/>
    </form>
  </nav>
</div>
<div class="related" role="navigation" aria-label="Related">
  <h3>Navigation</h3>
  <ul>
    <li class="right"><a href="../genindex.html" title="General Index" accesskey="I">index</a></li>
    <li class="right"><a href="../py-modindex.html" title="Python Module Index">modules</a> |</li>
    <li class="right"><a href="mailbox.html" title="mailbox — Manipulate mailboxes in various formats" accesskey="N">next</a> |</li>
    <li><a href="https://www.python.org/">Python</a> &#187;</li>
    <li><a href="../index.html">3.12.2 Documentation</a> &#187;</li>
    <li class="nav-item nav-item-1"><a href="index.html">The Python Standard Library</a> &#187;</li>
    <li class="nav-item nav-item-2"><a href="netdata.html" accesskey="U">Internet Data Handling</a> &#187;</li>
  </ul>
</div>
<div class="document">
  <div class="documentwrapper">
    <div class="bodywrapper">
      <div class="body" role="main">
<section id="module-json">
<span id="json-json-encoder-and-decoder"></span><h1><a class="reference internal" href="#module-json" title="json: Encode and decode the JSON format."><code class="xref py py-mod docutils literal notranslate"><span class="pre">json</span></code></a> — JSON encoder and decoder<a class="headerlink" href="#module-json" title="Link to this heading">¶</a></h1>
<p><strong>Source code:</strong> <a class="reference external" href="https://github.com/python/cpython/tree/3.12/Lib/json/__init__.py">Lib/json/__init__.py</a></p>
<hr class="docutils" />
<p><a class="reference external" href="https://json.org">JSON (JavaScript Object Notation)</a>, specified by
<span class="target" id="index-0"></span><a class="rfc reference external" href="https://datatracker.ietf.org/doc/html/rfc7159.html"><strong>RFC 7159</strong></a> (which obsoletes <span class="target" id="index-1"></span><a class="rfc reference external" href="https://datatracker.ietf.org/doc/html/rfc4627.html"><strong>RFC 4627</strong></a>) and by
<a class="reference external" href="https://ecma-international.org/publications-and-standards/standards/ecma-404/">ECMA-404</a>,
is a lightweight data interchange format inspired by
<a class="reference external" href="https://en.wikipedia.org/wiki/JavaScript">JavaScript</a> object literal syntax
(although it is not a strict subset of JavaScript).</p>
<p><a class="reference internal" href="#module-json" title="json: Encode and decode the JSON format."><code class="xref py py-mod docutils literal notranslate"><span class="pre">json</span></code></a> exposes an API familiar to users of the standard library
<a class="reference internal" href="marshal.html#module-marshal" title="marshal: Convert Python objects to streams of bytes and back (with different constraints)."><code class="xref py py-mod docutils literal notranslate"><span class="pre">marshal</span></code></a> and <a class="reference internal" href="pickle.html#module-pickle" title="pickle: Convert Python objects to streams of bytes and back."><code class="xref py py-mod docutils literal notranslate"><span class="pre">pickle</span></code></a> modules.</p>
<p>Encoding basic Python object hierarchies:</p>
<div class="highlight-python3 notranslate"><div class="highlight"><pre><span></span><span class="gp">&gt;&gt;&gt; </span><span class="kn">import</span> <span class="nn">json</span>
<span class="gp">&gt;&gt;&gt; </span><span class="n">json</span><span class="o">.</span><span class="n">dumps</span><span class="p">([</span><span class="s1">&#39;foo&#39;</span><span class="p">,</span> <span class="p">{</span><span class="s1">&#39;bar&#39;</span><span class="p">:</span> <span class="p">(</span><span class="s1">&#39;baz&#39;</span><span class="p">,</span> <span class="kc">None</span><span class="p">,</span> <span class="mf">1.0</span><span class="p">,</span> <span class="mi">2</span><span class="p">)}])</span>
<span class="go">&#39;[&quot;foo&quot;, {&quot;bar&quot;: [&quot;baz&quot;, null, 1.0, 2]}]&#39;</span>
<span class="gp">&gt;&gt;&gt; </span><span class="nb">print</span><span class="p">(</span><span class="n">json</span><span class="o">.</span><span class="n">dumps</span><span class="p">(</span><span class="s2">&quot;</span><span class="se">\\&quot;</span><span class="s2">foo</span><span class="se">\\b</span><span class="s2">ar&quot;</span><span class="p">))</span>
<span class="go">&quot;\\&quot;foo\\bar&quot;</span>
</pre></div>
</div>
<p>Compact encoding:</p>
<div class="highlight-python3 notranslate"><div class="highlight"><pre><span></span><span class="gp">&gt;&gt;&gt; </span><span class="kn">import</span> <span class="nn">json</span>
<span class="gp">&gt;&gt;&gt; </span><span class="n">json</span><span class="o">.</span><span class="n">dumps</span><span class="p">([</span><span class="mi">1</span><span class="p">,</span> <span class="mi">2</span><span class="p">,</span> <span class="mi">3</span><span class="p">,</span> <span class="p">{</span><span class="s1">&#39;4&#39;</span><span class="p">:</span> <span class="mi">5</span><span class="p">,</span> <span class="s1">&#39;6&#39;</span><span class="p">:</span> <span class="mi">7</span><span class="p">}],</span> <span class="n">separators</span><span class="o">=</span><span class="p">(</span><span class="s1">&#39;,&#39;</span><span class="p">,</span> <span class="s1">&#39;:&#39;</span><span class="p">))</span>
<span class="go">&#39;[1,2,3,{&quot;4&quot;:5,&quot;6&quot;:7}]&#39;</span>
</pre></div>
</div>
<p>Use <a class="reference internal" href="#json.dump" title="json.dump"><code class="xref py py-func docutils literal notranslate"><span class="pre">json.dump()</span></code></a> to write to a file-like object and
<a class="reference internal" href="#json.load" title="json.load"><code class="xref py py-func docutils literal notranslate"><span class="pre">json.load()</span></code></a> to read one back; both take the same keyword arguments as their string counterparts.</p>
</section>
      </div>
    </div>
  </div>
  <div class="sphinxsidebar" role="navigation" aria-label="Main">
    <div class="sphinxsidebarwrapper">
      <h3><a href="../contents.html">Table of Contents</a></h3>
      <ul>
        <li><a class="reference internal" href="#">json — JSON encoder and decoder</a></li>
        <li><a class="reference internal" href="#basic-usage">Basic Usage</a></li>
        <li><a class="reference internal" href="#encoders-and-decoders">Encoders and Decoders</a></li>
      </ul>
      <h4>Previous topic</h4>
      <p class="topless"><a href="email.iterators.html" title="previous chapter">email.iterators: Iterators</a></p>
      <div role="note" aria-label="source link">
        <h3>This Page</h3>
        <ul class="this-page-menu">
          <li><a href="../bugs.html">Report a Bug</a></li>
          <li><a href="https://github.com/python/cpython/blob/main/Doc/library/json.rst" rel="nofollow">Show Source</a></li>
        </ul>
      </div>
    </div>
  </div>
</div>
<div class="footer">
  &copy; <a href="../copyright.html">Copyright</a> 2001-2024, Python Software Foundation.
  <br />
  This page is licensed under the Python Software Foundation License Version 2.
  <br />
  The Python Software Foundation is a non-profit corporation. <a href="https://www.python.org/psf/donations/">Please donate.</a>
  <br />
  Last updated on Mar 01, 2024 (19:32 UTC).
</div>
</body>
</html>
"""

PYTHON_DOCS_CODE = [
    """>>> import json
>>> json.dumps(['foo', {'bar': ('baz', None, 1.0, 2)}])
'["foo", {"bar": ["baz", null, 1.0, 2]}]'
>>> print(json.dumps("\\"foo\\bar"))
"\\"foo\\bar"
""",
    """>>> import json
>>> json.dumps([1, 2, 3, {'4': 5, '6': 7}], separators=(',', ':'))
'[1,2,3,{"4":5,"6":7}]'
""",
]

MAKE_MANUAL = """<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" "http://www.w3.org/TR/html4/loose.dtd">
<html>
<!-- This file documents the GNU make utility, which determines
automatically which pieces of a large program need to be recompiled,
and issues the commands to recompile them. -->
<head>
<title>Simple Makefile (GNU make)</title>
<meta name="description" content="Simple Makefile (GNU make)">
<meta name="keywords" content="Simple Makefile (GNU make)">
<meta name="Generator" content="makeinfo">
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<link href="index.html" rel="start" title="Top">
<link href="How-Make-Works.html" rel="next" title="How Make Works">
<link href="Rule-Introduction.html" rel="prev" title="Rule Introduction">
</head>
<body lang="en">
<div class="section-level-extent" id="Simple-Makefile">
<div class="nav-panel">
<p>
Next: <a href="How-Make-Works.html" accesskey="n" rel="next">How <code class="code">make</code> Processes a Makefile</a>, Previous: <a href="Rule-Introduction.html" accesskey="p" rel="prev">What a Rule Looks Like</a>, Up: <a href="Introduction.html" accesskey="u" rel="up">An Introduction to Makefiles</a> &nbsp; [<a href="index.html#SEC_Contents" title="Table of contents" rel="contents">Contents</a>][<a href="Concept-Index.html" title="Index" rel="index">Index</a>]</p>
</div>
<hr>
<h3 class="section" id="A-Simple-Makefile">2.2 A Simple Makefile</h3>
<a class="index-entry-id" id="index-makefile_002c-simple"></a>
<p>Here is a straightforward makefile that describes the way an
executable file called <code class="code">edit</code> depends on eight object files
which, in turn, depend on eight C source and three header files.
</p>
<p>In this example, all the C files include <samp class="file">defs.h</samp>, but only those
defining editing commands include <samp class="file">command.h</samp>, and only low
level files that change the editor buffer include <samp class="file">buffer.h</samp>.
</p>
<div class="example">
<pre class="example-preformatted">edit : main.o kbd.o command.o display.o \\
       insert.o search.o files.o utils.o
        cc -o edit main.o kbd.o command.o display.o \\
                   insert.o search.o files.o utils.o

main.o : main.c defs.h
        cc -c main.c
kbd.o : kbd.c defs.h command.h
        cc -c kbd.c
clean :
        rm edit main.o kbd.o command.o display.o \\
           insert.o search.o files.o utils.o
</pre></div>
<p>We split each long line into two lines using backslash/newline; this is
like using one long line, but is easier to read.
To use this makefile to create the executable file called <samp class="file">edit</samp>,
type:
</p>
<div class="example">
<pre class="example-preformatted">make
</pre></div>
<p>To use this makefile to delete the executable file and all the object
files from the directory, type:
</p>
<div class="example">
<pre class="example-preformatted">make clean
</pre></div>
</div>
<hr>
<div class="nav-panel">
<p>
Next: <a href="How-Make-Works.html">How <code class="code">make</code> Processes a Makefile</a>, Previous: <a href="Rule-Introduction.html">What a Rule Looks Like</a>, Up: <a href="Introduction.html">An Introduction to Makefiles</a> &nbsp; [<a href="index.html#SEC_Contents" title="Table of contents" rel="contents">Contents</a>][<a href="Concept-Index.html" title="Index" rel="index">Index</a>]</p>
</div>
</body>
</html>
"""

MAKE_MANUAL_CODE = [
    """edit : main.o kbd.o command.o display.o \\
       insert.o search.o files.o utils.o
        cc -o edit main.o kbd.o command.o display.o \\
                   insert.o search.o files.o utils.o

main.o : main.c defs.h
        cc -c main.c
kbd.o : kbd.c defs.h command.h
        cc -c kbd.c
clean :
        rm edit main.o kbd.o command.o display.o \\
           insert.o search.o files.o utils.o
""",
    "make\n",
    "make clean\n",
]

STACK_OVERFLOW = """<!DOCTYPE html>
<html itemscope itemtype="https://schema.org/QAPage" class="html__responsive" lang="en">
<head>
<title>python - What does the &quot;yield&quot; keyword do in Python? - Stack Overflow</title>
<meta charset="utf-8">
<link rel="canonical" href="https://stackoverflow.com/questions/231767/what-does-the-yield-keyword-do-in-python">
<meta property="og:type" content="website">
<meta property="og:site_name" content="Stack Overflow">
</head>
<body class="question-page unified-theme">
<div id="notify-container"></div>
<header class="s-topbar ps-fixed t0 l0 js-top-bar">
  <div class="s-topbar--container">
    <a href="https://stackoverflow.com" class="s-topbar--logo js-gps-track"><span class="-img _glyph">Stack Overflow</span></a>
    <ol class="s-navigation" role="presentation">
      <li><a href="https://stackoverflow.co/" class="s-navigation--item">About</a></li>
      <li><a href="https://stackoverflow.co/teams/" class="s-navigation--item">Products</a></li>
      <li><a href="https://stackoverflow.co/teams/" class="s-navigation--item">For Teams</a></li>
    </ol>
    <form id="search" role="search" action="/search" class="s-topbar--searchbar">
      <input name="q" type="text" role="combobox" placeholder="Search&#x2026;" maxlength="240" class="s-input">
    </form>
    <ol class="s-topbar--content">
      <li><a href="https://stackoverflow.com/users/login" class="s-topbar--item s-btn">Log in</a></li>
      <li><a href="https://stackoverflow.com/users/signup" class="s-topbar--item s-btn s-btn__primary">Sign up</a></li>
    </ol>
  </div>
</header>
<div class="container">
  <div id="left-sidebar" class="left-sidebar js-pinned-left-sidebar">
    <nav role="navigation">
      <ol class="nav-links">
        <li><a href="/" class="nav-links--link">Home</a></li>
        <li><a href="/questions" class="nav-links--link">Questions</a></li>
        <li><a href="/tags" class="nav-links--link">Tags</a></li>
        <li><a href="/users" class="nav-links--link">Users</a></li>
        <li><a href="/jobs/companies" class="nav-links--link">Companies</a></li>
      </ol>
    </nav>
  </div>
  <div id="content" class="snippet-hidden">
    <div itemprop="mainEntity" itemscope itemtype="https://schema.org/Question">
      <div id="question-header" class="d-flex sm:fd-column">
        <h1 itemprop="name" class="fs-headline1 ow-break-word mb8 flex--item fl1"><a href="/questions/231767/what-does-the-yield-keyword-do-in-python" class="question-hyperlink">What does the &quot;yield&quot; keyword do in Python?</a></h1>
      </div>
      <div class="d-flex fw-wrap pb8 mb16 bb bc-black-225">
        <div class="flex--item ws-nowrap mr16 mb8" title="2008-10-23 22:21:11Z">Asked <time itemprop="dateCreated" datetime="2008-10-23T22:21:11">15 years, 4 months ago</time></div>
        <div class="flex--item ws-nowrap mr16 mb8" title="Viewed 3,273,567 times">Viewed 3.3m times</div>
      </div>
      <div id="mainbar" role="main" aria-label="question and answers">
        <div class="question js-question" data-questionid="231767" id="question">
          <div class="post-layout">
            <div class="votecell post-layout--left">
              <div class="js-vote-count flex--item d-flex fd-column ai-center fc-theme-body-font fw-bold fs-subheading py4" itemprop="upvoteCount" data-value="13138">13138</div>
            </div>
            <div class="postcell post-layout--right">
              <div class="s-prose js-post-body" itemprop="text">
<p>What is the use of the <code>yield</code> keyword in Python? What does it do?</p>
<p>For example, I'm trying to understand this code<sup>1</sup>:</p>
<pre class="lang-py s-code-block"><code class="hljs language-python">def _get_child_candidates(self, distance, min_dist, max_dist):
    if self._leftchild and distance - max_dist &lt; self._median:
        yield self._leftchild
    if self._rightchild and distance + max_dist &gt;= self._median:
        yield self._rightchild
</code></pre>
<p>And this is the caller:</p>
<pre class="lang-py s-code-block"><code class="hljs language-python">result, candidates = [], [self]
while candidates:
    node = candidates.pop()
    distance = node._get_dist(obj)
    if distance &lt;= max_dist and distance &gt;= min_dist:
        result.extend(node._values)
    candidates.extend(node._get_child_candidates(distance, min_dist, max_dist))
return result
</code></pre>
<p>What happens when the method <code>_get_child_candidates</code> is called? Is a list returned? A single element? Is it called again? When will subsequent calls stop?</p>
              </div>
              <div class="post-taglist d-flex gs4 gsy fd-column">
                <ul class="ml0 list-ls-none js-post-tag-list-wrapper d-inline">
                  <li class="d-inline mr4 js-post-tag-list-item"><a href="/questions/tagged/python" class="post-tag" rel="tag">python</a></li>
                  <li class="d-inline mr4 js-post-tag-list-item"><a href="/questions/tagged/iterator" class="post-tag" rel="tag">iterator</a></li>
                  <li class="d-inline mr4 js-post-tag-list-item"><a href="/questions/tagged/generator" class="post-tag" rel="tag">generator</a></li>
                </ul>
              </div>
              <div class="comments js-comments-container">
                <ul class="comments-list js-comments-list">
                  <li class="comment js-comment"><div class="comment-body"><span class="comment-copy">The name is a pun on "yielding" control back to the caller.</span> &ndash; <a href="/users/1/a" class="comment-user">a_reader</a></div></li>
                </ul>
              </div>
            </div>
          </div>
        </div>
        <div id="answers">
          <h2 class="mb0" data-answercount="51">51 Answers</h2>
          <div id="answer-231855" class="answer js-answer accepted-answer" data-answerid="231855" itemprop="acceptedAnswer" itemscope itemtype="https://schema.org/Answer">
            <div class="js-vote-count" itemprop="upvoteCount" data-value="18306">18306</div>
            <div class="s-prose js-post-body" itemprop="text">
<p>To understand what <code>yield</code> does, you must understand what <em>generators</em> are. And before you can understand generators, you must understand <em>iterables</em>.</p>
<h2>Generators</h2>
<p>Generators are iterators, a kind of iterable <strong>you can only iterate over once</strong>. Generators do not store all the values in memory, <strong>they generate the values on the fly</strong>:</p>
<pre class="lang-py s-code-block"><code class="hljs language-python">&gt;&gt;&gt; mygenerator = (x*x for x in range(3))
&gt;&gt;&gt; for i in mygenerator:
...    print(i)
0
1
4
</code></pre>
<p>It is just the same except you used <code>()</code> instead of <code>[]</code>. BUT, you <strong>cannot</strong> perform <code>for i in mygenerator</code> a second time since generators can only be used once: they calculate 0, then forget about it and calculate 1, and end after calculating 4, one by one.</p>
            </div>
            <div class="user-info"><a href="/users/9951/e-satis">e-satis</a> answered Oct 23, 2008 at 22:48</div>
          </div>
          <div id="answer-237028" class="answer js-answer" data-answerid="237028" itemprop="suggestedAnswer" itemscope itemtype="https://schema.org/Answer">
            <div class="js-vote-count" itemprop="upvoteCount" data-value="2583">2583</div>
            <div class="s-prose js-post-body" itemprop="text">
<p>Think of it this way: an iterator is just a fancy sounding term for an object that has a <code>next()</code> method. So a yield-ed function ends up being something like this:</p>
<pre class="lang-py s-code-block"><code class="hljs language-python">def some_function():
    for i in xrange(4):
        yield i

for i in some_function():
    print i
</code></pre>
            </div>
            <div class="user-info"><a href="/users/20247/jason-baker">Jason Baker</a> answered Oct 25, 2008 at 21:22</div>
          </div>
        </div>
      </div>
      <div id="sidebar" class="show-votes" role="complementary" aria-label="sidebar">
        <div class="s-sidebarwidget s-sidebarwidget__yellow">
          <ul class="d-block p0 m0"><li class="s-sidebarwidget--header">The Overflow Blog</li>
            <li class="s-sidebarwidget--item"><a href="https://stackoverflow.blog/2024/03/01/">Where developers feel AI coding tools are working</a></li></ul>
        </div>
        <div id="hot-network-questions" class="module tex2jax_ignore">
          <h4><a href="https://stackexchange.com/questions?tab=hot" class="js-gps-track s-link s-link__inherit">Hot Network Questions</a></h4>
          <ul>
            <li><a href="https://math.stackexchange.com/questions/1/">Why is the sum of two odd numbers even?</a></li>
            <li><a href="https://cooking.stackexchange.com/questions/2/">How long can cooked rice sit out?</a></li>
          </ul>
        </div>
      </div>
    </div>
  </div>
</div>
<footer id="footer" class="site-footer js-footer" role="contentinfo">
  <nav class="site-footer--col"><h5 class="-title"><a href="https://stackoverflow.com">Stack Overflow</a></h5>
    <ul class="-list"><li><a href="/questions">Questions</a></li><li><a href="/help">Help</a></li></ul></nav>
  <p class="site-footer--copyright">Site design / logo &#169; 2024 Stack Exchange Inc; user contributions licensed under <a href="https://stackoverflow.com/help/licensing">CC BY-SA</a>.</p>
</footer>
<div id="onetrust-consent-sdk"><div id="onetrust-banner-sdk" class="otFlat" role="region" aria-label="Cookie banner">
  <div id="onetrust-policy-text">By clicking &#8220;Accept all cookies&#8221;, you agree Stack Exchange can store cookies on your device and disclose information in accordance with our <a href="https://stackoverflow.com/legal/cookie-policy">Cookie Policy</a>.</div>
  <button id="onetrust-accept-btn-handler">Accept all cookies</button> <button id="onetrust-reject-all-handler">Necessary cookies only</button>
</div></div>
</body>
</html>
"""

STACK_OVERFLOW_CODE = [
    """def _get_child_candidates(self, distance, min_dist, max_dist):
    if self._leftchild and distance - max_dist < self._median:
        yield self._leftchild
    if self._rightchild and distance + max_dist >= self._median:
        yield self._rightchild
""",
    """result, candidates = [], [self]
while candidates:
    node = candidates.pop()
    distance = node._get_dist(obj)
    if distance <= max_dist and distance >= min_dist:
        result.extend(node._values)
    candidates.extend(node._get_child_candidates(distance, min_dist, max_dist))
return result
""",
    """>>> mygenerator = (x*x for x in range(3))
>>> for i in mygenerator:
...    print(i)
0
1
4
""",
    """def some_function():
    for i in xrange(4):
        yield i

for i in some_function():
    print i
""",
]

BLOG_GENERATORS = """<!DOCTYPE html>
<html lang="en"><head>
  <meta charset="utf-8">
  <meta http-equiv="X-UA-Compatible" content="IE=edge">
  <meta name="viewport" content="width=device-width, initial-scale=1">
<!-- Begin Jekyll SEO tag v2.8.0 -->
<title>Lazy pipelines with Python generators | Ana’s notebook</title>
<meta name="generator" content="Jekyll v4.3.2" />
<meta property="og:title" content="Lazy pipelines with Python generators" />
<meta name="author" content="Ana Souza" />
<link rel="canonical" href="https://someone.github.io/blog/2023/05/14/python-generators.html" />
<meta property="og:type" content="article" />
<meta property="article:published_time" content="2023-05-14T09:00:00+00:00" />
<!-- End Jekyll SEO tag -->
<link rel="stylesheet" href="/blog/assets/main.css"><link type="application/atom+xml" rel="alternate" href="https://someone.github.io/blog/feed.xml" title="Ana’s notebook" /></head>
<body><header class="site-header" role="banner">
  <div class="wrapper"><a class="site-title" rel="author" href="/blog/">Ana’s notebook</a><nav class="site-nav">
        <input type="checkbox" id="nav-trigger" class="nav-trigger" />
        <div class="trigger"><a class="page-link" href="/blog/about/">About</a><a class="page-link" href="/blog/talks/">Talks</a></div>
      </nav></div>
</header>
<main class="page-content" aria-label="Content">
  <div class="wrapper">
    <article class="post h-entry" itemscope itemtype="http://schema.org/BlogPosting">
  <header class="post-header">
    <h1 class="post-title p-name" itemprop="name headline">Lazy pipelines with Python generators</h1>
    <p class="post-meta"><time class="dt-published" datetime="2023-05-14T09:00:00+00:00" itemprop="datePublished">May 14, 2023</time> • <span itemprop="author" itemscope itemtype="http://schema.org/Person"><span class="p-author h-card" itemprop="name">Ana Souza</span></span></p>
  </header>
  <div class="post-content e-content" itemprop="articleBody">
    <p>Last month a log-processing job of ours ran out of memory on a 40 GB file. The fix was not a bigger
machine: it was to stop building lists. This post walks through the rewrite, one generator at a time.</p>
<p>The old code read every line into a list, filtered it into a second list and parsed that into a third.
A generator function does the same work one item at a time, and chaining them gives a pipeline that holds
a single line in memory no matter how large the file is:</p>
<div class="language-python highlighter-rouge"><div class="highlight"><pre class="highlight"><code><span class="k">def</span> <span class="nf">read_lines</span><span class="p">(</span><span class="n">path</span><span class="p">):</span>
    <span class="k">with</span> <span class="nb">open</span><span class="p">(</span><span class="n">path</span><span class="p">)</span> <span class="k">as</span> <span class="n">f</span><span class="p">:</span>
        <span class="k">for</span> <span class="n">line</span> <span class="ow">in</span> <span class="n">f</span><span class="p">:</span>
            <span class="k">yield</span> <span class="n">line</span><span class="p">.</span><span class="n">rstrip</span><span class="p">(</span><span class="s">"</span><span class="se">\\n</span><span class="s">"</span><span class="p">)</span>


<span class="k">def</span> <span class="nf">errors</span><span class="p">(</span><span class="n">lines</span><span class="p">):</span>
    <span class="k">return</span> <span class="p">(</span><span class="n">line</span> <span class="k">for</span> <span class="n">line</span> <span class="ow">in</span> <span class="n">lines</span> <span class="k">if</span> <span class="s">" ERROR "</span> <span class="ow">in</span> <span class="n">line</span><span class="p">)</span>


<span class="k">for</span> <span class="n">line</span> <span class="ow">in</span> <span class="n">errors</span><span class="p">(</span><span class="n">read_lines</span><span class="p">(</span><span class="s">"app.log"</span><span class="p">)):</span>
    <span class="k">print</span><span class="p">(</span><span class="n">line</span><span class="p">)</span>
</code></pre></div></div>
<p>Nothing runs until the <code class="language-plaintext highlighter-rouge">for</code> loop asks for the first line. That laziness is the whole
trick, and it composes: <code class="language-plaintext highlighter-rouge">itertools.islice</code> gives you the first hundred errors without reading
the rest of the file.</p>
<p>Two caveats. A generator can be consumed only once, so a function that needs two passes should take a
path, not a generator. And exceptions surface where the value is pulled, not where the generator was
created, which makes tracebacks a little less obvious the first time you see one.</p>
  </div><a class="u-url" href="/blog/2023/05/14/python-generators.html" hidden></a>
</article>
  </div>
</main><footer class="site-footer h-card">
  <data class="u-url" href="/blog/"></data>
  <div class="wrapper">
    <div class="footer-col-wrapper">
      <div class="footer-col"><ul class="contact-list"><li class="p-name">Ana Souza</li></ul></div>
      <div class="footer-col"><ul class="social-media-list"><li><a href="https://github.com/someone"><span class="username">someone</span></a></li></ul></div>
      <div class="footer-col"><p>Notes on data engineering, Python and the occasional bread recipe.</p></div>
    </div>
  </div>
</footer>
</body>
</html>
"""

BLOG_GENERATORS_CODE = [
    """def read_lines(path):
    with open(path) as f:
        for line in f:
            yield line.rstrip("\\n")


def errors(lines):
    return (line for line in lines if " ERROR " in line)


for line in errors(read_lines("app.log")):
    print(line)
""",
]

BLOG_PROSE = """<!DOCTYPE html>
<html lang="en"><head>
  <meta charset="utf-8">
  <title>Naming things in a public API | Ana’s notebook</title>
  <meta name="generator" content="Jekyll v4.3.2" />
  <link rel="canonical" href="https://someone.github.io/blog/2023/09/02/naming-things.html" />
</head>
<body><header class="site-header" role="banner">
  <div class="wrapper"><a class="site-title" rel="author" href="/blog/">Ana’s notebook</a><nav class="site-nav">
        <div class="trigger"><a class="page-link" href="/blog/about/">About</a><a class="page-link" href="/blog/talks/">Talks</a></div>
      </nav></div>
</header>
<main class="page-content" aria-label="Content">
  <div class="wrapper">
    <article class="post h-entry">
  <header class="post-header">
    <h1 class="post-title p-name">Naming things in a public API</h1>
    <p class="post-meta"><time class="dt-published" datetime="2023-09-02T09:00:00+00:00">Sep 2, 2023</time></p>
  </header>
  <div class="post-content e-content">
    <p>When we opened our internal client library to other teams, the first bug reports were not about
behaviour at all. They were about names. A method called fetch that sometimes wrote to a cache, a flag
called strict that meant three different things depending on the module, a class named Manager that
managed nothing in particular.</p>
<p>The rule we settled on is boring: a function is named for what it returns, a procedure for what it
changes, and a boolean parameter for the state it turns on. If a keyword argument needs a paragraph of
documentation, it is probably two arguments, or a separate function. Deprecating a name costs one release
cycle with a warning; keeping a misleading one costs every new user an afternoon.</p>
<p>We also stopped abbreviating. Saving four characters in a type signature is not worth the question every
reviewer asks about what cfg, ctx and mgr stand for in this particular package, and the editor completes
the long name anyway.</p>
  </div>
</article>
  </div>
</main><footer class="site-footer h-card">
  <div class="wrapper"><p>Notes on data engineering, Python and the occasional bread recipe.</p></div>
</footer>
</body>
</html>
"""

PRODUCT = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>USB-C to USB-C Cable, 2 m, 100 W – Example Shop</title>
<meta name="description" content="Braided USB-C cable, 2 metres, 100 W power delivery, 10 Gbit/s data.">
<meta property="og:type" content="product">
<link rel="canonical" href="https://shop.example.com/product/usb-c-cable-2m">
<script type="application/ld+json">{"@context": "https://schema.org/", "@type": "Product", "name": "USB-C to USB-C Cable, 2 m, 100 W", "sku": "CBL-USBC-2M", "offers": {"@type": "Offer", "priceCurrency": "EUR", "price": "14.99", "availability": "https://schema.org/InStock"}}</script>
</head>
<body class="product-page">
<div class="announcement-bar">Free shipping on orders over €50 · 30-day returns</div>
<header class="site-header">
  <a class="logo" href="/">Example Shop</a>
  <nav class="main-menu"><a href="/c/cables">Cables</a> <a href="/c/chargers">Chargers</a> <a href="/c/audio">Audio</a> <a href="/c/deals">Deals</a></nav>
  <form class="search" action="/search"><input type="search" name="q" placeholder="Search products"></form>
  <a class="cart" href="/cart">Cart (0)</a>
</header>
<nav class="breadcrumbs"><a href="/">Home</a> › <a href="/c/cables">Cables</a> › <span>USB-C to USB-C Cable, 2 m</span></nav>
<main>
<div class="product" itemscope itemtype="https://schema.org/Product">
  <div class="gallery"><img src="/img/cbl-usbc-2m-1.jpg" alt="Braided black USB-C cable, coiled"></div>
  <div class="summary">
    <h1 itemprop="name">USB-C to USB-C Cable, 2 m, 100 W</h1>
    <div class="rating">★★★★☆ <a href="#reviews">4.6 out of 5 (1,284 reviews)</a></div>
    <p class="price"><span itemprop="price" content="14.99">€14.99</span> <del>€19.99</del></p>
    <p class="stock">In stock – ships within 24 hours</p>
    <form class="add-to-cart" action="/cart/add" method="post">
      <label>Colour <select name="colour"><option>Black</option><option>White</option></select></label>
      <label>Quantity <input type="number" name="qty" value="1" min="1"></label>
      <button type="submit">Add to cart</button>
    </form>
  </div>
  <section class="description">
    <h2>Description</h2>
    <p>A braided nylon cable with USB-C plugs on both ends, rated for 100 W power delivery (20 V, 5 A) and
    10 Gbit/s data. It charges laptops, tablets and phones at their full speed and carries a 4K display
    signal from a laptop to a monitor that accepts USB-C input.</p>
    <p>The aluminium connector housings are reinforced where the cable meets the plug, the part that usually
    frays first, and each cable is tested for 20,000 bends before it leaves the factory.</p>
  </section>
  <section class="specs">
    <h2>Specifications</h2>
    <table>
      <tr><th>Length</th><td>2 m</td></tr>
      <tr><th>Power</th><td>100 W (USB PD 3.0)</td></tr>
      <tr><th>Data</th><td>10 Gbit/s (USB 3.2 Gen 2)</td></tr>
      <tr><th>Video</th><td>4K at 60 Hz (DisplayPort Alt Mode)</td></tr>
      <tr><th>Warranty</th><td>2 years</td></tr>
    </table>
  </section>
  <section id="reviews" class="reviews">
    <h2>Customer reviews</h2>
    <div class="review"><p class="stars">★★★★★</p><p>Charges my laptop as fast as the original cable and it is long enough to reach the sofa.</p><p class="by">Marta, verified buyer</p></div>
    <div class="review"><p class="stars">★★★☆☆</p><p>Works, but the braiding is stiffer than I expected.</p><p class="by">Tom, verified buyer</p></div>
  </section>
</div>
</main>
<aside class="related-products"><h2>Customers also bought</h2>
  <ul><li><a href="/product/charger-65w">65 W GaN charger – €34.99</a></li><li><a href="/product/usb-c-hub">7-in-1 USB-C hub – €39.99</a></li></ul>
</aside>
<footer class="site-footer">
  <ul><li><a href="/help/shipping">Shipping</a></li><li><a href="/help/returns">Returns</a></li><li><a href="/legal/privacy">Privacy</a></li><li><a href="/legal/imprint">Imprint</a></li></ul>
  <p>© 2024 Example Shop GmbH. All prices include VAT.</p>
</footer>
<div class="cookie-consent" role="dialog">We use cookies to improve your shopping experience. <button>Accept</button> <button>Settings</button></div>
</body>
</html>
"""

NEWS = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>City council approves riverside park after two-year debate | The Riverton Gazette</title>
<meta property="og:type" content="article">
<meta property="article:section" content="Local">
<link rel="canonical" href="https://www.riverton-gazette.com/2024/03/12/city-council-approves-riverside-park">
</head>
<body>
<header class="masthead">
  <a class="brand" href="/">The Riverton Gazette</a>
  <nav><a href="/local">Local</a> <a href="/business">Business</a> <a href="/sports">Sports</a> <a href="/opinion">Opinion</a> <a href="/subscribe" class="cta">Subscribe</a></nav>
</header>
<main>
<article class="story">
  <h1>City council approves riverside park after two-year debate</h1>
  <p class="byline">By Helen Márquez · March 12, 2024</p>
  <p>The Riverton city council voted 7–2 on Tuesday night to turn the former freight yard along the river
  into a public park, ending a debate that had filled council meetings since the railway company sold the
  land in 2022.</p>
  <p>The plan adds eleven acres of lawn, a playground and a walking path that will connect the old town to
  the marina. Construction is expected to start in the autumn and to take about eighteen months, the parks
  department said.</p>
  <p>Opponents had argued that the site should be used for housing. “We need homes more than we need
  another lawn,” said councillor Dan Whitfield, who voted against the plan. Supporters pointed to a survey
  in which two thirds of residents asked for more green space near the centre.</p>
  <p>The park will be paid for by a state grant and by the sale of a smaller plot to a developer, who will
  build 120 apartments on the eastern edge of the site, a compromise reached in January.</p>
</article>
<aside class="most-read"><h2>Most read</h2><ol><li><a href="/2024/03/11/bridge-closure">Bridge closure extended to May</a></li><li><a href="/2024/03/10/high-school-wins">High school team wins regional title</a></li></ol></aside>
</main>
<footer><p>© 2024 The Riverton Gazette. <a href="/privacy">Privacy</a> · <a href="/terms">Terms</a> · <a href="/contact">Contact the newsroom</a></p></footer>
</body>
</html>
"""

FORUM_HIKING = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Best boots for wet spring hikes? - Gear - TrailTalk</title>
<meta name="generator" content="Discourse 3.2.0 - https://github.com/discourse/discourse version 3.2.0">
<link rel="canonical" href="https://forum.trailtalk.org/t/best-boots-for-wet-spring-hikes/4821">
</head>
<body>
<header class="d-header"><a href="/" class="title">TrailTalk</a> <a href="/login" class="login-button">Log In</a></header>
<div id="main-outlet" class="wrap">
  <h1><a href="/t/best-boots-for-wet-spring-hikes/4821">Best boots for wet spring hikes?</a></h1>
  <div class="topic-category"><a href="/c/gear/5">Gear</a></div>
  <div class="topic-body crawler-post" itemprop="mainEntity" itemscope itemtype="http://schema.org/DiscussionForumPosting">
    <div class="crawler-post-meta"><span class="creator" itemprop="author"><a href="/u/marnie"><span itemprop="name">marnie</span></a></span> <time datetime="2024-03-02T18:11:00Z">March 2, 2024, 6:11pm</time> <span class="post-count">#1</span></div>
    <div class="post" itemprop="text"><p>My old boots finally gave up after six years. Most of my hikes in April and May are on muddy
    forest trails with a few stream crossings. Is a waterproof membrane worth it, or do they just keep the
    water in once it gets over the top? Budget is around 180 dollars.</p></div>
  </div>
  <div class="topic-body crawler-post" itemprop="comment" itemscope itemtype="http://schema.org/Comment">
    <div class="crawler-post-meta"><span class="creator"><a href="/u/ridgewalker">ridgewalker</a></span> <time datetime="2024-03-02T19:40:00Z">March 2, 2024, 7:40pm</time> <span class="post-count">#2</span></div>
    <div class="post" itemprop="text"><p>For mud and shallow crossings I would take a membrane boot with a high cuff and wear gaiters.
    The membrane only fails you when water comes in over the top, and gaiters mostly solve that. Break them in
    on short walks first, a stiff new boot on a long wet day is a recipe for blisters.</p></div>
  </div>
  <div class="topic-body crawler-post" itemprop="comment" itemscope itemtype="http://schema.org/Comment">
    <div class="crawler-post-meta"><span class="creator"><a href="/u/lightpack">lightpack</a></span> <time datetime="2024-03-03T08:05:00Z">March 3, 2024, 8:05am</time> <span class="post-count">#3</span></div>
    <div class="post" itemprop="text"><p>Counterpoint: I hike in trail runners without any membrane and just accept wet feet. They dry
    in an hour once the trail climbs out of the valley, and wool socks stay warm when damp. Heavier boots
    that stay soaked all day were worse for me.</p></div>
  </div>
</div>
<footer class="noscript-footer-nav"><a href="/">Home</a> <a href="/categories">Categories</a> <a href="/guidelines">Guidelines</a> <a href="/tos">Terms of Service</a> <a href="/privacy">Privacy Policy</a></footer>
<p class="powered-by-link">Powered by <a href="https://www.discourse.org">Discourse</a>, best viewed with JavaScript enabled</p>
</body>
</html>
"""

BOILERPLATE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Example Org</title></head>
<body>
<header>
  <a class="logo" href="/">Example Org</a>
  <nav>
    <ul>
      <li><a href="/about">About us</a></li>
      <li><a href="/services">Services</a></li>
      <li><a href="/careers">Careers</a></li>
      <li><a href="/blog">Blog</a></li>
      <li><a href="/contact">Contact</a></li>
      <li><a href="/login">Log in</a></li>
    </ul>
  </nav>
</header>
<div id="cookie-banner" class="cookie-banner" role="dialog" aria-label="Cookie consent">
  <p>We use cookies and similar technologies to provide our services, to measure traffic and to show
  you relevant content. By clicking "Accept all" you consent to the use of all cookies. You can change your
  choice at any time in the cookie settings.</p>
  <button class="accept">Accept all</button> <button class="reject">Reject all</button> <a href="/cookie-settings">Cookie settings</a>
</div>
<footer>
  <nav class="footer-links">
    <a href="/privacy">Privacy policy</a> | <a href="/terms">Terms of use</a> | <a href="/imprint">Imprint</a> | <a href="/accessibility">Accessibility</a> | <a href="/sitemap">Sitemap</a>
  </nav>
  <p>© 2024 Example Org. All rights reserved. Follow us on <a href="https://twitter.com/example">Twitter</a>, <a href="https://www.linkedin.com/company/example">LinkedIn</a> and <a href="https://www.youtube.com/example">YouTube</a>.</p>
</footer>
</body>
</html>
"""

SHORT = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Thanks</title></head>
<body><main><h1>Thanks for subscribing!</h1><p>See you soon.</p></main></body>
</html>
"""

PAGES: list[dict] = [
    {"name": "python_docs", "url": "https://docs.python.org/3/library/json.html", "category": "documentation",
     "code_tags": True, "code_related": True, "code": PYTHON_DOCS_CODE, "html": PYTHON_DOCS},
    {"name": "make_manual", "url": "https://www.gnu.org/software/make/manual/html_node/Simple-Makefile.html",
     "category": "documentation", "code_tags": True, "code_related": True, "code": MAKE_MANUAL_CODE,
     "html": MAKE_MANUAL},
    {"name": "stackoverflow",
     "url": "https://stackoverflow.com/questions/231767/what-does-the-yield-keyword-do-in-python",
     "category": "forum", "code_tags": True, "code_related": True, "code": STACK_OVERFLOW_CODE,
     "html": STACK_OVERFLOW},
    {"name": "blog_generators", "url": "https://someone.github.io/blog/2023/05/14/python-generators.html",
     "category": "blog", "code_tags": True, "code_related": True, "code": BLOG_GENERATORS_CODE,
     "html": BLOG_GENERATORS},
    {"name": "blog_prose", "url": "https://someone.github.io/blog/2023/09/02/naming-things.html",
     "category": "blog", "code_tags": False, "code_related": True, "code": [], "html": BLOG_PROSE},
    {"name": "product", "url": "https://shop.example.com/product/usb-c-cable-2m", "category": "ecommerce",
     "code_tags": False, "code_related": False, "code": [], "html": PRODUCT},
    {"name": "news", "url": "https://www.riverton-gazette.com/2024/03/12/city-council-approves-riverside-park",
     # a dated article with og:type article: the category rules file news articles with blogs (article pages)
     "category": "blog", "code_tags": False, "code_related": False, "code": [], "html": NEWS},
    {"name": "forum_hiking", "url": "https://forum.trailtalk.org/t/best-boots-for-wet-spring-hikes/4821",
     "category": "forum", "code_tags": False, "code_related": False, "code": [], "html": FORUM_HIKING},
    {"name": "boilerplate", "url": "https://www.example.org/", "category": "other", "code_tags": False,
     "code_related": False, "code": [], "html": BOILERPLATE},
    {"name": "short", "url": "https://example.com/thanks", "category": "other", "code_tags": False,
     "code_related": False, "code": [], "html": SHORT},
]
