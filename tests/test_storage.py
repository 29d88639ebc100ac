"""seedlib.storage against a local directory and against moto_server (S3), with the same assertions."""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.retries.standard import ExponentialBackoff

from seedlib.storage import (
    LocalStorage,
    ObjectNotFound,
    PublishConflict,
    S3Settings,
    S3Storage,
    StorageError,
    open_storage,
)


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return open_storage(str(tmp_path / "root"))
    uri, settings = request.getfixturevalue("s3_root")
    return open_storage(uri, settings)


@pytest.fixture
def fast_throttling_backoff(monkeypatch):
    """botocore backs off 0-1 s, 0-2 s, 0-4 s after SlowDown; keep the retry logic, shrink the scale."""
    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 0.02)


def _secret() -> str:
    return os.environ["AWS_SECRET_ACCESS_KEY"]


def _all_text(exc: BaseException) -> str:
    """The message of the exception and of everything chained to it."""
    parts = []
    while exc is not None:
        parts.append(f"{type(exc).__name__}: {exc} {exc!r}")
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


TABLE = pa.table(
    {
        "id": pa.array([1, 2, 3], pa.int64()),
        "path": ["a.py", "b/c.go", "ü/é.rs"],
        "score": [0.5, None, 1.25],
        "tags": [["x"], [], ["y", "z"]],
    }
)


# --- roots -------------------------------------------------------------------------------------------


def test_roots_are_normalised(tmp_path):
    assert open_storage(str(tmp_path) + "/").root == f"file://{tmp_path}"
    assert open_storage(f"file://{tmp_path}").root == f"file://{tmp_path}"
    assert open_storage((tmp_path / "a b").as_uri()).root == f"file://{tmp_path}/a b"
    assert isinstance(open_storage(str(tmp_path)), LocalStorage)
    s3 = open_storage("s3://my-bucket/a/b/")
    assert isinstance(s3, S3Storage)
    assert s3.root == "s3://my-bucket/a/b"
    assert s3.uri("c/d.json") == "s3://my-bucket/a/b/c/d.json"
    assert open_storage("s3://my-bucket").uri("k") == "s3://my-bucket/k"


@pytest.mark.parametrize(
    "uri",
    ["relative/path", "s3://", "s3:///prefix", "s3://ab/p", "s3://Bad_Bucket/p", "s3://bucket/a/../b",
     "gs://bucket/p", "s3a://bucket/p", "file://host/p", "file:relative", "http://x/y", ""],
)
def test_bad_roots_name_the_uri(uri):
    with pytest.raises(StorageError) as e:
        open_storage(uri)
    assert repr(uri) in str(e.value)
    assert "s3://bucket" in str(e.value)  # names the accepted forms


# --- bytes, json, keys -------------------------------------------------------------------------------


def test_bytes_round_trip_and_overwrite(store):
    data = bytes(range(256)) * 3
    store.write_bytes("a/b/c.bin", data)
    assert store.read_bytes("a/b/c.bin") == data
    assert store.exists("a/b/c.bin") is True
    assert store.exists("a/b") is False  # a "directory" is not an object
    assert store.exists("a/b/other.bin") is False
    assert store.uri("a/b/c.bin") == store.root + "/a/b/c.bin"
    store.write_bytes("a/b/c.bin", b"")
    assert store.read_bytes("a/b/c.bin") == b""
    assert store.list() == ["a/b/c.bin"]  # no temporary files left behind


def test_missing_object(store):
    with pytest.raises(ObjectNotFound) as e:
        store.read_bytes("no/such.json")
    assert isinstance(e.value, FileNotFoundError) and isinstance(e.value, StorageError)
    assert store.uri("no/such.json") in str(e.value) and "not found" in str(e.value)
    with pytest.raises(FileNotFoundError):
        store.read_json("no/such.json")
    assert store.version("no/such.json") is None


def test_json_round_trip_and_format(store):
    obj = {"b": [1, 2.5, None], "a": {"z": "é", "y": True}}
    store.write_json("m/_MANIFEST.json", obj)
    assert store.read_json("m/_MANIFEST.json") == obj
    raw = store.read_bytes("m/_MANIFEST.json")
    assert raw == (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8")
    assert raw.startswith(b'{\n  "a": {\n')


@pytest.mark.parametrize("key", ["../x", "a/../b", "/abs", "", "a//b", "./a", "a/", ".~tmp-1", "a\\b"])
def test_bad_keys_are_refused(store, key):
    with pytest.raises(StorageError) as e:
        store.write_bytes(key, b"x")
    assert repr(key) in str(e.value)
    assert store.list() == []


# --- listing and deleting ----------------------------------------------------------------------------

KEYS = ["top.txt", "x/1.txt", "x/other/4.txt", "x/sub/2.txt", "x/sub/deeper/3.txt", "xy/5.txt"]


def test_list_list_dirs_delete_prefix(store):
    for key in reversed(KEYS):
        store.write_bytes(key, key.encode())
    assert store.list() == KEYS
    assert store.list("") == KEYS
    assert store.list("x") == ["x/1.txt", "x/other/4.txt", "x/sub/2.txt", "x/sub/deeper/3.txt"]  # not xy/
    assert store.list("x/") == store.list("x")
    assert store.list("x/sub") == ["x/sub/2.txt", "x/sub/deeper/3.txt"]
    assert store.list("nope") == []
    assert store.list("top.txt") == []  # a key is not a prefix
    assert store.list_dirs("") == ["x", "xy"]
    assert store.list_dirs("x") == ["other", "sub"]
    assert store.list_dirs("x/sub/") == ["deeper"]
    assert store.list_dirs("x/sub/deeper") == []
    assert store.list_dirs("nope") == []

    assert store.delete_prefix("x/sub") == 2
    assert store.list_dirs("x") == ["other"]
    assert store.delete_prefix("x") == 2
    assert store.list() == ["top.txt", "xy/5.txt"]
    assert store.list_dirs("") == ["xy"]
    assert store.delete_prefix("x") == 0
    assert store.read_bytes("xy/5.txt") == b"xy/5.txt"
    with pytest.raises(StorageError):
        store.delete_prefix("")
    with pytest.raises(StorageError):
        store.delete_prefix("/")
    assert store.list() == ["top.txt", "xy/5.txt"]


def test_list_and_delete_more_than_one_page(store):
    keys = [f"many/k{i:04d}" for i in range(1003)]  # S3 pages and delete batches hold 1000 keys
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: store.write_bytes(k, b"."), keys))
    store.write_bytes("keep/me", b"!")
    assert store.list("many") == keys
    assert store.list_dirs("") == ["keep", "many"]
    assert store.delete_prefix("many") == 1003
    assert store.list() == ["keep/me"]


# --- parquet -----------------------------------------------------------------------------------------


def test_parquet_round_trip_projection_and_order(store):
    other = TABLE.slice(1, 2)
    store.write_parquet("t/part-0.parquet", TABLE)
    store.write_parquet("t/part-1.parquet", other)
    assert store.read_parquet(["t/part-0.parquet"]).equals(TABLE)
    both = store.read_parquet(["t/part-1.parquet", "t/part-0.parquet"])
    assert both.to_pylist() == other.to_pylist() + TABLE.to_pylist()
    projected = store.read_parquet(["t/part-0.parquet", "t/part-1.parquet"], columns=["path", "id"])
    assert projected.column_names == ["path", "id"]
    assert projected.column("path").to_pylist() == ["a.py", "b/c.go", "ü/é.rs", "b/c.go", "ü/é.rs"]
    assert projected.column("id").to_pylist() == [1, 2, 3, 2, 3]

    fs, base = store.arrow_fs()
    assert pq.read_table(f"{base}/t/part-1.parquet", filesystem=fs).equals(other)

    with pytest.raises(ObjectNotFound) as e:
        store.read_parquet(["t/part-0.parquet", "t/missing.parquet"])
    assert store.uri("t/missing.parquet") in str(e.value)
    with pytest.raises(StorageError):
        store.read_parquet([])
    with pytest.raises(StorageError) as e:
        store.read_parquet(["t/part-0.parquet"], columns=["no_such_column"])
    assert store.uri("t/part-0.parquet") in str(e.value)


def test_parquet_bytes_are_deterministic(store):
    store.write_parquet("d/a.parquet", TABLE)
    store.write_parquet("d/b.parquet", pa.table(TABLE.to_pydict(), schema=TABLE.schema))  # rebuilt, equal
    a, b = store.read_bytes("d/a.parquet"), store.read_bytes("d/b.parquet")
    assert a == b
    assert store.version("d/a.parquet") == store.version("d/b.parquet")
    meta = pq.ParquetFile(io.BytesIO(a)).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert meta.num_rows == 3


# --- compare-and-swap --------------------------------------------------------------------------------


def test_put_if_version_semantics(store):
    key = "snapshots/dt=2024-01-01/_MANIFEST.json"
    store.put_if_version(key, b"one", None)  # create when absent
    v1 = store.version(key)
    assert v1 is not None and store.read_bytes(key) == b"one"

    with pytest.raises(PublishConflict) as e:
        store.put_if_version(key, b"two", None)  # must not exist yet, but does
    assert store.uri(key) in str(e.value)
    assert store.read_bytes(key) == b"one"

    store.put_if_version(key, b"two", v1)
    v2 = store.version(key)
    assert store.read_bytes(key) == b"two" and v2 not in (None, v1)

    with pytest.raises(PublishConflict):
        store.put_if_version(key, b"three", v1)  # stale
    assert store.read_bytes(key) == b"two" and store.version(key) == v2

    with pytest.raises(PublishConflict):
        store.put_if_version("snapshots/other.json", b"x", v1)  # expects a version, object absent
    assert store.exists("snapshots/other.json") is False
    assert store.list() == [key]  # no lock or temporary files left behind


def test_version_tracks_content(store):
    store.write_bytes("v", b"same")
    first = store.version("v")
    store.write_bytes("v", b"same")
    assert store.version("v") == first
    store.write_bytes("v", b"different")
    assert store.version("v") != first
    if isinstance(store, LocalStorage):
        assert store.version("v") == hashlib.sha256(b"different").hexdigest()


@pytest.mark.parametrize("existing", [False, True], ids=["create", "update"])
def test_concurrent_put_if_version_has_one_winner(store, existing):
    for round_ in range(5):
        key = f"race/{round_}.json"
        expected = None
        if existing:
            store.write_bytes(key, b"base")
            expected = store.version(key)
        barrier = threading.Barrier(2)

        def attempt(i: int) -> str:
            barrier.wait()
            try:
                store.put_if_version(key, f"writer-{i}".encode(), expected)
                return "won"
            except PublishConflict:
                return "lost"

        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(attempt, [0, 1]))
        assert sorted(results) == ["lost", "won"], results
        assert store.read_bytes(key) == f"writer-{results.index('won')}".encode()
    assert len(store.list("race")) == 5


# --- S3 retries and errors ---------------------------------------------------------------------------


# read_parquet goes through pyarrow (AWS C++ SDK): its backoff after 3 failures averages ~3.5 s and cannot be
# shortened from here, so it runs with 503 only; 500 and 503 take the same retry path there.
@pytest.mark.parametrize(
    ("operation", "status"),
    [(op, status) for op in ("write_bytes", "read_bytes", "write_parquet") for status in (503, 500)]
    + [("read_parquet", 503)],
)
def test_s3_operations_survive_transient_errors(s3_root, faulty_s3, fast_throttling_backoff, operation, status):
    uri, settings = s3_root
    direct = open_storage(uri, settings)
    direct.write_bytes("r/blob", b"payload")
    direct.write_parquet("r/t.parquet", TABLE)

    proxy = faulty_s3(3, status=status)
    store = open_storage(uri, S3Settings(endpoint_url=proxy.endpoint_url, max_attempts=5))
    if operation == "write_bytes":
        store.write_bytes("r/new", b"fresh")
        assert direct.read_bytes("r/new") == b"fresh"
    elif operation == "read_bytes":
        assert store.read_bytes("r/blob") == b"payload"
    elif operation == "write_parquet":
        store.write_parquet("r/new.parquet", TABLE)
        assert direct.read_bytes("r/new.parquet") == direct.read_bytes("r/t.parquet")
    else:
        assert store.read_parquet(["r/t.parquet"], columns=["id"]).column("id").to_pylist() == [1, 2, 3]
    assert proxy.injected == 3
    assert proxy.forwarded >= 1


@pytest.mark.parametrize("operation", ["write_bytes", "read_bytes", "read_parquet", "put_if_version", "list"])
def test_s3_without_retries_fails_naming_the_uri(s3_root, faulty_s3, operation):
    uri, settings = s3_root
    open_storage(uri, settings).write_parquet("r/t.parquet", TABLE)
    proxy = faulty_s3(1)
    store = open_storage(uri, S3Settings(endpoint_url=proxy.endpoint_url, max_attempts=1))
    with pytest.raises(StorageError) as e:
        if operation == "write_bytes":
            store.write_bytes("r/t.parquet", b"x")
        elif operation == "read_bytes":
            store.read_bytes("r/t.parquet")
        elif operation == "read_parquet":
            store.read_parquet(["r/t.parquet"])
        elif operation == "put_if_version":
            store.put_if_version("r/t.parquet", b"x", None)
        else:
            store.list("r")
    assert not isinstance(e.value, PublishConflict)
    expected_uri = store.uri("r/t.parquet") if operation != "list" else store.root + "/r/"
    assert expected_uri in str(e.value), str(e.value)
    assert proxy.injected == 1 and proxy.forwarded == 0  # exactly one attempt
    assert _secret() not in _all_text(e.value)
    assert os.environ["AWS_ACCESS_KEY_ID"] not in _all_text(e.value)


def test_s3_unreachable_endpoint_and_missing_bucket(s3_server):
    secret = _secret()
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = open_storage("s3://some-bucket/p", S3Settings(endpoint_url=f"http://127.0.0.1:{port}", max_attempts=1))
    with pytest.raises(StorageError) as e:
        dead.write_bytes("k", b"x")
    assert "write s3://some-bucket/p/k" in str(e.value)
    assert secret not in _all_text(e.value)

    missing = open_storage("s3://no-such-bucket/p", S3Settings(endpoint_url=s3_server))
    with pytest.raises(StorageError) as e:
        missing.write_bytes("k", b"x")
    assert not isinstance(e.value, ObjectNotFound)
    assert "s3://no-such-bucket/p/k" in str(e.value) and "bucket no-such-bucket does not exist" in str(e.value)
    assert secret not in _all_text(e.value)
    with pytest.raises(StorageError) as e:
        missing.read_parquet(["k"])
    assert "s3://no-such-bucket/p/k" in str(e.value)
    assert secret not in _all_text(e.value)


def test_local_lock_file_blocks_a_second_writer_and_stays_hidden(tmp_path):
    store = open_storage(str(tmp_path))
    store.write_bytes("m/_MANIFEST.json", b"old")
    lock = tmp_path / "m" / ".~_MANIFEST.json.lock"
    lock.write_bytes(b"")  # as held by a writer in the middle of its compare-and-swap
    with pytest.raises(PublishConflict) as e:
        store.put_if_version("m/_MANIFEST.json", b"new", store.version("m/_MANIFEST.json"))
    assert str(lock) in str(e.value)
    assert store.read_bytes("m/_MANIFEST.json") == b"old"
    assert lock.exists()  # not ours: left alone
    assert store.list() == ["m/_MANIFEST.json"]
    lock.unlink()
    store.put_if_version("m/_MANIFEST.json", b"new", store.version("m/_MANIFEST.json"))
    assert store.read_bytes("m/_MANIFEST.json") == b"new"
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["_MANIFEST.json"]
