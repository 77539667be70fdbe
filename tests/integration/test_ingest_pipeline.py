"""The ingest pipeline with a fake connector: resume after a crash, idempotence, media keep/reference/skip."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest
from tests.factories import (
    FakeConnector,
    make_account,
    make_batch,
    make_media_ref,
    make_post,
    make_quarantined,
)

from cordon.app.ingest import MediaMode, ingest
from cordon.corpus import DuckDBCorpus
from cordon.corpus.schema import CORPUS_TABLES
from cordon.model import RecordBatch


def _batches(n: int) -> list[RecordBatch]:
    return [make_batch(4, source="fake.jsonl") for _ in range(n)]


def _checksums(db: Path) -> dict[str, str]:
    with DuckDBCorpus(db) as store:
        return {t: store.checksum(t) for t in CORPUS_TABLES}


def test_crash_then_resume_equals_clean_run(tmp_path: Path) -> None:
    batches = _batches(6)
    export = tmp_path / "export.fake"
    export.write_text("")
    clean = ingest(export, tmp_path / "clean.duckdb", connector=FakeConnector(batches), media=MediaMode.SKIP)
    assert clean.posts_read == 24

    crashing = FakeConnector(batches, fail_after=3)
    with pytest.raises(RuntimeError, match="crashed"):
        ingest(export, tmp_path / "resumed.duckdb", connector=crashing, media=MediaMode.SKIP)
    with DuckDBCorpus(tmp_path / "resumed.duckdb") as store:
        assert store.stats().rows("posts") == 12  # the three stored batches survived the crash

    second = FakeConnector(batches)
    report = ingest(export, tmp_path / "resumed.duckdb", connector=second, media=MediaMode.SKIP)
    assert second.yielded == [3, 4, 5]  # resumed after the last stored cursor
    assert report.resumed_from is not None
    assert _checksums(tmp_path / "resumed.duckdb") == _checksums(tmp_path / "clean.duckdb")


def test_rerun_and_restart_change_nothing(tmp_path: Path) -> None:
    batches = _batches(3)
    export = tmp_path / "export.fake"
    export.write_text("")
    db = tmp_path / "c.duckdb"
    ingest(export, db, connector=FakeConnector(batches), media=MediaMode.SKIP)
    before = _checksums(db)
    again = ingest(export, db, connector=FakeConnector(batches), media=MediaMode.SKIP)
    assert again.posts_read == 0  # the cursor is at the end
    restarted = ingest(export, db, connector=FakeConnector(batches), media=MediaMode.SKIP, restart=True)
    assert restarted.posts_read == 12
    assert restarted.counts.changed == 0
    assert _checksums(db) == before


def _media_batches(tmp_path: Path) -> tuple[list[RecordBatch], dict[str, bytes]]:
    media_dir = tmp_path / "media"
    media_dir.mkdir()
    files = {f"{i}.png": hashlib.sha256(str(i).encode()).digest() * (i + 1) for i in range(3)}
    for name, data in files.items():
        (media_dir / name).write_bytes(data)
    account = make_account(avatar_url="https://files.example/avatars/0.png")
    posts = [
        make_post(
            account_id=account.id, media=(make_media_ref(id="a1", url="https://files.example/m/1.png"),)
        ),
        make_post(
            account_id=account.id, media=(make_media_ref(id="a2", url="https://files.example/m/2.png"),)
        ),
        make_post(
            account_id=account.id, media=(make_media_ref(id="a3", url="https://files.example/m/gone.png"),)
        ),
        # the same bytes under another attachment id: one media row, two links
        make_post(
            account_id=account.id, media=(make_media_ref(id="a4", url="https://other.example/x/1.png"),)
        ),
    ]
    batch = RecordBatch(source="fake.jsonl", accounts=(account,), posts=tuple(posts))
    return [batch], files


@pytest.mark.parametrize("mode", [MediaMode.KEEP, MediaMode.REFERENCE])
def test_media_is_hashed_linked_and_failures_quarantined(tmp_path: Path, mode: MediaMode) -> None:
    batches, files = _media_batches(tmp_path)
    export = tmp_path / "export.fake"
    export.write_text("")
    db = tmp_path / "c.duckdb"
    report = ingest(export, db, connector=FakeConnector(batches), media=mode, media_workers=2)
    assert report.quarantined == 1
    assert report.counts.media.inserted == 3  # 0.png (avatar), 1.png, 2.png
    assert report.counts.media_links.inserted == 4  # avatar, a1, a2, a4
    with DuckDBCorpus(db) as store:
        con = store.connection
        links = dict(con.execute("SELECT ref_id, sha256 FROM media_links").fetchall())
        assert links["a1"] == links["a4"] == hashlib.sha256(files["1.png"]).hexdigest()
        assert links[f"avatar:{batches[0].accounts[0].id}"] == hashlib.sha256(files["0.png"]).hexdigest()
        (bad,) = store.quarantined()
        assert (bad.record_id, bad.field) == ("a3", "media_attachments")
        assert bad.source.endswith("gone.png")
        stored = dict(con.execute("SELECT sha256, stored_path FROM media").fetchall())
    blob = tmp_path / "blobs" / links["a2"][:2] / links["a2"][2:4] / links["a2"]
    if mode is MediaMode.KEEP:
        assert blob.read_bytes() == files["2.png"]
        assert stored[links["a2"]] == str(blob)
    else:
        assert not blob.exists()
        assert stored[links["a2"]] == ""


def test_media_skip_fetches_nothing(tmp_path: Path) -> None:
    batches, _ = _media_batches(tmp_path)
    export = tmp_path / "export.fake"
    export.write_text("")
    report = ingest(export, tmp_path / "c.duckdb", connector=FakeConnector(batches), media=MediaMode.SKIP)
    assert report.counts.media.inserted == 0
    assert report.counts.attachments.inserted == 4
    assert report.quarantined == 0


def test_quarantined_records_from_the_connector_are_counted(tmp_path: Path) -> None:
    batch = replace(make_batch(2), quarantined=(make_quarantined(line=5), make_quarantined(line=9)))
    export = tmp_path / "export.fake"
    export.write_text("")
    report = ingest(export, tmp_path / "c.duckdb", connector=FakeConnector([batch]), media=MediaMode.SKIP)
    assert report.quarantined == 2
    assert report.partial
    assert report.counts.posts.inserted == 2
