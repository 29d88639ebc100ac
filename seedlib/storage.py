"""One storage interface over a local directory (``file://``) and S3 (``s3://``).

Keys are '/'-separated strings relative to the root. Prefixes have directory semantics: ``list("x")``
returns keys under ``x/`` and never ``xy/...``. Reading a missing object raises :class:`ObjectNotFound`,
which is both a :class:`StorageError` and a :class:`FileNotFoundError`; every other failure is a
:class:`StorageError` whose message names the operation and the URI (never credentials).

Settings are passed in explicitly; S3 credentials come only from the standard AWS credential chain
(environment, config files, instance roles) and are never parameters.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any, Iterator
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from seedlib.sections import S3_MAX_ATTEMPTS, S3_REGION

__all__ = [
    "LocalStorage",
    "ObjectNotFound",
    "PublishConflict",
    "S3Settings",
    "S3Storage",
    "Storage",
    "StorageError",
    "open_storage",
]

# Fixed writer options: the same table always gives the same bytes (pyarrow writes no timestamps).
_PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "version": "2.6",
    "data_page_version": "1.0",
    "use_dictionary": True,
    "write_statistics": True,
    "write_page_index": False,
}
# Local temporary and lock files start with this; such names are hidden from listings and refused as keys.
_INTERNAL = ".~"
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ACCEPTED = "expected file:///abs/path, /abs/path or s3://bucket[/prefix]"


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str | None = None  # e.g. http://127.0.0.1:PORT for moto; None = AWS
    region: str = S3_REGION
    max_attempts: int = S3_MAX_ATTEMPTS  # total attempts for throttling (503 SlowDown, 429) and 5xx, with backoff
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0


class StorageError(Exception):
    """A storage operation failed; the message names the operation and the URI. `retry` is False when
    trying again cannot help (no such bucket, access denied, no credentials)."""

    def __init__(self, message: str, retry: bool = True):
        super().__init__(message)
        self.retry = retry


class ObjectNotFound(StorageError, FileNotFoundError):
    """The object does not exist (catchable as StorageError or FileNotFoundError)."""


class PublishConflict(StorageError):
    """put_if_version lost the compare-and-swap: the object is not at the expected version."""


def open_storage(root_uri: str, s3: S3Settings = S3Settings()) -> Storage:
    """Open ``file:///abs/path``, ``/abs/path`` or ``s3://bucket[/prefix]``."""
    if not isinstance(root_uri, str) or not root_uri:
        raise StorageError(f"unsupported storage root {root_uri!r}: {_ACCEPTED}")
    if root_uri.startswith("s3://"):
        bucket, _, prefix = root_uri[len("s3://") :].partition("/")
        prefix = prefix.strip("/")
        if not _BUCKET_RE.match(bucket) or (prefix and not _valid_key(prefix)):
            raise StorageError(f"invalid S3 storage root {root_uri!r}: {_ACCEPTED}")
        return S3Storage(bucket, prefix, s3)
    if root_uri.startswith("file://"):
        parts = urlsplit(root_uri)
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise StorageError(f"invalid file storage root {root_uri!r}: {_ACCEPTED}")
        return LocalStorage(unquote(parts.path))  # percent-escapes as Path.as_uri() writes them
    if root_uri.startswith("/"):
        return LocalStorage(root_uri)
    raise StorageError(f"unsupported storage root {root_uri!r}: {_ACCEPTED}")


# Settings for a quick reachability check: few attempts and short timeouts, so a wrong endpoint or
# missing credentials are reported in seconds rather than after minutes of retries.
PROBE_S3 = {"max_attempts": 2, "connect_timeout_s": 5.0, "read_timeout_s": 10.0}


def probe(storage: "Storage") -> None:
    """Write, read back and delete a small object under the root; StorageError naming what failed.

    `seed run` calls this before starting Airflow (open the storage with PROBE_S3 settings).
    """
    import uuid

    folder = f"_probe/{uuid.uuid4().hex}"
    key = f"{folder}/probe"
    data = b"seed storage probe\n"
    try:
        storage.check()
        storage.write_bytes(key, data)
        try:
            if storage.read_bytes(key) != data:
                raise StorageError(f"probe {storage.uri(key)}: read back other bytes than were written")
        finally:
            storage.delete_prefix(folder)
    except StorageError as e:
        raise StorageError(f"storage {storage.describe()} is not usable: {e}", retry=e.retry) from e


def _valid_key(key: str) -> bool:
    parts = key.split("/")
    return all(p and p not in (".", "..") and not p.startswith(_INTERNAL) for p in parts) and "\\" not in key


class Storage(abc.ABC):
    """The shared interface; subclasses implement the primitive operations."""

    root: str

    def uri(self, key: str) -> str:
        return f"{self.root}/{self._key(key)}"

    def describe(self) -> str:
        """The root, and for S3 the endpoint it is reached through (for error messages)."""
        return self.root

    def check(self) -> None:
        """A cheap, read-only check that the root can be used, raising StorageError (retry False for what
        trying again cannot mend) that says what is missing: for S3 that the bucket exists and that the
        credentials are accepted. A run's prepare step calls it before any stage starts; `probe` also
        writes. A local root needs nothing here (its folder is created on the first write)."""

    def read_json(self, key: str) -> Any:
        data = self.read_bytes(key)
        try:
            return json.loads(data.decode("utf-8"))
        except ValueError as e:
            raise StorageError(f"read_json {self.uri(key)}: not valid UTF-8 JSON ({e})") from e

    def write_json(self, key: str, obj: Any) -> None:
        self.write_bytes(key, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8"))

    def list_dirs(self, prefix: str = "") -> list[str]:
        """Names of the immediate child 'directories' under prefix that contain at least one key."""
        base = self._prefix(prefix)
        return sorted({k[len(base) :].split("/", 1)[0] for k in self.list(prefix) if "/" in k[len(base) :]})

    def write_parquet(self, key: str, table: pa.Table) -> None:
        """Serialise in memory with fixed options, then write one object atomically."""
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, **_PARQUET_OPTIONS)
        self.write_bytes(key, sink.getvalue().to_pybytes())

    def read_parquet(self, keys: list[str], columns: list[str] | None = None) -> pa.Table:
        """Read the objects through pyarrow.fs (so only the requested columns are fetched), in order."""
        if not keys:
            raise StorageError(f"read_parquet under {self.root}: no keys given")
        fs, base = self.arrow_fs()
        tables = []
        for key in keys:
            path = f"{base}/{self._key(key)}"
            try:
                with fs.open_input_file(path) as f:
                    tables.append(pq.read_table(f, columns=columns))
            except FileNotFoundError as e:
                raise ObjectNotFound(f"read_parquet {self.uri(key)}: not found") from e
            except (OSError, pa.ArrowException) as e:  # S3/I-O failures (after retries), bad files, bad columns
                raise StorageError(f"read_parquet {self.uri(key)} failed: {e}") from e
        return pa.concat_tables(tables)

    def parquet_schema(self, key: str) -> pa.Schema:
        """The schema of one Parquet object, from its footer."""
        fs, base = self.arrow_fs()
        try:
            with fs.open_input_file(f"{base}/{self._key(key)}") as f:
                return pq.read_schema(f)
        except FileNotFoundError as e:
            raise ObjectNotFound(f"parquet_schema {self.uri(key)}: not found") from e
        except (OSError, pa.ArrowException) as e:
            raise StorageError(f"parquet_schema {self.uri(key)} failed: {e}") from e

    @staticmethod
    def _key(key: str) -> str:
        if not isinstance(key, str) or not _valid_key(key):
            raise StorageError(
                f"invalid key {key!r}: keys are non-empty '/'-separated names relative to the root "
                f"(no leading '/', no '.', '..' or empty segments, no names starting with {_INTERNAL!r})"
            )
        return key

    @classmethod
    def _prefix(cls, prefix: str) -> str:
        """'' for the root, else 'a/b/' (directory semantics)."""
        prefix = prefix.rstrip("/")
        return f"{cls._key(prefix)}/" if prefix else ""

    # The primitives each backend implements.
    @abc.abstractmethod
    def exists(self, key: str) -> bool:
        """True if an object (not a directory) exists at key."""

    @abc.abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """The object's bytes; ObjectNotFound if absent."""

    @abc.abstractmethod
    def write_bytes(self, key: str, data: bytes) -> None:
        """Create or replace the object atomically (readers see the old or the new bytes, never a mix)."""

    @abc.abstractmethod
    def list(self, prefix: str = "") -> list[str]:
        """All keys under prefix, recursive, sorted, relative to the root."""

    @abc.abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Delete every key under prefix (not '': the root is never deleted); return how many."""

    @abc.abstractmethod
    def arrow_fs(self) -> tuple[pafs.FileSystem, str]:
        """A pyarrow filesystem and the base path of the root in it: key k is at f"{base}/{k}"."""

    @abc.abstractmethod
    def version(self, key: str) -> str | None:
        """An opaque change token of the object, None if absent."""

    @abc.abstractmethod
    def put_if_version(self, key: str, data: bytes, expected: str | None) -> None:
        """Write only if the object is at version expected (None: only if absent); else PublishConflict."""


class LocalStorage(Storage):
    """A directory. Writes go to a temporary file in the same directory, then os.replace.

    root and uri() are "file://" + the plain absolute path (not percent-encoded).
    """

    def __init__(self, path: str) -> None:
        self.path = os.path.normpath(path)
        self.root = "file://" + self.path.rstrip("/")

    def _path(self, key: str) -> str:
        return os.path.join(self.path, *self._key(key).split("/"))

    def local_path(self, prefix: str) -> str:
        """The folder a key prefix is on this machine (a model folder is loaded in place)."""
        return os.path.join(self.path, *self._key(prefix).split("/"))

    @contextlib.contextmanager
    def _errors(self, op: str, key: str) -> Iterator[None]:
        try:
            yield
        except StorageError:
            raise
        except FileNotFoundError as e:
            raise ObjectNotFound(f"{op} {self.uri(key)}: not found") from e
        except OSError as e:
            raise StorageError(f"{op} {self.uri(key)} failed: {e.strerror or e}") from e

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._path(key))

    def read_bytes(self, key: str) -> bytes:
        with self._errors("read", key), open(self._path(key), "rb") as f:
            return f.read()

    def write_bytes(self, key: str, data: bytes) -> None:
        with self._errors("write", key):
            self._write_atomic(self._path(key), data)

    @staticmethod
    def _write_atomic(path: str, data: bytes) -> None:
        directory = os.path.dirname(path)
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=_INTERNAL + "tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)  # mkstemp creates 0600
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def list(self, prefix: str = "") -> list[str]:
        base = self._prefix(prefix)
        top = os.path.join(self.path, *base.split("/")) if base else self.path
        keys = []
        for dirpath, dirnames, filenames in os.walk(top):
            rel = os.path.relpath(dirpath, self.path).replace(os.sep, "/")
            rel = "" if rel == "." else rel + "/"
            dirnames[:] = [d for d in dirnames if not d.startswith(_INTERNAL)]
            keys.extend(rel + name for name in filenames if not name.startswith(_INTERNAL))
        return sorted(keys)

    def delete_prefix(self, prefix: str) -> int:
        if not prefix.strip("/"):
            raise StorageError(f"delete_prefix under {self.root}: refusing to delete the whole root")
        keys = self.list(prefix)
        path = self._path(prefix.rstrip("/"))
        with self._errors("delete_prefix", prefix.rstrip("/")):
            if os.path.isdir(path):
                shutil.rmtree(path)
        return len(keys)

    def arrow_fs(self) -> tuple[pafs.FileSystem, str]:
        return pafs.LocalFileSystem(), self.path

    def version(self, key: str) -> str | None:
        try:
            with open(self._path(key), "rb") as f:
                return hashlib.file_digest(f, "sha256").hexdigest()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def put_if_version(self, key: str, data: bytes, expected: str | None) -> None:
        """Compare-and-swap under an O_EXCL lock file beside the key (held only for compare + replace)."""
        path = self._path(key)
        lock = os.path.join(os.path.dirname(path), f"{_INTERNAL}{os.path.basename(path)}.lock")
        with self._errors("put_if_version", key):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            try:
                os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            except FileExistsError:
                raise PublishConflict(
                    f"put_if_version {self.uri(key)}: another writer holds the lock {lock} "
                    "(if no writer is running, it was left by a crash and can be removed)"
                ) from None
            try:
                current = self.version(key)
                if current != expected:
                    raise PublishConflict(
                        f"put_if_version {self.uri(key)}: lost the compare-and-swap, the object is not at "
                    f"version {expected!r} (found {current!r})"
                    )
                self._write_atomic(path, data)
            finally:
                os.unlink(lock)


class S3Storage(Storage):
    """A bucket and prefix. Object operations use boto3; Parquet reads use pyarrow's S3FileSystem."""

    def __init__(self, bucket: str, prefix: str, settings: S3Settings) -> None:
        import boto3  # boto3 is only needed for S3 roots
        from botocore.config import Config

        self.bucket, self.prefix, self.settings = bucket, prefix, settings
        self.root = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
        config = Config(
            region_name=settings.region,
            # total_max_attempts counts the first try, as pyarrow's max_attempts does
            # (botocore's "max_attempts" would count only the retries)
            retries={"total_max_attempts": settings.max_attempts, "mode": "standard"},
            connect_timeout=settings.connect_timeout_s,
            read_timeout=settings.read_timeout_s,
            s3={"addressing_style": "path"} if settings.endpoint_url else None,
        )
        self.client = boto3.session.Session().client("s3", endpoint_url=settings.endpoint_url, config=config)
        self._arrow_fs: pafs.S3FileSystem | None = None

    def describe(self) -> str:
        return f"{self.root} (endpoint {self._endpoint()})"

    def _object(self, key: str) -> str:
        key = self._key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _list_prefix(self, prefix: str) -> str:
        base = self._prefix(prefix)
        return f"{self.prefix}/{base}" if self.prefix else base

    @contextlib.contextmanager
    def _errors(self, op: str, uri: str, conflict: str | None = None) -> Iterator[None]:
        """botocore failures (after its retries) -> StorageError with the error code, never credentials.

        With conflict (a message), a failed condition of a conditional write becomes PublishConflict:
        412 PreconditionFailed (condition false), 409 ConditionalRequestConflict (a concurrent conditional
        write won), 404 NoSuchKey (If-Match on an absent object).
        """
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as e:
            code, status = _client_error(e)
            if conflict and code in ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "404"):
                raise PublishConflict(f"{conflict} ({code})") from e
            if code == "NoSuchBucket":
                raise StorageError(f"{op} {uri} failed: {self._no_bucket()}", retry=False) from e
            if code in ("NoSuchKey", "404", "NotFound"):
                raise ObjectNotFound(f"{op} {uri}: not found") from e
            if code in _REFUSED:
                raise StorageError(f"{op} {uri} failed: {self._refused(code)}", retry=False) from e
            raise StorageError(f"{op} {uri} failed: {code} (HTTP {status})") from e
        except BotoCoreError as e:  # connection errors, timeouts, missing credentials
            from botocore.exceptions import NoCredentialsError, PartialCredentialsError

            permanent = isinstance(e, (NoCredentialsError, PartialCredentialsError))
            raise StorageError(f"{op} {uri} failed: {self._explain(e)}", retry=not permanent) from e

    def check(self) -> None:
        """One LIST of at most one key under the prefix: S3 answers it with NoSuchBucket for a missing
        bucket and with the credential error codes (InvalidAccessKeyId, SignatureDoesNotMatch,
        AccessDenied) in the body, where a HEAD of the bucket only says 403 or 404."""
        with self._errors("check", self.root):
            self.client.list_objects_v2(Bucket=self.bucket, Prefix=self._list_prefix(""), MaxKeys=1)

    def _endpoint(self) -> str:
        return self.settings.endpoint_url or self.client.meta.endpoint_url

    def _no_bucket(self) -> str:
        return f"bucket {self.bucket} does not exist at {self._endpoint()}"

    def _refused(self, code: str) -> str:
        what = {"InvalidAccessKeyId": "the access key id is unknown there",
                "SignatureDoesNotMatch": "the secret key does not match the access key id",
                "AccessDenied": "these credentials are not allowed this operation on it"}.get(code, "access denied")
        return (f"S3 refused the credentials for bucket {self.bucket} ({code}) at {self._endpoint()}: {what}; "
                "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the instance role")

    def _explain(self, e: Exception) -> str:
        """A botocore failure in words a user can act on (never credentials)."""
        from botocore.exceptions import (ConnectTimeoutError, EndpointConnectionError, NoCredentialsError,
                                         PartialCredentialsError, ReadTimeoutError)

        endpoint = self._endpoint()
        if isinstance(e, NoCredentialsError):
            return ("no credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, "
                    "or use an instance role)")
        if isinstance(e, PartialCredentialsError):
            return f"incomplete credentials: {e}"
        if isinstance(e, ConnectTimeoutError):
            return f"could not connect to {endpoint} (timed out)"
        if isinstance(e, EndpointConnectionError):
            return f"could not connect to {endpoint}"
        if isinstance(e, ReadTimeoutError):
            return f"{endpoint} did not answer in time"
        return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"

    def exists(self, key: str) -> bool:
        return self.version(key) is not None

    def read_bytes(self, key: str) -> bytes:
        with self._errors("read", self.uri(key)):
            return self.client.get_object(Bucket=self.bucket, Key=self._object(key))["Body"].read()

    def write_bytes(self, key: str, data: bytes) -> None:
        with self._errors("write", self.uri(key)):  # one PUT: the object appears whole or not at all
            self.client.put_object(Bucket=self.bucket, Key=self._object(key), Body=data)

    def _iter_pages(self, op: str, prefix: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        uri = f"{self.root}/{self._prefix(prefix)}"
        with self._errors(op, uri):
            paginator = self.client.get_paginator("list_objects_v2")
            yield from paginator.paginate(Bucket=self.bucket, Prefix=self._list_prefix(prefix), **kwargs)

    def list(self, prefix: str = "") -> list[str]:
        strip = len(self.prefix) + 1 if self.prefix else 0
        keys = [o["Key"][strip:] for page in self._iter_pages("list", prefix) for o in page.get("Contents", [])]
        return sorted(keys)

    def list_dirs(self, prefix: str = "") -> list[str]:
        full = self._list_prefix(prefix)
        pages = self._iter_pages("list_dirs", prefix, Delimiter="/")
        names = (p["Prefix"][len(full) :].rstrip("/") for page in pages for p in page.get("CommonPrefixes", []))
        return sorted(names)

    def delete_prefix(self, prefix: str) -> int:
        if not prefix.strip("/"):
            raise StorageError(f"delete_prefix under {self.root}: refusing to delete the whole root")
        uri = f"{self.root}/{self._prefix(prefix)}"
        deleted = 0
        for page in self._iter_pages("delete_prefix", prefix):  # pages hold at most 1000 keys = one batch
            objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if not objects:
                continue
            with self._errors("delete_prefix", uri):
                response = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True}
                )
            if response.get("Errors"):
                first = response["Errors"][0]
                raise StorageError(
                    f"delete_prefix {uri} failed for {len(response['Errors'])} objects, "
                    f"e.g. s3://{self.bucket}/{first.get('Key')}: {first.get('Code')}"
                )
            deleted += len(objects)
        return deleted

    def arrow_fs(self) -> tuple[pafs.FileSystem, str]:
        if self._arrow_fs is None:
            s = self.settings
            kwargs: dict[str, Any] = {}
            if s.endpoint_url:
                parts = urlsplit(s.endpoint_url)
                kwargs = {"endpoint_override": parts.netloc, "scheme": parts.scheme or "https"}
            self._arrow_fs = pafs.S3FileSystem(
                region=s.region,
                connect_timeout=s.connect_timeout_s,
                request_timeout=s.read_timeout_s,
                retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=s.max_attempts),
                **kwargs,
            )
        return self._arrow_fs, f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket

    def version(self, key: str) -> str | None:
        """The ETag (opaque; pass it back unchanged to put_if_version)."""
        try:
            with self._errors("version", self.uri(key)):
                return self.client.head_object(Bucket=self.bucket, Key=self._object(key))["ETag"]
        except ObjectNotFound:
            return None

    def put_if_version(self, key: str, data: bytes, expected: str | None) -> None:
        """S3 conditional write: If-None-Match: * (must not exist) or If-Match: <ETag>.

        S3 evaluates the condition and the write atomically on the server. A retried attempt whose first
        try was applied but whose response was lost reports a conflict: never a lost update, at worst a
        spurious PublishConflict that the caller resolves by re-reading the version.
        """
        uri = self.uri(key)
        condition = {"IfNoneMatch": "*"} if expected is None else {"IfMatch": expected}
        conflict = f"put_if_version {uri}: lost the compare-and-swap, the object is not at version {expected!r}"
        with self._errors("put_if_version", uri, conflict=conflict):
            self.client.put_object(Bucket=self.bucket, Key=self._object(key), Body=data, **condition)


# S3's answers to credentials it does not accept (a HEAD has no body: only its status, "403").
_REFUSED = ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "403")


def _client_error(e: Any) -> tuple[str, Any]:
    error = e.response.get("Error", {})
    return str(error.get("Code", "Unknown")), e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
