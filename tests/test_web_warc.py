"""WARC ingest primitives (seedlib/web/warc.py) and the embedded default (seedlib/web/embedded.py)."""

from __future__ import annotations

import collections
import gzip
import html
import io
import json
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from seedlib.config import load_config
from seedlib.sections import ConfigError
from seedlib.web import embedded
from seedlib.web.warc import Page, decode, iter_records, open_warc, resolve_inputs
from tests.web_pages import PAGES, PROBLEMS, malformed, page, truncate, write_warc

CONFIG = load_config({}, {})


def read(path: Path, max_body_bytes: int = 2_000_000, warc: str | None = None):
    """(pages, rows, counts) of one WARC file."""
    counts: collections.Counter = collections.Counter()
    with open(path, "rb") as f:
        items = list(iter_records(f, warc or str(path), max_body_bytes, counts))
    return [i for i in items if isinstance(i, Page)], [i for i in items if not isinstance(i, Page)], counts


def reasons(rows: list[dict]) -> dict[str, str]:
    return {r["url"]: r["reason"] for r in rows}


# ------------------------------------------------------------------------------------------- the pages


def test_page_set_declares_its_code_blocks_exactly():
    """Each page's `code` is the text of its <pre> blocks, in order (what the extractor must keep)."""
    assert {p["category"] for p in PAGES} == {"documentation", "forum", "blog", "other", "ecommerce"}
    for p in PAGES:
        blocks = [html.unescape(re.sub(r"<[^>]+>", "", b))
                  for b in re.findall(r"<pre[^>]*>(.*?)</pre>", p["html"], re.DOTALL)]
        assert blocks == p["code"], p["name"]
        assert p["code_tags"] == bool(re.search(r"<(pre|code)[\s>]", p["html"])), p["name"]


# ------------------------------------------------------------------------------------------- reading


@pytest.mark.parametrize("compressed", [True, False])
def test_pages_read_back_byte_for_byte(tmp_path, compressed):
    path = tmp_path / ("pages.warc.gz" if compressed else "pages.warc")
    placed = write_warc(path, PAGES, gzip=compressed)
    pages, rows, counts = read(path)
    assert rows == []
    assert counts == {"skipped_request": len(PAGES), "skipped_warcinfo": 1}
    assert [p.url for p in pages] == [p["url"] for p in PAGES]
    assert [p.body for p in pages] == [p["html"].encode() for p in PAGES]
    assert [(p.record_id, p.offset) for p in pages] == [(w["record_id"], w["offset"]) for w in placed]
    assert {(p.status, p.content_type, p.http_charset, p.warc) for p in pages} == {
        (200, "text/html", "utf-8", str(path))}
    assert path.read_bytes()[:2] == (b"\x1f\x8b" if compressed else b"WA")
    # the bytes are reproducible
    (tmp_path / "again").mkdir()
    again = tmp_path / "again" / path.name
    write_warc(again, PAGES, gzip=compressed)
    assert again.read_bytes() == path.read_bytes()


def test_records_that_are_not_pages(tmp_path):
    path = tmp_path / "mixed.warc.gz"
    write_warc(path, [
        page("https://a.example/ok"),
        {"url": "https://a.example/paper.pdf", "body": b"%PDF-1.7\n...", "content_type": "application/pdf"},
        {**page("https://a.example/missing"), "status": 404},
        {**page("https://a.example/moved"), "status": 301, "http_headers": [("Location", "/ok")]},
        {**page("https://a.example/again"), "record_type": "revisit"},
        {**page("https://a.example/big", words=400)},
        {**page("https://a.example/untyped"), "content_type": None},
        {"url": "https://a.example/data", "body": b'{"not": "html"}', "content_type": None},
        {**page("https://a.example/xhtml"), "content_type": "application/xhtml+xml"},
        {**page("https://a.example/resource"), "record_type": "resource"},
        {**page("https://a.example/meta"), "record_type": "metadata"},
    ])
    big = len(page("https://a.example/big", words=400)["html"])
    pages, rows, counts = read(path, max_body_bytes=big - 1)
    assert [p.url for p in pages] == ["https://a.example/ok", "https://a.example/untyped", "https://a.example/xhtml"]
    assert pages[1].content_type is None and pages[2].content_type == "application/xhtml+xml"
    assert reasons(rows) == {
        "https://a.example/paper.pdf": "not_html",
        "https://a.example/missing": "not_response",
        "https://a.example/moved": "not_response",
        "https://a.example/again": "not_response",
        "https://a.example/big": "too_large",
        "https://a.example/data": "not_html",
    }
    assert {r["stage"] for r in rows} == {"ingest"} and all(r["record_id"].startswith("<urn:uuid:") for r in rows)
    assert counts == {"skipped_request": 9, "skipped_warcinfo": 1, "skipped_resource": 1, "skipped_metadata": 1}


def test_http_encodings_are_undone(tmp_path):
    body = page("https://a.example/z")["html"].encode()
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 50]), body[i:i + 50]) for i in range(0, len(body), 50))
    path = tmp_path / "enc.warc.gz"
    write_warc(path, [
        {"url": "https://a.example/gz", "body": gzip.compress(body, mtime=0),
         "http_headers": [("Content-Encoding", "gzip")]},
        {"url": "https://a.example/chunked", "body": chunked + b"0\r\n\r\n",
         "http_headers": [("Transfer-Encoding", "chunked")]},
        {"url": "https://a.example/bad-gz", "body": b"\x1f\x8bnot gzip at all",
         "http_headers": [("Content-Encoding", "gzip")]},
    ])
    pages, rows, _ = read(path)
    assert [(p.url, p.body) for p in pages] == [("https://a.example/gz", body), ("https://a.example/chunked", body)]
    assert reasons(rows) == {"https://a.example/bad-gz": "malformed_record"}


@pytest.mark.parametrize("compressed", [True, False])
def test_truncated_file_keeps_the_pages_before_the_cut(tmp_path, compressed):
    path = tmp_path / "cut.warc.gz"
    placed = write_warc(path, [page(f"https://a.example/{i}", words=300) for i in range(3)], gzip=compressed)
    last = placed[-1]
    truncate(path, last["offset"] + (path.stat().st_size - last["offset"]) // 2)  # inside the last response
    pages, rows, _ = read(path)
    assert [p.url for p in pages] == ["https://a.example/0", "https://a.example/1"]
    assert rows == [{"url": "https://a.example/2", "record_id": last["record_id"], "warc": str(path),
                     "stage": "ingest", "reason": "truncated_warc", "duplicate_of": None}]


def test_file_cut_inside_a_gzip_header(tmp_path):
    """fastwarc alone stops silently here; the reader records the cut."""
    path = tmp_path / "cut.warc.gz"
    placed = write_warc(path, [page(f"https://a.example/{i}") for i in range(2)])
    truncate(path, placed[-1]["offset"] + 5)
    pages, rows, _ = read(path, warc="w")
    assert [p.url for p in pages] == ["https://a.example/0"]
    at = f"w#{placed[-1]['offset']}"
    assert [(r["url"], r["record_id"], r["reason"]) for r in rows] == [(at, at, "truncated_warc")]


@pytest.mark.parametrize("compressed", [True, False])
@pytest.mark.parametrize("problem", PROBLEMS)
def test_a_malformed_record_is_ledgered_and_reading_goes_on(tmp_path, compressed, problem):
    path = tmp_path / "bad.warc.gz"
    bad_url = "https://a.example/broken"
    write_warc(path, [page("https://a.example/before"), {"raw": malformed(bad_url, problem)},
                      page("https://a.example/after")], gzip=compressed)
    pages, rows, _ = read(path, warc="w")
    assert [p.url for p in pages] == ["https://a.example/before", "https://a.example/after"]
    assert [r["reason"] for r in rows] == ["malformed_record"]
    if problem == "no_record_id":
        assert rows[0]["url"] == bad_url and rows[0]["record_id"].startswith("w#")
    else:
        assert rows[0]["url"] == bad_url and rows[0]["record_id"].startswith("<urn:uuid:")


@pytest.mark.parametrize("compressed", [True, False])
def test_garbage_between_records(tmp_path, compressed):
    path = tmp_path / "junk.warc.gz"
    placed = write_warc(path, [page("https://a.example/before"), {"garbage": b"this is not a WARC record\r\n" * 4},
                               page("https://a.example/after"), {"garbage": b"\r\n\r\n"}], gzip=compressed)
    pages, rows, _ = read(path, warc="w")
    assert [p.url for p in pages] == ["https://a.example/before", "https://a.example/after"]
    at = f"w#{placed[1]['offset']}"
    assert [(r["url"], r["record_id"], r["reason"]) for r in rows] == [(at, at, "malformed_record")]


@pytest.mark.parametrize("compressed", [True, False])
def test_padding_between_records_is_not_a_record(tmp_path, compressed):
    path = tmp_path / "padded.warc.gz"
    write_warc(path, [{"garbage": b"\0\0\r\n"}, page("https://a.example/1"), {"garbage": b"\0" * 7},
                      page("https://a.example/2"), {"garbage": b"\r\n\0"}], gzip=compressed)
    pages, rows, _ = read(path)
    assert ([p.url for p in pages], rows) == (["https://a.example/1", "https://a.example/2"], [])


def test_corrupt_gzip_member(tmp_path):
    path = tmp_path / "corrupt.warc.gz"
    placed = write_warc(path, [page(f"https://a.example/{i}", words=200) for i in range(3)])
    data = bytearray(path.read_bytes())
    middle = placed[1]["offset"] + 40
    data[middle:middle + 30] = b"\xff" * 30
    path.write_bytes(bytes(data))
    pages, rows, _ = read(path, warc="w")
    assert [p.url for p in pages] == ["https://a.example/0", "https://a.example/2"]
    assert [r["reason"] for r in rows] == ["malformed_record"]


def _records(data: bytes, compressed: bool) -> list[tuple[int, int]]:
    """(start, end) of each gzip member, or of each record of a plain WARC."""
    if not compressed:
        starts = [m.start() for m in re.finditer(rb"WARC/1\.1\r\n", data)]
        return list(zip(starts, starts[1:] + [len(data)]))
    out, pos = [], 0
    while pos < len(data):
        z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        z.decompress(data[pos:])
        end = len(data) - len(z.unused_data)
        out.append((pos, end))
        pos = end
    return out


@pytest.mark.parametrize("compressed", [True, False])
def test_a_cut_anywhere_loses_nothing_silently(tmp_path, compressed):
    """Cut the file at many places: the pages wholly before the cut are kept, and a cut inside a record
    (or its gzip member) is exactly one truncated_warc row; nothing else."""
    whole = tmp_path / "whole.warc"
    placed = write_warc(whole, [page(f"https://a.example/{i}", words=80) for i in range(4)], gzip=compressed)
    data = whole.read_bytes()
    records = _records(data, compressed)
    assert len(records) == 1 + 2 * 4
    ends = {end for _, end in records}
    for cut in list(range(1, len(data), 89)) + sorted(ends):
        path = tmp_path / "cut.warc"
        path.write_bytes(data[:cut])
        pages, rows, _ = read(path, warc="w")
        whole_before = {start for start, end in records if end <= cut}
        assert [p.url for p in pages] == [w["url"] for w in placed if w["offset"] in whole_before], cut
        assert [r["reason"] for r in rows] == ([] if cut in ends else ["truncated_warc"]), cut


def test_io_errors_are_raised_not_ledgered(tmp_path):
    path = tmp_path / "ok.warc.gz"
    write_warc(path, [page(f"https://a.example/{i}") for i in range(2)])

    class Failing(io.BytesIO):
        def read(self, n=-1):
            raise OSError("connection reset")

    with pytest.raises(OSError, match="connection reset"):
        list(iter_records(Failing(path.read_bytes()), "w", 1000))


# ------------------------------------------------------------------------------------------------ text


def test_decode():
    assert decode("café".encode(), "utf-8") == "café"
    assert decode('<meta charset="windows-1251"><p>\xcf\xf0\xe8\xe2\xe5\xf2</p>'.encode("latin-1"), None) == \
        '<meta charset="windows-1251"><p>Привет</p>'
    meta = b'<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1"><p>caf\xe9</p>'
    assert decode(meta, None) == '<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1"><p>café</p>'
    # latin-1 as labelled: browsers read it as windows-1252 (0x93/0x94 are quotes) ...
    assert decode(b"\x93caf\xe9\x94", "iso-8859-1") == "\u201ccaf\u00e9\u201d"
    # ... and bytes windows-1252 leaves undefined are read as latin-1, as the label says
    assert decode(b"caf\xe9 \x81", "iso-8859-1") == "caf\u00e9 \x81"
    # the HTTP charset wins over <meta>; a byte-order mark over both
    assert decode('<meta charset="utf-8">é'.encode("cp1252"), "windows-1252") == '<meta charset="utf-8">é'
    assert decode(b"\xef\xbb\xbf<p>\xc3\xa9</p>", "iso-8859-1") == "<p>é</p>"
    # no label: UTF-8; an unknown label is ignored
    assert decode("naïve".encode(), None) == "naïve"
    assert decode("naïve".encode(), "x-no-such-charset") == "naïve"
    # not valid in the labelled encoding nor in the detected one: undecodable, never replacement characters
    assert decode(b"<p>\x81\x8d\x8f\x90\x9d</p>", None) is None
    assert decode(b"<html><p>caf\xc3\xa9 \x81\x9d broken \xe9\x81</p></html>", "utf-8") is None


# ---------------------------------------------------------------------------------------------- inputs


def test_resolve_inputs_paths_globs_and_listings(tmp_path, monkeypatch):
    crawl = tmp_path / "crawl"
    (crawl / "seg1").mkdir(parents=True)
    (crawl / "seg2").mkdir()
    files = [crawl / "seg1" / "a.warc.gz", crawl / "seg1" / "b.warc.gz", crawl / "seg2" / "c.warc.gz"]
    for f in files:
        write_warc(f, [page(f"https://a.example/{f.name}")])
    (crawl / "seg2" / "notes.txt").write_text("not a warc")
    monkeypatch.chdir(tmp_path)

    assert resolve_inputs([str(files[0])], "", CONFIG) == [str(files[0])]
    assert resolve_inputs([files[0].as_uri(), "crawl/seg1/a.warc.gz"], "", CONFIG) == [str(files[0])]
    assert resolve_inputs([str(crawl / "seg1" / "*.warc.gz")], "", CONFIG) == [str(files[0]), str(files[1])]
    assert resolve_inputs(["crawl/**/*.warc.gz", str(files[2])], "", CONFIG) == [str(f) for f in files]

    listing = tmp_path / "lists" / "warc.paths"
    listing.parent.mkdir()
    listing.write_text("seg1/b.warc.gz\n\nseg2/c.warc.gz\n")
    assert resolve_inputs([str(listing)], str(crawl), CONFIG) == [str(files[1]), str(files[2])]
    assert resolve_inputs([str(listing)], "s3://commoncrawl/", CONFIG) == [
        "s3://commoncrawl/seg1/b.warc.gz", "s3://commoncrawl/seg2/c.warc.gz"]
    local = crawl / "local.paths.gz"  # no base: the listing's own folder; absolute lines stay as they are
    local.write_bytes(gzip.compress(f"seg1/a.warc.gz\n{files[2]}\n".encode(), mtime=0))
    assert resolve_inputs([str(local)], "", CONFIG) == [str(files[0]), str(files[2])]


@pytest.mark.parametrize("spec, message", [
    ("nowhere/*.warc.gz", "matches no file"),
    ("missing.warc.gz", "no such file"),
    ("crawl", "is a folder"),
    ("empty.paths", "matches no file"),
    ("absent.paths", "cannot read the listing"),
    ("https://data.commoncrawl.org/x.warc.gz", "expected a local path"),
])
def test_resolve_inputs_errors_name_the_spec(tmp_path, monkeypatch, spec, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "crawl").mkdir()
    (tmp_path / "empty.paths").write_text("\n")
    with pytest.raises(ConfigError, match=re.escape(f"web_warcs: {spec}: ") + ".*" + message):
        resolve_inputs([spec], "", CONFIG)


def test_s3_globs_listings_and_streaming(tmp_path, s3_root):
    import boto3

    root, settings = s3_root
    bucket = root[len("s3://"):].split("/")[0]
    client = boto3.client("s3", endpoint_url=settings.endpoint_url, region_name="us-east-1")
    local = tmp_path / "x.warc.gz"
    write_warc(local, PAGES[:3])
    for key in ("crawl/seg1/a.warc.gz", "crawl/seg1/b.warc.gz", "crawl/seg2/c.warc.gz", "crawl/seg10/d.warc"):
        client.put_object(Bucket=bucket, Key=key, Body=local.read_bytes())
    client.put_object(Bucket=bucket, Key="lists/warc.paths", Body=b"crawl/seg1/a.warc.gz\ncrawl/seg2/c.warc.gz\n")
    config = load_config({"s3_endpoint_url": settings.endpoint_url}, {})
    s3 = f"s3://{bucket}"
    assert resolve_inputs([f"{s3}/crawl/seg1/*.warc.gz"], "", config) == [f"{s3}/crawl/seg1/a.warc.gz",
                                                                          f"{s3}/crawl/seg1/b.warc.gz"]
    assert resolve_inputs([f"{s3}/crawl/**/*.warc.gz"], "", config) == [
        f"{s3}/crawl/seg1/a.warc.gz", f"{s3}/crawl/seg1/b.warc.gz", f"{s3}/crawl/seg2/c.warc.gz"]
    assert resolve_inputs([f"{s3}/lists/warc.paths"], f"{s3}/", config) == [f"{s3}/crawl/seg1/a.warc.gz",
                                                                            f"{s3}/crawl/seg2/c.warc.gz"]
    assert resolve_inputs([f"{s3}/crawl/seg2/c.warc.gz"], "", config) == [f"{s3}/crawl/seg2/c.warc.gz"]
    with pytest.raises(ConfigError, match="no such file"):
        resolve_inputs([f"{s3}/crawl/seg3/x.warc.gz"], "", config)
    with pytest.raises(ConfigError, match="matches no file"):
        resolve_inputs([f"{s3}/other/*.warc.gz"], "", config)
    with pytest.raises(FileNotFoundError, match="no such object"):  # an ObjectNotFound, as for a local file
        open_warc(f"{s3}/crawl/seg3/x.warc.gz", config)
    uri = f"{s3}/crawl/seg2/c.warc.gz"
    stream = open_warc(uri, config)
    pages = [p for p in iter_records(stream, uri, 2_000_000) if isinstance(p, Page)]
    assert [p.body for p in pages] == [p["html"].encode() for p in PAGES[:3]]


# -------------------------------------------------------------------------------------------- embedded


@pytest.fixture(scope="module")
def embedded_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    return home, embedded.default_warcs(home)


def test_embedded_default_builds_pages_with_and_without_code(embedded_home):
    home, warcs = embedded_home
    folder = Path(warcs[0]).parent
    assert folder.parent == home / "web" and all(Path(w).parent == folder for w in warcs)
    manifest = json.loads((folder / "sources.json").read_text())
    pages, rows = [], []
    for w in warcs:
        p, r, _ = read(Path(w))
        pages += p
        rows += r
    assert rows == []
    assert len(pages) == manifest["pages"] and 250 <= len(pages) <= 650
    by_source = collections.Counter(Path(p.warc).name.rsplit("-", 1)[0] for p in pages)
    assert by_source == {s: v["pages"] for s, v in manifest["sources"].items() if v["pages"]}
    assert by_source["pydoc"] >= 150 and by_source["licences"] >= 20
    with_pre = [p for p in pages if b"<pre" in p.body]
    without = [p for p in pages if b"<pre" not in p.body and b"<code" not in p.body]
    assert len(with_pre) >= 50 and len(without) >= 100
    assert any(p.url == "http://localhost:7464/json.html" for p in pages)
    assert any(p.url == "http://localhost:7464/topic?key=for" and b"<pre>" in p.body for p in pages)
    assert all(p.url.startswith("file://") for p in pages if "/licences-" in p.warc)
    assert all(decode(p.body, p.http_charset) is not None for p in pages if p.http_charset)
    assert len({(p.url, p.record_id) for p in pages}) == len(pages)


def test_embedded_default_is_cached(embedded_home, monkeypatch):
    home, warcs = embedded_home

    def no_rebuild(*args):
        raise AssertionError("rebuilt although nothing changed")

    monkeypatch.setattr(embedded, "_build", no_rebuild)
    assert embedded.default_warcs(home) == warcs


SMALL = {"STDLIB_MODULES": ("json", "difflib"), "PACKAGE_MODULES": (), "LICENCE_CAP": 5, "SHARE_DOC_CAP": 5}


def test_embedded_default_rebuilds_when_inputs_change_and_is_reproducible(tmp_path, monkeypatch, embedded_home):
    """Other inputs, another folder; and another process (other hash seed, time zone, logging level, object
    addresses: difflib's page shows a function default's repr) writes the same bytes."""
    home, warcs = embedded_home
    for name, value in SMALL.items():
        monkeypatch.setattr(embedded, name, value)
    small = embedded.default_warcs(home)
    assert Path(small[0]).parent != Path(warcs[0]).parent
    script = ("import logging, sys; logging.basicConfig(level=logging.DEBUG, handlers=[logging.NullHandler()])\n"
              "from pathlib import Path\nfrom seedlib.web import embedded\n"
              f"for k, v in {SMALL!r}.items(): setattr(embedded, k, v)\n"
              "print('\\n'.join(embedded.default_warcs(Path(sys.argv[1]))))\n")
    env = {**os.environ, "PYTHONHASHSEED": "12345", "TZ": "Asia/Kolkata"}
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "elsewhere")], env=env,
                         cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True,
                         check=True).stdout.split()
    assert [Path(w).name for w in out] == [Path(w).name for w in small]
    assert [Path(w).read_bytes() for w in out] == [Path(w).read_bytes() for w in small]
