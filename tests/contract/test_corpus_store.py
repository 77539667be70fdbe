"""Contract of every corpus store (DuckDB now; add PostgreSQL to STORES when it exists)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import duckdb
import msgspec
import pyarrow as pa
import pytest

from cordon.connectors.mastodon.mapping import StatusColumns
from cordon.connectors.mastodon.schema import StatusIn
from cordon.corpus import CorpusStore, DuckDBCorpus, UpsertCounts
from cordon.corpus.duckdb_store import _within_key_ranges, batch_tables
from cordon.corpus.schema import CORPUS_TABLES, KEYS, TABLES
from cordon.model import Cursor, EdgeColumns, Media, MediaLink, Platform, PostColumns, RecordBatch
from tests.factories import (
    EPOCH,
    make_account,
    make_batch,
    make_edge,
    make_moderation,
    make_post,
    make_quarantined,
)

StoreFactory = Callable[[Path], CorpusStore]


def _duckdb(tmp: Path) -> CorpusStore:
    return DuckDBCorpus(tmp / "corpus.duckdb", memory_limit="512MB", threads=1)


def _make_keyed_file(db: Path) -> None:
    """A corpus file as cordon made them before 2026-12-07: every keyed table with a PRIMARY KEY."""
    con = duckdb.connect(str(db))
    for table, columns in TABLES.items():
        key = f", PRIMARY KEY ({', '.join(KEYS[table])})" if table in KEYS else ""
        con.execute(f"CREATE TABLE {table} ({columns}{key})")
    con.close()


def _duckdb_keyed(tmp: Path) -> CorpusStore:
    _make_keyed_file(tmp / "corpus.duckdb")
    store = _duckdb(tmp)
    assert isinstance(store, DuckDBCorpus) and store.key_constraints == frozenset(KEYS)
    return store


# PostgreSQL: pytest.param(..., marks=pytest.mark.postgres)
STORES = [pytest.param(_duckdb, id="duckdb"), pytest.param(_duckdb_keyed, id="duckdb-keyed-file")]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CorpusStore]:
    instance = request.param(tmp_path)
    yield instance
    instance.close()


def _content_digest(db: Path) -> dict[str, str]:
    """Computed independently of the store: sorted rows of every table, hashed."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        digests = {}
        for table in CORPUS_TABLES:
            cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] != "first_seen"]
            rows = sorted(repr(r) for r in con.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall())
            digests[table] = f"{len(rows)}:" + hashlib.sha256("\n".join(rows).encode()).hexdigest()
        return digests
    finally:
        con.close()


def test_upsert_inserts_then_reupsert_changes_nothing(store: CorpusStore, tmp_path: Path) -> None:
    batch = make_batch(5, quarantined=(make_quarantined(),), moderation=(make_moderation(),))
    first = store.upsert(batch)
    assert (first.posts.inserted, first.accounts.inserted, first.edges.inserted) == (5, 5, 4)
    assert first.attachments.inserted == 5
    assert first.moderation.inserted == 1
    assert first.quarantined == 1
    store.close()
    before = _content_digest(tmp_path / "corpus.duckdb")
    again = DuckDBCorpus(tmp_path / "corpus.duckdb")
    second = again.upsert(batch)
    again.close()
    assert second.changed == 0
    assert second.posts.unchanged == 5
    assert second.quarantined == 0
    assert _content_digest(tmp_path / "corpus.duckdb") == before


def test_changed_record_is_updated_not_duplicated(store: CorpusStore) -> None:
    post = make_post()
    store.upsert(RecordBatch(source="s", posts=(post,)))
    counts = store.upsert(RecordBatch(source="s", posts=(replace(post, text="edited"),)))
    assert (counts.posts.inserted, counts.posts.updated, counts.posts.unchanged) == (0, 1, 0)
    assert store.stats().rows("posts") == 1


def test_same_key_twice_in_one_batch_keeps_the_last(store: CorpusStore) -> None:
    account = make_account()
    batch = RecordBatch(source="s", accounts=(account, replace(account, bio="newer")))
    counts = store.upsert(batch)
    assert counts.accounts.inserted == 1
    assert store.stats().rows("accounts") == 1


def test_edges_without_post_and_with_post_are_distinct(store: CorpusStore) -> None:
    edge = make_edge()
    counts = store.upsert(RecordBatch(source="s", edges=(edge, replace(edge, post_id="9"), edge)))
    assert counts.edges.inserted == 2


def test_cursor_is_stored_with_the_batch(store: CorpusStore) -> None:
    assert store.get_cursor("export-a") is None
    cursor = Cursor(source="statuses.jsonl", offset=1234, line=10)
    store.upsert(make_batch(1, cursor=cursor), stream="export-a")
    assert store.get_cursor("export-a") == cursor
    store.set_cursor(Cursor(source="statuses.jsonl", offset=2000, line=20), stream="export-a")
    assert store.get_cursor("export-a") == Cursor(source="statuses.jsonl", offset=2000, line=20)
    store.clear_cursor("export-a")
    assert store.get_cursor("export-a") is None


def test_failed_batch_leaves_no_rows_and_no_cursor(store: CorpusStore) -> None:
    bad_post = make_post(created_at=None)  # violates NOT NULL created_at
    with pytest.raises(Exception):  # noqa: B017 - each store raises its own error type
        store.upsert(make_batch(2, posts=(bad_post,), cursor=Cursor("x", 1, 1)), stream="x")
    assert store.stats().rows("accounts") == 0
    assert store.get_cursor("x") is None


def test_quarantine_lists_file_line_field_reason(store: CorpusStore) -> None:
    store.upsert(
        RecordBatch(
            source="s",
            quarantined=(
                make_quarantined(line=3, field="id", reason="missing"),
                make_quarantined(
                    line=None, record_id="m1", field="media", reason="too large", raw="x" * 10_000
                ),
            ),
        )
    )
    listed = store.quarantined()
    assert {(q.line, q.field, q.reason) for q in listed} == {
        (3, "id", "missing"),
        (None, "media", "too large"),
    }
    assert all(len(q.raw) <= 4096 for q in listed)
    assert len(store.quarantined(limit=1)) == 1
    assert {(r.reason, r.count) for r in store.stats().quarantine_by_reason} == {
        ("missing", 1),
        ("too large", 1),
    }


def test_stats_counts_per_platform_and_time_range(store: CorpusStore) -> None:
    posts = (
        make_post(created_at=EPOCH),
        make_post(created_at=EPOCH + timedelta(hours=5)),
        make_post(platform=Platform.X, created_at=EPOCH + timedelta(hours=1)),
    )
    store.upsert(RecordBatch(source="s", posts=posts))
    stats = store.stats()
    assert stats.rows("posts", "mastodon") == 2
    assert stats.rows("posts", "x") == 1
    assert stats.rows("posts") == 3
    assert stats.first_post_at == EPOCH
    assert stats.last_post_at == EPOCH + timedelta(hours=5)


def test_media_and_links_are_upserted_and_found(store: CorpusStore) -> None:
    sha = "ab" * 32
    media = Media(sha256=sha, md5="0" * 32, sha1="1" * 40, size=3, mime="image/png")
    link = MediaLink(
        platform=Platform.MASTODON, ref_id="m1", sha256=sha, source="media/m1.png", url="https://f/m1.png"
    )
    assert not store.has_media_links("mastodon")
    counts = store.upsert(RecordBatch(source="s", media=(media, media), media_links=(link,)))
    assert (counts.media.inserted, counts.media_links.inserted) == (1, 1)
    assert store.has_media_links("mastodon")
    assert not store.has_media_links("bluesky")
    found = store.linked_media_refs(
        "mastodon", [("m1", "https://f/m1.png"), ("m1", "https://other"), ("m2", "x")]
    )
    assert found == {("m1", "https://f/m1.png")}


def test_export_parquet_has_every_table(store: CorpusStore, tmp_path: Path) -> None:
    store.upsert(make_batch(4))
    files = store.export_parquet(tmp_path / "pq")
    assert {f.stem for f in files} == set(CORPUS_TABLES)
    rows = duckdb.sql(f"SELECT count(*) FROM '{tmp_path / 'pq' / 'posts.parquet'}'").fetchall()
    assert rows == [(4,)]


def test_ingest_runs_are_recorded(store: CorpusStore) -> None:
    run = store.begin_run("export", "fake")
    store.end_run(run, status="ok", posts=3, quarantined=0, elapsed_s=0.5)
    assert isinstance(run, str)
    assert len(run) == 32


def test_bulk_writer_stores_a_group_with_the_last_cursor_of_each_stream(store: CorpusStore) -> None:
    account = make_account()
    post = make_post(account_id=account.id)
    first = make_batch(2, accounts=(account,), posts=(post,), cursor=Cursor("a.jsonl", 10, 1))
    second = RecordBatch(
        source="a.jsonl",
        accounts=(replace(account, bio="newer"),),  # the same record again, changed: the last form is kept
        posts=(post, make_post(account_id=account.id)),
        quarantined=(make_quarantined(),),
        cursor=Cursor("a.jsonl", 20, 2),
    )
    third = make_batch(1, cursor=Cursor("b.jsonl", 5, 1))
    writer = store.bulk()
    assert writer.upsert(first, stream="a") == UpsertCounts()  # taken, not stored yet
    writer.upsert(second, stream="a")
    writer.upsert(third, stream="b")
    assert store.get_cursor("a") is None
    assert store.stats().rows("posts") == 0

    counts = writer.flush()
    assert (counts.accounts.inserted, counts.posts.inserted, counts.quarantined) == (2, 3, 1)
    assert store.get_cursor("a") == Cursor("a.jsonl", 20, 2)
    assert store.get_cursor("b") == Cursor("b.jsonl", 5, 1)
    assert store.stats().rows("posts") == 3
    assert writer.flush() == UpsertCounts()  # nothing left to store

    again = store.bulk()
    for batch in (first, second, third):
        again.upsert(batch, stream="x")
    assert again.flush().changed == 0  # the group's last forms are what is stored: nothing changes


def test_bulk_writer_stores_when_a_table_has_enough_rows(tmp_path: Path) -> None:
    with DuckDBCorpus(tmp_path / "c.duckdb", threads=1) as store:
        writer = store.bulk(rows=3)
        assert writer.upsert(make_batch(2)) == UpsertCounts()
        counts = writer.upsert(make_batch(2))  # four posts: the group is stored
        assert counts.posts.inserted == 4
        assert store.stats().rows("posts") == 4
        assert writer.flush() == UpsertCounts()


def test_overlapping_writer_stores_what_the_serial_one_does(tmp_path: Path) -> None:
    """A group stored by the writer thread while the next is read: the same rows and cursors in the end, the
    counts of each group come back once it is stored, and the groups go in order (a record changed in a
    later group keeps its later form)."""
    batches = [make_batch(3, cursor=Cursor("a.jsonl", 10 * (i + 1), i + 1)) for i in range(12)]
    changed = replace(batches[0].accounts[0], bio="changed later")
    batches[9] = replace(batches[9], accounts=(*batches[9].accounts, changed))
    sums = {}
    for overlap in (False, True):
        with DuckDBCorpus(tmp_path / f"c{overlap}.duckdb", threads=1) as store:
            writer = store.bulk(rows=5, overlap=overlap)
            counts = [writer.upsert(b, stream="a") for b in batches]
            total = sum(counts, UpsertCounts()) + writer.flush()
            assert total.posts.inserted == 36
            assert total.accounts.updated == 1
            assert store.get_cursor("a") == Cursor("a.jsonl", 120, 12)
            row = store.connection.execute("SELECT bio FROM accounts WHERE id = ?", [changed.id]).fetchone()
            assert row == ("changed later",)
            if overlap:  # groups of two batches; the first comes back from the upsert that fills the second
                assert [c.posts.inserted for c in counts[:4]] == [0, 0, 0, 6]
                assert sum(c.posts.inserted for c in counts) == 30  # the last group comes back from flush
            sums[overlap] = {t: store.checksum(t) for t in CORPUS_TABLES if t not in ("ingest_runs",)}
    assert sums[True] == sums[False]


def test_a_group_that_fails_in_the_writer_thread_stops_the_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a group failed, nothing later is stored (its cursor would skip the failed group's records):
    the error comes back from every call, and a rerun resumes from the last stored cursor."""
    from cordon.errors import StoreError  # noqa: PLC0415

    with DuckDBCorpus(tmp_path / "c.duckdb", threads=1) as store:
        real = store.write_tables
        calls: list[int] = []

        def second_fails(*args: object, **kwargs: object) -> UpsertCounts:
            calls.append(1)
            if len(calls) == 2:
                raise StoreError("disk full (injected)")
            return real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(store, "write_tables", second_fails)
        writer = store.bulk(rows=3, overlap=True)
        batches = [make_batch(3, cursor=Cursor("a.jsonl", i + 1, i + 1)) for i in range(4)]
        writer.upsert(batches[0], stream="a")  # group 1 goes to the writer thread
        writer.upsert(batches[1], stream="a")  # group 1's counts back; group 2 goes (and fails)
        with pytest.raises(StoreError, match="injected"):
            writer.upsert(batches[2], stream="a")  # group 2's error
        with pytest.raises(StoreError, match="injected"):
            writer.flush()  # batch 3 is not stored after the failed group
        assert store.get_cursor("a") == Cursor("a.jsonl", 1, 1)
        assert store.stats().rows("posts") == 3


def test_post_and_edge_columns_store_what_their_records_store(tmp_path: Path) -> None:
    """A connector may hand posts and edges over as column sets: stored, they are the rows of the records
    they read as (duplicates within the batch included: the last one wins)."""
    columns = StatusColumns()
    for n, mentions in enumerate([["a2", "a2"], [], ["a3"], ["a1"]]):
        columns.add(
            msgspec.json.decode(
                json.dumps(
                    {
                        "id": str(100 + n % 3),  # the fourth status has the first one's id: it replaces it
                        "created_at": f"2024-05-0{n + 1}T12:00:00Z",
                        "account": {"id": f"a{n % 2}", "username": f"u{n % 2}"},
                        "content": f"<p>post {n}</p>",
                        "mentions": [{"id": m} for m in mentions],
                        "media_attachments": [{"id": f"m{n % 2}", "type": "image", "url": f"https://m/{n}"}],
                    }
                ),
                type=StatusIn,
            )
        )
    accounts, posts, edges = columns.drain()
    assert isinstance(posts, PostColumns) and isinstance(edges, EdgeColumns)
    digests = []
    for name, batch in [
        ("columns", RecordBatch("s", accounts=accounts, posts=posts, edges=edges)),
        ("records", RecordBatch("s", accounts=accounts, posts=tuple(posts), edges=tuple(edges))),
    ]:
        with DuckDBCorpus(tmp_path / f"{name}.duckdb", threads=1) as db:
            counts = db.upsert(batch)
            assert (counts.posts.inserted, counts.attachments.inserted, counts.edges.inserted) == (3, 2, 3)
        digests.append(_content_digest(tmp_path / f"{name}.duckdb"))
    assert digests[0] == digests[1]


def test_changed_lists_and_columns_are_updated_in_place(store: CorpusStore, tmp_path: Path) -> None:
    """Changed records (a LIST column, a nullable column, an edge's time) are updated where they are: the
    store then holds what a fresh store of the last forms holds, and the changed rows count as updated."""
    account = make_account()
    post = make_post(account_id=account.id, hashtags=("a", "b"))
    edge = make_edge(src_account_id=account.id)
    store.upsert(RecordBatch(source="s", accounts=(account,), posts=(post,), edges=(edge,)))
    last = RecordBatch(
        source="s",
        accounts=(replace(account, bio="", display_name="renamed", followers_count=7),),
        posts=(replace(post, hashtags=("b", "c", "d"), text="edited"), make_post(account_id=account.id)),
        edges=(replace(edge, created_at=EPOCH + timedelta(days=1)),),
    )
    writer = store.bulk()
    writer.upsert(last)
    counts = writer.flush()
    assert (counts.accounts.updated, counts.posts.updated, counts.posts.inserted) == (1, 1, 1)
    assert counts.edges.updated == 1
    assert store.stats().rows("posts") == 2
    store.close()
    with DuckDBCorpus(tmp_path / "fresh.duckdb", threads=1) as fresh:
        fresh.upsert(last)
    assert _content_digest(tmp_path / "corpus.duckdb") == _content_digest(tmp_path / "fresh.duckdb")


def test_a_grown_export_adds_only_its_new_records(store: CorpusStore) -> None:
    first = make_batch(6)
    store.upsert(first)
    grown = make_batch(4)
    counts = store.upsert(
        RecordBatch(
            source="s",
            accounts=(*first.accounts, *grown.accounts),
            posts=(*first.posts, *grown.posts),
            edges=(*first.edges, *grown.edges),
        )
    )
    assert (counts.posts.inserted, counts.posts.unchanged, counts.posts.updated) == (4, 6, 0)
    assert (counts.accounts.inserted, counts.edges.inserted) == (4, len(grown.edges))
    assert counts.edges.unchanged == len(first.edges)
    assert store.stats().rows("posts") == 10


def test_signal_rows_are_upserted_by_their_key(store: CorpusStore) -> None:
    assert isinstance(store, DuckDBCorpus)
    rows = {"sha256": ["a", "a", "b"], "algo": ["pdq"] * 3, "frame": [0, 1, 0], "value": ["x", "y", "z"]}
    assert store.upsert_signals("media_hashes", pa.table(rows)).inserted == 3
    rows["value"] = ["x", "y2", "z"]
    again = store.upsert_signals("media_hashes", pa.table(rows))
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 2)
    found = store.connection.execute("SELECT value FROM media_hashes ORDER BY sha256, frame").fetchall()
    assert found == [("x",), ("y2",), ("z",)]


def test_a_keyed_file_and_a_new_one_hold_the_same_after_the_same_upserts(tmp_path: Path) -> None:
    batches = [make_batch(5, moderation=(make_moderation(),), quarantined=(make_quarantined(),))]
    batches.append(replace(batches[0], posts=tuple(replace(p, text="edited") for p in batches[0].posts)))
    batches.append(make_batch(3))
    digests = []
    for name, make in (("new", _duckdb), ("keyed", _duckdb_keyed)):
        folder = tmp_path / name
        folder.mkdir()
        store = make(folder)
        for batch in batches + batches:
            store.upsert(batch)
        store.close()
        digests.append(_content_digest(folder / "corpus.duckdb"))
    assert digests[0] == digests[1]


def test_new_files_have_no_key_index_in_memory_after_ingest(tmp_path: Path) -> None:
    """The keys are kept by the merge: a new file has no PRIMARY KEY on a keyed table, so DuckDB holds no
    ART index in memory after many rows (a keyed file does: the check would fail there)."""
    with DuckDBCorpus(tmp_path / "c.duckdb", threads=1) as store:
        assert store.key_constraints == frozenset()
        writer = store.bulk(rows=2_000)
        for _ in range(5):
            writer.upsert(make_batch(1_000))
        writer.flush()
        (art,) = store.connection.execute(
            "SELECT memory_usage_bytes FROM duckdb_memory() WHERE tag = 'ART_INDEX'"
        ).fetchone() or (0,)
        assert art == 0
        (keys,) = store.connection.execute(
            "SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' "
            "AND table_name NOT IN ('cursors', 'ingest_runs')"
        ).fetchone() or (0,)
        assert keys == 0


def test_drop_key_constraints_migrates_a_keyed_file(tmp_path: Path) -> None:
    store = _duckdb_keyed(tmp_path)
    assert isinstance(store, DuckDBCorpus)
    batch = make_batch(5, quarantined=(make_quarantined(),), moderation=(make_moderation(),))
    store.upsert(batch)
    store.set_cursor(Cursor("statuses.jsonl", 99, 9), stream="a")
    store.close()
    before = _content_digest(tmp_path / "corpus.duckdb")
    with DuckDBCorpus(tmp_path / "corpus.duckdb", threads=1) as store:
        assert set(store.drop_key_constraints()) == set(KEYS)
        assert store.key_constraints == frozenset()
        assert store.drop_key_constraints() == ()  # nothing left to rebuild
    assert _content_digest(tmp_path / "corpus.duckdb") == before
    with DuckDBCorpus(tmp_path / "corpus.duckdb", threads=1) as store:
        assert store.key_constraints == frozenset()
        assert store.get_cursor("a") == Cursor("statuses.jsonl", 99, 9)
        assert store.upsert(batch).changed == 0
        edited = store.upsert(RecordBatch(source="s", posts=(replace(batch.posts[0], text="edited"),)))
        assert (edited.posts.updated, edited.posts.inserted) == (1, 0)
        assert store.stats().rows("posts") == 5


def test_concurrent_writers_on_one_store_do_not_duplicate_keys(tmp_path: Path) -> None:
    """Without key constraints, two transactions inserting the same new keys at once would both succeed: the
    store lets one merge run at a time (the bulk writer's thread and the caller share it)."""
    batch = make_batch(200)
    with DuckDBCorpus(tmp_path / "c.duckdb", threads=2) as store:
        tables = batch_tables(batch)
        start = threading.Barrier(4)
        errors: list[BaseException] = []

        def write() -> None:
            con = store.connection.cursor()
            try:
                start.wait()
                store.write_tables(tables, {}, what="a race", con=con)
            except BaseException as exc:
                errors.append(exc)
            finally:
                con.close()

        threads = [threading.Thread(target=write) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert store.stats().rows("posts") == 200
        (dupes,) = store.connection.execute(
            "SELECT count(*) FROM (SELECT platform, id FROM posts GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone() or (0,)
        assert dupes == 0


def test_merge_bounds_stored_rows_by_the_incoming_key_ranges(tmp_path: Path) -> None:
    """The merge compares incoming rows only with stored rows inside the incoming keys' ranges; a key
    outside every range is still found when it is stored (a row of an earlier range comes again)."""

    rows = pa.table({"platform": ["mastodon", "mastodon"], "id": ["200", "300"]})
    sql, bounds = _within_key_ranges("posts", ("platform", "id"), rows)
    assert bounds == {"lo0": "mastodon", "hi0": "mastodon", "lo1": "200", "hi1": "300"}
    assert "BETWEEN $lo1 AND $hi1" in sql
    with DuckDBCorpus(tmp_path / "c.duckdb") as store:
        early = [make_post(id=str(100 + i)) for i in range(5)]
        late = [make_post(id=str(900 + i)) for i in range(5)]
        assert store.upsert(RecordBatch(source="s", posts=tuple(early + late))).posts.inserted == 10
        again = store.upsert(RecordBatch(source="s", posts=(early[2], replace(late[1], text="edited"))))
        assert (again.posts.inserted, again.posts.updated, again.posts.unchanged) == (0, 1, 1)
        (n,) = store.connection.execute("SELECT count(*) FROM posts").fetchone() or (0,)
        assert n == 10
