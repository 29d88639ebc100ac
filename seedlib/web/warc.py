"""WARC files in, HTML pages out: the ingest primitives of the web pipeline (docs/web.md).

Inputs. `resolve_inputs` turns `web_warcs` into WARC URIs: a local path or file:// URI, an s3://bucket/key
URI, a glob of either (`*`, `?`, `[...]` within a path segment, `**` across segments), or a Common Crawl
style listing (a file ending in `.paths` or `.paths.gz`, one path a line; relative lines are joined to
`web_warc_base`, or to the listing's own folder when that is empty). A spec that matches nothing or cannot
be read is a ConfigError naming it. `open_warc` opens one for streaming reads (a local file, or pyarrow's
S3 random-access file, which reads ranges on demand): no WARC is ever read into memory whole.

Records. `iter_records` reads one WARC file, gzip-compressed (one member per record as Common Crawl
writes them, or several records per member) or plain, with fastwarc's parser, and turns every record into
exactly one of:
- a `Page`: an HTTP response record, status 2xx, HTML by its Content-Type (text/html,
  application/xhtml+xml; without one, the body starts like HTML), body at most `max_body_bytes`, with the
  HTTP transfer and content encodings (chunked, gzip, deflate, br) undone;
- a row of the web ledger (`seedlib.ledger.drop_page`, stage "ingest"): `not_response` (a revisit, a
  response that is not HTTP, a status outside 2xx), `not_html`, `too_large` (the body is not kept),
  `malformed_record` (unparseable WARC or HTTP headers, a Content-Length that does not frame the record,
  corrupt compressed data, garbage between records) or `truncated_warc` (the file ends inside the record or
  its gzip member; reading that file stops there);
- a count in `counts` (`skipped_request`, `skipped_metadata`, `skipped_warcinfo`, `skipped_resource`, ...):
  records that are not pages.
Bad data inside a WARC never raises. Rows are keyed by the record's WARC-Target-URI and WARC-Record-ID;
where one is missing or unreadable, by `"<warc>#<offset>"` in its place. `Page.offset` is the byte offset
in the file where the record's gzip member starts (Common Crawl's index offset), or where the record starts
in a plain WARC.

Why the gzip members are read here, not by fastwarc. fastwarc decompresses a .warc.gz as one stream: on
a corrupt or cut member it raises (and the records after it are lost) or stops silently (a file cut inside
a gzip header). Decompressing member by member with zlib and handing each member's bytes to fastwarc as
its own stream gives every record its member's offset, tells a clean member end from a cut file (zlib's
end-of-stream and CRC check) and lets the reader skip a bad member and go on at the next one (the next
gzip header whose data starts with `WARC/`). In a plain WARC the same recovery resynchronises on the next
`WARC/1.x` line. What stays out of reach: in a file compressed as a single gzip member, a record whose
Content-Length is too large swallows the records after it in that member (they are inside its body).

How a record's framing is checked. fastwarc parses a record's header and reads Content-Length bytes; it
notices a wrong length only when the next record's header does not parse. So each record's outcome is
held back until the next record parsed (or its member ended exactly there): when the parse after it fails,
the held record is the one whose Content-Length was wrong and is ledgered as malformed_record, unless its
frame checks out (header + Content-Length + CRLFCRLF in the raw bytes of a plain WARC), in which case the
trouble starts after it. A record whose body ends before its Content-Length is cut (truncated_warc) when
nothing readable follows it, else malformed_record.

Text. `decode(body, http_charset)` turns a page's bytes into text, strictly: the HTTP charset, else a
<meta> charset in the first 4 KB, else UTF-8 (a byte-order mark wins over all three); when the bytes are
not valid in that encoding, resiliparse's detection gets one more strict try; None means undecodable.

Writing. `record`, `page_records`, `warcinfo` and `write_warc` write WARC/1.1 records with fastwarc's
writer (deterministic: fixed dates, record ids given by the caller, gzip members without a timestamp), for
the embedded default (seedlib/web/embedded.py) and the tests.
"""

from __future__ import annotations

import codecs
import collections
import dataclasses
import fnmatch
import glob
import gzip as gziplib
import io
import os
import re
import zlib
from typing import BinaryIO, Iterable, Iterator
from urllib.parse import unquote, urlsplit

from fastwarc.warc import ArchiveIterator, WarcRecord, WarcRecordType

from seedlib.ledger import drop_page
from seedlib.sections import ConfigError

__all__ = ["Page", "resolve_inputs", "open_warc", "iter_records", "decode", "record", "page_records",
           "warcinfo", "http_response", "write_warc", "record_uuid", "STAGE", "DATE"]

STAGE = "ingest"
KEY = "web_warcs"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
GZIP_MAGIC = b"\x1f\x8b\x08"
BLOCK = 8 << 20  # raw reads from the file (a range request each on S3)
STEP = 1 << 16  # what a gzip member decompresses at a time (members are ~20 KB in Common Crawl)
CHUNK = 1 << 20  # decompressed bytes handed to fastwarc and scanned at a time
HEADER_MAX = 32 << 10  # the longest WARC header block we look at (fastwarc's default max_header_len)
META_SCAN = 4096  # a <meta> charset counts in the first 4 KB (HTML5's prescan reads 1024 bytes; pages exceed it)
WHITESPACE = b" \t\r\n\x00"
_WILDCARD = re.compile(r"[*?\[]")
_DIGITS = re.compile(r"^[0-9]+$")
_HEX = re.compile(rb"^[0-9a-fA-F]+$")
_PLAIN_RECORD = re.compile(rb"\nWARC/1\.[01]\r?\n")
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_HTML_START = re.compile(rb"<!doctype\s+html|<html[\s>]", re.IGNORECASE)

MALFORMED, TRUNCATED = "malformed_record", "truncated_warc"
NOT_RESPONSE, NOT_HTML, TOO_LARGE = "not_response", "not_html", "too_large"


@dataclasses.dataclass(frozen=True)
class Page:
    """One HTML response: its body's bytes as served (transfer/content encodings undone), not decoded."""

    url: str
    record_id: str
    warc: str
    offset: int
    status: int
    content_type: str | None  # the HTTP Content-Type's media type, lower case; None when the header is absent
    body: bytes
    http_charset: str | None  # the charset parameter of the HTTP Content-Type


# ---------------------------------------------------------------------------------------------- inputs


def _s3_settings(config):
    from seedlib.storage import S3Settings

    return S3Settings(endpoint_url=config.s3.endpoint_url or None, region=config.s3.region,
                      max_attempts=config.s3.max_attempts)


def _s3(uri: str, config):
    """(storage of the bucket, key) of an s3://bucket/key URI."""
    from seedlib.storage import StorageError, open_storage

    bucket, _, key = uri[len("s3://"):].partition("/")
    try:
        return open_storage(f"s3://{bucket}", _s3_settings(config)), key
    except StorageError as e:
        raise ConfigError(f"{KEY}: {uri}: {e}") from e


def _local(spec: str) -> str:
    if spec.startswith("file://"):
        parts = urlsplit(spec)
        if parts.netloc not in ("", "localhost"):
            raise ConfigError(f"{KEY}: {spec}: a file:// URI must name a local path (file:///abs/path)")
        return unquote(parts.path)
    return os.path.expanduser(spec)


def _segments_match(pattern: list[str], key: list[str]) -> bool:
    """Glob matching by path segment, as glob.glob(recursive=True) does: `*` stays inside a segment,
    `**` spans any number of them."""
    if not pattern:
        return not key
    if pattern[0] == "**":
        return any(_segments_match(pattern[1:], key[i:]) for i in range(len(key) + 1))
    return bool(key) and fnmatch.fnmatchcase(key[0], pattern[0]) and _segments_match(pattern[1:], key[1:])


def _s3_glob(spec: str, config) -> list[str]:
    from seedlib.storage import StorageError

    storage, pattern = _s3(spec, config)
    literal = pattern[: _WILDCARD.search(pattern).start()]
    folder = literal.rsplit("/", 1)[0] if "/" in literal else ""  # listings have folder semantics
    try:
        keys = storage.list(folder)
    except StorageError as e:
        raise ConfigError(f"{KEY}: {spec}: cannot list s3://{storage.bucket}/{folder}: {e}") from e
    parts = pattern.split("/")
    return [f"s3://{storage.bucket}/{k}" for k in keys if _segments_match(parts, k.split("/"))]


def _read_listing(spec: str, config) -> bytes:
    from seedlib.storage import StorageError

    try:
        if spec.startswith("s3://"):
            storage, key = _s3(spec, config)
            data = storage.read_bytes(key)
        else:
            with open(_local(spec), "rb") as f:
                data = f.read()
    except (OSError, StorageError) as e:
        raise ConfigError(f"{KEY}: {spec}: cannot read the listing ({e})") from e
    if spec.endswith(".gz"):
        try:
            data = gziplib.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise ConfigError(f"{KEY}: {spec}: the listing is not valid gzip ({e})") from e
    return data


def _join(base: str, line: str) -> str:
    if base.startswith("s3://"):
        return base.rstrip("/") + "/" + line.lstrip("/")
    return os.path.abspath(os.path.join(_local(base), line))


def _listing(spec: str, base: str, config) -> list[str]:
    """The WARCs a *.paths(.gz) listing names; relative lines are joined to base or the listing's folder."""
    try:
        lines = _read_listing(spec, config).decode("utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise ConfigError(f"{KEY}: {spec}: the listing is not UTF-8 text ({e})") from e
    if not base:
        base = spec.rsplit("/", 1)[0] if spec.startswith("s3://") else os.path.dirname(os.path.abspath(_local(spec)))
    out = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "://" in line and not line.startswith(("s3://", "file://")):
            raise ConfigError(f"{KEY}: {spec}: line {number}: {line!r}: only local paths, file:// and s3:// "
                              "URIs are read (nothing is downloaded)")
        if line.startswith("s3://"):
            out.append(line)
        elif line.startswith("file://") or line.startswith("/"):
            out.append(os.path.abspath(_local(line)))
        else:
            out.append(_join(base, line))
    return out


def _one(spec: str, base: str, config) -> list[str]:
    from seedlib.storage import StorageError

    if "://" in spec and not spec.startswith(("s3://", "file://")):
        raise ConfigError(f"{KEY}: {spec}: expected a local path, file:// or s3:// URI, glob or *.paths listing")
    if spec.startswith("s3://") and not spec[len("s3://"):].partition("/")[2]:
        raise ConfigError(f"{KEY}: {spec}: expected s3://bucket/key (or a glob or listing under a bucket)")
    if spec.endswith((".paths", ".paths.gz")):
        return _listing(spec, base, config)
    if spec.startswith("s3://"):
        if _WILDCARD.search(spec):
            return _s3_glob(spec, config)
        storage, key = _s3(spec, config)
        try:
            found = storage.exists(key)
        except StorageError as e:
            raise ConfigError(f"{KEY}: {spec}: {e}") from e
        return [spec] if found else []
    path = _local(spec)
    if _WILDCARD.search(path):
        return [os.path.abspath(p) for p in glob.glob(path, recursive=True) if os.path.isfile(p)]
    if os.path.isdir(path):
        raise ConfigError(f"{KEY}: {spec}: is a folder; give its WARC files, e.g. {spec.rstrip('/')}/*.warc.gz")
    if not os.path.isfile(path):
        return []
    if not os.access(path, os.R_OK):
        raise ConfigError(f"{KEY}: {spec}: the file is not readable")
    return [os.path.abspath(path)]


def resolve_inputs(specs: list[str] | tuple[str, ...], base: str, config) -> list[str]:
    """The WARC URIs `specs` name (local ones as absolute paths), sorted and unique; ConfigError naming the
    first spec that matches nothing or cannot be read. The lines of a listing are not checked one by one (a
    Common Crawl listing names 90,000 files): one that does not exist fails when the stage opens it."""
    out: set[str] = set()
    for spec in specs:
        found = _one(spec, base, config)
        if not found:
            raise ConfigError(f"{KEY}: {spec}: matches no file" if _WILDCARD.search(spec) or spec.endswith(
                (".paths", ".paths.gz")) else f"{KEY}: {spec}: no such file")
        out.update(found)
    return sorted(out)


def open_warc(uri: str, config) -> BinaryIO:
    """A seekable binary stream over one WARC file (reads go to the file or S3 as they are made)."""
    if uri.startswith("s3://"):
        from seedlib.storage import ObjectNotFound, StorageError

        storage, key = _s3(uri, config)
        fs, root = storage.arrow_fs()
        try:
            return fs.open_input_file(f"{root}/{key}")
        except FileNotFoundError as e:  # ObjectNotFound is a FileNotFoundError too, as a missing local file's is
            raise ObjectNotFound(f"{KEY}: cannot open {uri}: no such object") from e
        except OSError as e:
            raise StorageError(f"{KEY}: cannot open {uri}: {e}") from e
    return open(_local(uri), "rb")


# ------------------------------------------------------------------------------------------- reading


class _Raw:
    """The file's bytes with absolute offsets, read in large blocks (one S3 range request each) and served
    in small slices; `unread` steps back over the tail of the last read (what a gzip member read past its
    end), which is always inside the current block."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._base = stream.tell()  # the file offset of the block
        self._block = b""
        self._at = 0
        self.error: Exception | None = None  # an I/O error reading the file: raised again, never taken for bad data

    def read(self, n: int = -1) -> bytes:
        n = BLOCK if n is None or n < 0 else n
        if self._at >= len(self._block):
            self._base += len(self._block)
            try:
                self._block, self._at = self._stream.read(BLOCK), 0
            except Exception as e:
                self.error = e
                raise
        out = self._block[self._at:self._at + n]
        self._at += len(out)
        return out

    def unread(self, n: int) -> None:
        if n > self._at:
            raise AssertionError("unread past the current block")
        self._at -= n

    def peek(self, n: int) -> bytes:
        data = self.read(n)
        self.unread(len(data))
        return data

    def tell(self) -> int:
        return self._base + self._at

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence != 0:
            raise OSError("only absolute seeks")
        if self._base <= offset <= self._base + len(self._block):
            self._at = offset - self._base
        else:
            self._stream.seek(offset)
            self._base, self._block, self._at = offset, b"", 0
        return offset

    def close(self) -> None:  # the caller owns the stream
        pass


OPEN, ENDED, CUT, CORRUPT = "open", "ended", "cut", "corrupt"


class _Member:
    """One gzip member's decompressed bytes, a stream for fastwarc. `state` at the end: ENDED (zlib saw the
    member's end and its CRC matched), CUT (the file ended first) or CORRUPT (bad compressed data)."""

    def __init__(self, raw: _Raw) -> None:
        self.raw, self.start = raw, raw.tell()
        self.state = OPEN
        self.head = bytearray()  # the first HEADER_MAX bytes: the first record's WARC header
        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._out = bytearray()
        self._pos = 0

    def _step(self) -> bool:
        if self.state != OPEN:
            return False
        data = self._z.unconsumed_tail or self.raw.read(STEP)
        if not data:
            self.state = CUT
            return False
        try:
            out = self._z.decompress(data, CHUNK)
        except zlib.error:
            self.state = CORRUPT
            return False
        if self._z.eof:
            self.raw.unread(len(self._z.unused_data))
            self.state = ENDED
        if len(self.head) < HEADER_MAX:
            self.head += out[: HEADER_MAX - len(self.head)]
        self._out += out
        return True

    def read(self, n: int = -1) -> bytes:
        n = CHUNK if n is None or n < 0 else n
        while len(self._out) < n and self._step():
            pass
        out = bytes(self._out[:n])
        del self._out[:n]
        self._pos += len(out)
        return out

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        raise OSError("a gzip member is read forward only")

    def close(self) -> None:
        pass

    def drain(self) -> bool:
        """Decompress to the member's end; True if bytes other than whitespace were left unread."""
        left = False
        while True:
            chunk = self.read(CHUNK)
            if not chunk:
                return left
            left = left or bool(chunk.strip(WHITESPACE))


def _parse_head(data: bytes) -> tuple[dict[str, str], int | None] | None:
    """A WARC header block's fields (complete lines only; names lower-cased) and its length including the
    blank line (None if the block is not terminated in `data`); None if `data` is not a WARC header."""
    if not data.startswith(b"WARC/"):
        return None
    fields: dict[str, str] = {}
    end = data.find(b"\r\n\r\n")
    block = data[: end if end >= 0 else data.rfind(b"\r\n")]
    for line in block.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep:
            fields.setdefault(name.strip().decode("latin-1").lower(), value.strip().decode("latin-1"))
    return fields, (end + 4 if end >= 0 else None)


def _frame_end(fields: dict[str, str], header_len: int | None, offset: int) -> int | None:
    length = fields.get("content-length", "")
    if header_len is None or not _DIGITS.match(length):
        return None
    return offset + header_len + int(length) + 4


_TYPE_NAMES = {int(WarcRecordType.warcinfo): "warcinfo", int(WarcRecordType.request): "request",
               int(WarcRecordType.metadata): "metadata", int(WarcRecordType.resource): "resource",
               int(WarcRecordType.conversion): "conversion", int(WarcRecordType.continuation): "continuation"}


@dataclasses.dataclass
class _Outcome:
    """What one record became: a Page, a ledger row, or a count name; `complete`: its whole block was read."""

    item: Page | dict | str
    complete: bool
    url: str
    record_id: str
    offset: int
    first: bool  # the first record of its gzip member (its header is the member's head)


class _Reader:
    def __init__(self, warc: str, max_body_bytes: int, counts: collections.Counter | None) -> None:
        self.warc, self.max_body = warc, max_body_bytes
        self.counts = counts if counts is not None else collections.Counter()

    def fallback(self, offset: int) -> str:
        return f"{self.warc}#{offset}"

    def row(self, url: str, record_id: str, reason: str) -> dict:
        return drop_page(url, record_id, self.warc, STAGE, reason)

    def keyed(self, head: tuple[dict[str, str], int | None] | None, offset: int, reason: str) -> dict:
        fields = head[0] if head else {}
        return self.row(fields.get("warc-target-uri") or self.fallback(offset),
                        fields.get("warc-record-id") or self.fallback(offset), reason)

    def emit(self, outcome: _Outcome) -> Iterator[Page | dict]:
        if isinstance(outcome.item, str):
            self.counts[outcome.item] += 1
        else:
            yield outcome.item

    def override(self, outcome: _Outcome, reason: str, head: bytes | None = None) -> dict:
        """The row for a record whose framing failed; keyed by its raw header when that is at hand (fastwarc
        keeps a cut header line as the value, the raw parse drops it)."""
        if head is not None:
            return self.keyed(_parse_head(head), outcome.offset, reason)
        return self.row(outcome.url, outcome.record_id, reason)

    # ---- one record

    def process(self, rec, offset: int, first: bool) -> _Outcome:
        h = rec.headers
        rid, uri = h.get("WARC-Record-ID"), h.get("WARC-Target-URI")
        url, record_id = uri or self.fallback(offset), rid or self.fallback(offset)

        def done(item, body_read: int = 0) -> _Outcome:
            rest = rec.reader.consume()
            complete = body_read + rest >= rec.content_length
            return _Outcome(item, complete, url, record_id, offset, first)

        def drop(reason: str) -> _Outcome:
            return done(self.row(url, record_id, reason))

        rtype = rec.record_type
        if not rid or not _DIGITS.match(h.get("Content-Length") or "") or rtype in (
                WarcRecordType.no_type, WarcRecordType.unknown) and not h.get("WARC-Type"):
            return drop(MALFORMED)
        if rtype not in (WarcRecordType.response, WarcRecordType.revisit):
            return done(f"skipped_{_TYPE_NAMES.get(int(rtype), 'unknown')}")
        if not uri:
            return drop(MALFORMED)
        if rtype == WarcRecordType.revisit or not rec.is_http:
            return drop(NOT_RESPONSE)
        status = rec.http_headers.status_code if rec.is_http_parsed else None
        if status is None:
            return drop(MALFORMED)
        if not 200 <= status < 300:
            return drop(NOT_RESPONSE)
        ctype = (rec.http_content_type or "").strip().lower() or None
        if ctype is not None and ctype not in HTML_TYPES:
            return drop(NOT_HTML)
        body = rec.reader.read(self.max_body + 1)
        if len(body) > self.max_body:
            return done(self.row(url, record_id, TOO_LARGE), len(body))
        decoded = _undo_encodings(body, rec.http_headers, self.max_body)
        if decoded is None:
            return done(self.row(url, record_id, MALFORMED), len(body))
        if decoded is TOO_LARGE:
            return done(self.row(url, record_id, TOO_LARGE), len(body))
        if ctype is None and not _HTML_START.search(decoded[:1024]):
            return done(self.row(url, record_id, NOT_HTML), len(body))
        page = Page(url=uri, record_id=rid, warc=self.warc, offset=offset, status=status, content_type=ctype,
                    body=decoded, http_charset=rec.http_charset)
        return done(page, len(body))

    # ---- gzip

    def gzip(self, raw: _Raw) -> Iterator[Page | dict]:
        while True:
            start = raw.tell()
            magic = raw.peek(3)
            if not magic:
                return
            if magic != GZIP_MAGIC:
                if len(magic) < 3 and GZIP_MAGIC.startswith(magic):
                    yield self.row(self.fallback(start), self.fallback(start), TRUNCATED)  # cut in a gzip header
                    return
                found = _skip_blank(raw, start)
                if found is None:
                    return
                if _read_at(raw, found, 3) == GZIP_MAGIC:  # padding between members
                    raw.seek(found)
                    continue
                nxt = _find_member(raw, found)
                yield self.row(self.fallback(found), self.fallback(found), MALFORMED)  # not a gzip member
                if nxt is None:
                    return
                raw.seek(nxt)
                continue
            member = _Member(raw)
            yield from self.member(member)
            if member.state == CUT:
                return
            if member.state == CORRUPT:
                nxt = _find_member(raw, start + 1)
                if nxt is None:
                    return
                raw.seek(nxt)

    def member(self, member: _Member) -> Iterator[Page | dict]:
        pending: _Outcome | None = None
        failed = False
        for rec in _records(member, member.raw):
            if rec is None:
                failed = True
                break
            outcome = self.process(rec, member.start, first=pending is None and rec.stream_pos == 0)
            if pending is not None:
                yield from self.emit(pending)
            pending = outcome
        failed = member.drain() or failed
        head = bytes(member.head)
        if member.state == CUT:
            if pending is not None and pending.complete and failed:
                # read whole, and what followed it in the member did not parse: that is the cut record
                yield from self.emit(pending)
                yield self.row(self.fallback(member.start), self.fallback(member.start), TRUNCATED)
            else:
                yield (self.override(pending, TRUNCATED, head if pending.first else None) if pending is not None
                       else self.keyed(_parse_head(head), member.start, TRUNCATED))
        elif member.state == CORRUPT or failed or (pending is not None and not pending.complete):
            yield (self.override(pending, MALFORMED, head if pending.first else None) if pending is not None
                   else self.keyed(_parse_head(head), member.start, MALFORMED))
        elif pending is not None:
            yield from self.emit(pending)

    # ---- plain

    def plain(self, raw: _Raw) -> Iterator[Page | dict]:
        segment = raw.tell()
        while True:
            raw.seek(segment)
            pending: _Outcome | None = None
            failed = False
            for rec in _records(raw, raw):
                if rec is None:
                    failed = True
                    break
                outcome = self.process(rec, rec.stream_pos, first=False)
                if pending is not None:
                    yield from self.emit(pending)
                pending = outcome
            bad = segment
            if pending is not None:
                head = _read_at(raw, pending.offset, HEADER_MAX)
                parsed = _parse_head(head)
                end = _frame_end(*parsed, pending.offset) if parsed else None
                if end is not None and _read_at(raw, end - 4, 4) != b"\r\n\r\n":
                    end = None
                if pending.complete and end is not None:
                    if not failed and _blank_to_end(raw, end):
                        yield from self.emit(pending)  # the clean end of the file
                        return
                    yield from self.emit(pending)  # it is sound: the trouble starts after it
                    bad = end
                else:  # its Content-Length does not frame it: cut if nothing readable follows, else malformed
                    nxt = _find_plain(raw, pending.offset + 1)
                    yield self.override(pending, MALFORMED if nxt is not None else TRUNCATED, head)
                    if nxt is None:
                        return
                    segment = nxt
                    continue
            bad = _skip_blank(raw, bad)
            if bad is None:
                return
            head = _read_at(raw, bad, HEADER_MAX)
            parsed = _parse_head(head)
            if bad != segment and parsed is not None:  # padding fastwarc stumbled on: start afresh after it
                segment = bad
                continue
            nxt = _find_plain(raw, bad + 1)
            reason = MALFORMED
            if nxt is None and parsed is not None:  # a WARC header at the end: cut if its frame passes the end
                end = _frame_end(*parsed, bad)
                reason = TRUNCATED if end is None or _read_at(raw, end - 4, 4) != b"\r\n\r\n" else MALFORMED
            elif nxt is None and b"WARC/".startswith(head):  # the file ends inside a record's first line
                reason = TRUNCATED
            yield self.keyed(parsed, bad, reason)
            if nxt is None:
                return
            segment = nxt


def _records(stream, raw: _Raw) -> Iterator[WarcRecord | None]:
    """fastwarc's records of `stream`; None (and the end) where fastwarc cannot parse on ("Invalid WARC
    header" and the like). An I/O error reading the file is raised, not taken for bad data."""
    records = iter(ArchiveIterator(stream, parse_http=True, stream_detect=False, auto_decode="none"))
    while True:
        try:
            rec = next(records)
        except StopIteration:
            return
        except Exception:
            if raw.error is not None:
                raise raw.error
            yield None
            return
        yield rec


def _read_at(raw: _Raw, offset: int, n: int) -> bytes:
    raw.seek(offset)
    out = b""
    while len(out) < n:  # reads stop at the end of a block
        chunk = raw.read(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


def _blank_to_end(raw: _Raw, offset: int) -> bool:
    return _skip_blank(raw, offset) is None


def _skip_blank(raw: _Raw, offset: int) -> int | None:
    """The offset of the first byte at or after `offset` that is not whitespace or NUL; None at the end."""
    raw.seek(offset)
    while True:
        chunk = raw.read(CHUNK)
        if not chunk:
            return None
        stripped = chunk.lstrip(WHITESPACE)
        if stripped:
            return offset + len(chunk) - len(stripped)
        offset += len(chunk)


def _scan(raw: _Raw, start: int, pattern: re.Pattern[bytes], overlap: int) -> Iterator[int]:
    """Offsets of the matches of `pattern` (at most `overlap` bytes long) at or after `start`, reading
    forward in chunks; the consumer may read elsewhere between two matches."""
    offset, carry = start, b""
    raw.seek(start)
    while True:
        chunk = raw.read(CHUNK)
        data = carry + chunk
        base = offset - len(carry)
        limit = len(data) - overlap if chunk else len(data)  # a match may continue into the next chunk
        for m in pattern.finditer(data):
            if m.start() >= limit:
                break
            yield base + m.start()
            raw.seek(offset + len(chunk))
        if not chunk:
            return
        offset += len(chunk)
        carry = data[max(limit, 0):]


def _find_member(raw: _Raw, start: int) -> int | None:
    """The next offset at or after `start` where a gzip member starts whose data begins with `WARC/`
    (or that the end of the file cuts short)."""
    for candidate in _scan(raw, start, re.compile(re.escape(GZIP_MAGIC)), len(GZIP_MAGIC)):
        data = _read_at(raw, candidate, STEP)
        z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = z.decompress(data, 16)
        except zlib.error:
            continue
        if out.startswith(b"WARC/") or (len(data) < STEP and not z.eof and b"WARC/".startswith(out)):
            return candidate
    return None


def _find_plain(raw: _Raw, start: int) -> int | None:
    """The next offset at or after `start` where a `WARC/1.0` or `WARC/1.1` line starts."""
    if start > 0:
        for offset in _scan(raw, start - 1, _PLAIN_RECORD, 16):
            return offset + 1
        return None
    return 0 if re.match(rb"WARC/1\.[01]\r?\n", _read_at(raw, 0, 16)) else _find_plain(raw, 1)


def iter_records(stream: BinaryIO, warc: str, max_body_bytes: int,
                 counts: collections.Counter | None = None) -> Iterator[Page | dict]:
    """Every record of one WARC file as a Page, a web-ledger row or a count in `counts` (see the module
    docstring); `warc` is the file's URI, for the rows and pages. `stream` must be seekable (open_warc's is):
    recovering from a bad record seeks. Never raises for bad data in the file; an I/O error reading it does."""
    raw = _Raw(stream)
    reader = _Reader(warc, max_body_bytes, counts)
    start = raw.tell()
    magic = raw.peek(5)
    if magic[:3] == GZIP_MAGIC or (GZIP_MAGIC.startswith(magic) and magic):
        yield from reader.gzip(raw)
    elif magic.startswith(b"WARC/") or not magic or _find_member(raw, start) is None:
        raw.seek(start)
        yield from reader.plain(raw)
    else:  # garbage, then gzip members
        raw.seek(start)
        yield from reader.gzip(raw)


# ----------------------------------------------------------------------------------- HTTP encodings


def _dechunk(body: bytes) -> bytes | None:
    """A chunked body's data; None if it is not validly chunked."""
    out, pos = bytearray(), 0
    while True:
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            return None
        size_text = body[pos:eol].split(b";", 1)[0].strip()  # a chunk extension follows ";"
        if not _HEX.match(size_text):
            return None
        size = int(size_text, 16)
        if size == 0:
            return bytes(out)
        start = eol + 2
        if start + size > len(body):
            return None
        out += body[start:start + size]
        pos = start + size
        if body[pos:pos + 2] == b"\r\n":
            pos += 2


def _inflate(data: bytes, kind: str, limit: int) -> bytes | str | None:
    """Undo one content coding; TOO_LARGE past `limit` bytes, None if the data is not in that coding."""
    if kind == "br":
        try:
            import brotli
        except ImportError:
            return None
        try:
            out = brotli.decompress(data)
        except brotli.error:
            return None
        return TOO_LARGE if len(out) > limit else out
    attempts = (16 + zlib.MAX_WBITS,) if kind in ("gzip", "x-gzip") else (zlib.MAX_WBITS, -zlib.MAX_WBITS)
    for wbits in attempts:  # "deflate" is zlib-wrapped by the standard, raw deflate by some servers
        z = zlib.decompressobj(wbits)
        try:
            out = z.decompress(data, limit + 1)
        except zlib.error:
            continue
        return TOO_LARGE if len(out) > limit else out
    return None


def _undo_encodings(body: bytes, http, limit: int) -> bytes | str | None:
    """The body with chunked transfer and gzip/deflate/br content codings undone. A coding whose data does
    not decode is ignored when the bytes already look like HTML (the WARC writer decoded them and kept the
    header), else None (malformed)."""
    out = body
    if "chunked" in (http.get("Transfer-Encoding") or "").lower():
        plain = _dechunk(out)
        if plain is None and not _HTML_START.search(out[:1024]):
            return None
        out = plain if plain is not None else out
    codings = [c.strip().lower() for c in (http.get("Content-Encoding") or "").split(",") if c.strip()]
    for coding in reversed(codings):
        if coding == "identity":
            continue
        if coding not in ("gzip", "x-gzip", "deflate", "br"):
            return out if _HTML_START.search(out[:1024]) else None
        inflated = _inflate(out, coding, limit)
        if inflated is None:
            if _HTML_START.search(out[:1024]):
                return out
            return None
        if inflated is TOO_LARGE:
            return TOO_LARGE
        out = inflated
    return out


# --------------------------------------------------------------------------------------------- text


def _codec(label: str | None) -> str | None:
    """A Python codec for a charset label, as browsers read labels (iso-8859-1 and ascii mean windows-1252);
    None for an unknown label."""
    if not label:
        return None
    from resiliparse.parse.encoding import map_encoding_to_html5

    label = label.strip().strip("\"'").lower()
    mapped = map_encoding_to_html5(label, fallback_utf8=False)
    for name in (mapped, label):
        if name:
            try:
                return codecs.lookup(name).name
            except LookupError:
                continue
    return None


def _strict(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def decode(body: bytes, http_charset: str | None) -> str | None:
    """The page's text, decoded strictly (no replacement characters ever); None when undecodable.

    A byte-order mark decides (HTML5). Else the HTTP charset, else a <meta charset> / http-equiv in the
    first 4 KB, else UTF-8. A label browsers read as windows-1252 (iso-8859-1, ascii) whose bytes are not
    valid windows-1252 (0x81, 0x8d, 0x8f, 0x90, 0x9d) is read as the label says, latin-1. When the bytes are
    not valid in the chosen encoding, resiliparse's detection gets one strict try.
    """
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                       (codecs.BOM_UTF16_BE, "utf-16-be")):
        if body.startswith(bom):
            return _strict(body[len(bom):], codec)
    chosen = _codec(http_charset)
    if chosen is None:
        m = _META_CHARSET.search(body[:META_SCAN])
        chosen = _codec(m.group(1).decode("ascii")) if m else None
        if chosen in ("utf_16_le", "utf_16_be", "utf_16"):  # a <meta> that ASCII can read is not UTF-16
            chosen = "utf-8"
    chosen = chosen or "utf-8"
    text = _strict(body, chosen)
    if text is None and chosen == "cp1252":
        text = _strict(body, "latin-1")
    if text is not None:
        return text
    from resiliparse.parse.encoding import detect_encoding

    detected = _codec(detect_encoding(body))
    if detected and detected != chosen:
        return _strict(body, detected)
    return None


# ------------------------------------------------------------------------------------------- writing

DATE = "2024-01-01T00:00:00Z"


def record(warc_type: str, record_id: str, block: bytes, headers: Iterable[tuple[str, str]] = (),
           date: str = DATE) -> bytes:
    """One WARC/1.1 record's bytes (fastwarc's writer; Content-Length and WARC-Block-Digest computed).
    `record_id` is a UUID string; the record's WARC-Record-ID is `<urn:uuid:ID>`."""
    rec = WarcRecord()
    rec.init_headers(getattr(WarcRecordType, warc_type), record_urn=f"uuid:{record_id}".encode(), content_length=0)
    rec.headers.set("WARC-Date", date)
    for name, value in headers:
        rec.headers.append(name, value)
    rec.set_bytes_content(block)
    out = io.BytesIO()
    rec.write(out, checksum_data=True)
    return out.getvalue()


def warcinfo(filename: str, record_id: str, date: str = DATE, software: str = "seed") -> bytes:
    fields = f"software: {software}\r\nformat: WARC File Format 1.1\r\n".encode()
    return record("warcinfo", record_id, fields, [("WARC-Filename", filename),
                                                  ("Content-Type", "application/warc-fields")], date)


def http_response(body: bytes, status: int = 200, content_type: str | None = "text/html; charset=utf-8",
                  extra: Iterable[tuple[str, str]] = ()) -> bytes:
    reasons = {200: "OK", 204: "No Content", 301: "Moved Permanently", 302: "Found", 304: "Not Modified",
               403: "Forbidden", 404: "Not Found", 500: "Internal Server Error"}
    lines = [f"HTTP/1.1 {status} {reasons.get(status, 'Status')}"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    lines += [f"{k}: {v}" for k, v in extra]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def page_records(url: str, http: bytes, ids: tuple[str, str], warcinfo_id: str | None = None,
                 date: str = DATE, record_type: str = "response") -> list[bytes]:
    """A request record and the response (or revisit) record of one capture, as Common Crawl writes them.
    `http` is the whole HTTP response (status line, headers, body); `ids` the request's and response's."""
    split = urlsplit(url)
    target = (split.path or "/") + (f"?{split.query}" if split.query else "")
    request = (f"GET {target} HTTP/1.1\r\nHost: {split.netloc}\r\nUser-Agent: seed-embedded\r\n"
               "Accept: text/html,application/xhtml+xml\r\n\r\n").encode("utf-8")
    common = [("WARC-Target-URI", url)] + ([("WARC-Warcinfo-ID", f"<urn:uuid:{warcinfo_id}>")] if warcinfo_id else [])
    out = [record("request", ids[0], request, common + [("Content-Type", "application/http; msgtype=request")], date)]
    extra = [("WARC-Concurrent-To", f"<urn:uuid:{ids[0]}>"), ("Content-Type", "application/http; msgtype=response")]
    if record_type == "revisit":
        extra.append(("WARC-Profile", "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"))
        http = http.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"  # a revisit keeps the headers only
    out.append(record(record_type, ids[1], http, common + extra, date))
    return out


def write_warc(path: str | os.PathLike, records: Iterable[bytes], gzip: bool = True) -> None:
    """Write records to a file: each its own gzip member (no timestamp, so the bytes are reproducible)
    when gzip, else concatenated as a plain WARC."""
    with open(path, "wb") as f:
        for data in records:
            f.write(gziplib.compress(data, compresslevel=6, mtime=0) if gzip else data)


def record_uuid(*parts: object) -> str:
    """A deterministic record id: uuid5 of the parts."""
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, "\x1f".join(str(p) for p in parts)))

