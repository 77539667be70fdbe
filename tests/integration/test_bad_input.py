"""Bad input through the whole ingest (issue 2 item 7): the Mastodon connector, media fetching, the DuckDB
store and the CLI. A bad record is quarantined with file, line, field and reason; the rest is stored; the
exit code tells partial success (3) apart from success (0), usage errors (2) and failure (1); nothing already
stored is lost; re-ingest changes nothing; an interrupted run resumed equals one pass."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner
from werkzeug import Request, Response

from cordon.app import ingest as ingest_module
from cordon.app import range_ingest
from cordon.app.ingest import IngestProgress, MediaMode, ingest
from cordon.cli.corpus_cmds import EXIT_FAILURE, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE
from cordon.cli.main import app
from cordon.corpus import DuckDBCorpus
from cordon.corpus.schema import CORPUS_TABLES
from cordon.errors import UnknownFormatError

runner = CliRunner()


def status(n: int, *, media: list[tuple[str, str]] = (), **overrides: Any) -> dict[str, Any]:  # type: ignore[assignment]
    record: dict[str, Any] = {
        "id": f"{1000 + n}",
        "created_at": f"2024-05-01T12:{n % 60:02d}:00.000Z",
        "content": f"<p>post {n} #tagx{n % 4}</p>",
        "account": account(n % 3),  # the same entity accounts.jsonl holds, as Mastodon embeds it
        "tags": [{"name": f"tagx{n % 4}"}],
        "in_reply_to_id": f"{1000 + n - 1}" if n % 5 == 4 else None,
        "in_reply_to_account_id": f"{50 + (n - 1) % 3}" if n % 5 == 4 else None,
        "media_attachments": [{"id": mid, "type": "image", "url": url} for mid, url in media],
    }
    record.update(overrides)
    return record


def account(n: int) -> dict[str, Any]:
    return {"id": f"{50 + n}", "username": f"user{n}", "acct": f"user{n}", "note": f"<p>bio {n}</p>"}


def write_lines(path: Path, rows: list[dict[str, Any] | str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))


def checksums(db: Path) -> dict[str, str]:
    with DuckDBCorpus(db) as store:
        return {t: store.checksum(t) for t in CORPUS_TABLES}


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with DuckDBCorpus(db) as store:
        return store.connection.execute(sql).fetchall()


def quarantined(db: Path) -> list[tuple[str, int | None, str | None, str | None, str]]:
    with DuckDBCorpus(db) as store:
        return [(Path(q.source).name, q.line, q.record_id, q.field, q.reason) for q in store.quarantined()]


def bad_export(root: Path) -> Path:
    """An export directory whose files hold every kind of bad line, each between good ones."""
    export = root / "export"
    write_lines(export / "accounts.jsonl", [account(0), '{"id": "61", "acct": "nameless"}', account(1)])
    write_lines(
        export / "statuses.jsonl",
        [
            status(0),
            '{"id": "1001", "created_at": ',  # malformed JSON
            status(2),
            status(3, id=1003),  # mistyped id
            status(4, created_at="not a date"),
            status(5, tags=[{"name": 5}]),
            status(6),
        ],
    )
    # a truncated last line: the file ends mid-record, without a newline
    with (export / "statuses.jsonl").open("a") as f:
        f.write(json.dumps(status(7))[:40])
    write_lines(
        export / "follows.jsonl", [{"account_id": "50", "target_account_id": "51"}, {"account_id": "50"}]
    )
    write_lines(
        export / "moderation.jsonl",
        [
            {"account_id": "52", "action": "suspend", "created_at": "2024-05-02T00:00:00Z"},
            {"account_id": "52"},
        ],
    )
    return export


def test_every_bad_line_is_quarantined_and_the_rest_stored(tmp_path: Path) -> None:
    export = bad_export(tmp_path)
    db = tmp_path / "c.duckdb"
    report = ingest(export, db, media=MediaMode.SKIP, batch_size=2)
    assert report.partial
    assert report.quarantined == 8
    assert sorted(r[0] for r in rows(db, "SELECT id FROM posts")) == ["1000", "1002", "1006"]
    assert sorted(r[0] for r in rows(db, "SELECT id FROM accounts")) == ["50", "51", "52"]
    assert rows(db, "SELECT src_account_id, dst_account_id FROM edges WHERE kind = 'follow'") == [
        ("50", "51")
    ]
    assert rows(db, "SELECT account_id, action FROM moderation") == [("52", "suspend")]
    got = {(name, line): (record_id, field) for name, line, record_id, field, _ in quarantined(db)}
    assert got == {
        ("accounts.jsonl", 2): ("61", "$.username"),
        ("statuses.jsonl", 2): (None, "$"),
        ("statuses.jsonl", 4): ("1003", "$.id"),
        ("statuses.jsonl", 5): ("1004", "$.created_at"),
        ("statuses.jsonl", 6): ("1005", "$.tags[0].name"),
        ("statuses.jsonl", 8): (None, "$"),
        ("follows.jsonl", 2): (None, "$.target_account_id"),
        ("moderation.jsonl", 2): (None, "$.action"),
    }
    for *_, reason in quarantined(db):
        assert reason


def test_truncated_json_array(tmp_path: Path) -> None:
    path = tmp_path / "timeline.json"
    body = json.dumps([status(n) for n in range(5)], indent=1)
    path.write_text(body[: body.index('"1004"') + 3])  # cut inside the fifth element
    db = tmp_path / "c.duckdb"
    report = ingest(path, db, media=MediaMode.SKIP, batch_size=3)
    assert report.quarantined == 1
    assert sorted(r[0] for r in rows(db, "SELECT id FROM posts")) == ["1000", "1001", "1002", "1003"]
    ((name, line, _, field, reason),) = quarantined(db)
    assert (name, line, field) == ("timeline.json", 5, "$")
    assert "not closed" in reason


def _png_like(n: int, size: int) -> bytes:
    return (b"\x89PNG\r\n\x1a\n" + hashlib.sha256(str(n).encode()).digest() * (size // 32 + 1))[:size]


def test_oversize_and_missing_media_local_and_over_http(tmp_path: Path, httpserver: HTTPServer) -> None:
    limit = 1000
    small, big = _png_like(1, 500), _png_like(2, 5000)
    httpserver.expect_request("/m/ok.png").respond_with_data(small, content_type="image/png")
    httpserver.expect_request("/m/big.png").respond_with_data(big, content_type="image/png")
    httpserver.expect_request("/m/gone.png").respond_with_data("no", status=404)

    def stream_big(_: Request) -> Response:  # no content-length: the limit must hold while streaming
        return Response((big[i : i + 256] for i in range(0, len(big), 256)), content_type="image/png")

    httpserver.expect_request("/m/chunked.png").respond_with_handler(stream_big)
    export = tmp_path / "export"
    (export / "media").mkdir(parents=True)
    (export / "media" / "local-ok.png").write_bytes(_png_like(3, 300))
    (export / "media" / "local-big.png").write_bytes(big)
    media = [
        ("a-local-ok", "https://files.example/m/local-ok.png"),
        ("a-local-big", "https://files.example/m/local-big.png"),
        ("a-http-ok", httpserver.url_for("/m/ok.png")),
        ("a-http-big", httpserver.url_for("/m/big.png")),
        ("a-http-chunked", httpserver.url_for("/m/chunked.png")),
        ("a-http-gone", httpserver.url_for("/m/gone.png")),
    ]
    write_lines(export / "statuses.jsonl", [status(n, media=[m]) for n, m in enumerate(media)])
    db = tmp_path / "c.duckdb"
    report = ingest(export, db, media=MediaMode.REFERENCE, fetch_remote=True, max_media_bytes=limit)
    assert report.quarantined == 4
    assert report.counts.posts.inserted == 6  # a post whose media failed is still stored
    links = dict(rows(db, "SELECT ref_id, sha256 FROM media_links"))
    assert links == {
        "a-local-ok": hashlib.sha256(_png_like(3, 300)).hexdigest(),
        "a-http-ok": hashlib.sha256(small).hexdigest(),
    }
    got = {record_id: (field, reason) for _, _, record_id, field, reason in quarantined(db)}
    assert set(got) == {"a-local-big", "a-http-big", "a-http-chunked", "a-http-gone"}
    assert all(field == "media_attachments" for field, _ in got.values())
    assert "over the limit" in got["a-local-big"][1]
    assert "over the limit" in got["a-http-big"][1]
    assert "over the limit" in got["a-http-chunked"][1]
    assert "404" in got["a-http-gone"][1]


def test_missing_media_without_fetch_names_the_file(tmp_path: Path) -> None:
    export = tmp_path / "export"
    (export / "media").mkdir(parents=True)
    write_lines(export / "statuses.jsonl", [status(0, media=[("a1", "https://files.example/x/absent.png")])])
    db = tmp_path / "c.duckdb"
    report = ingest(export, db, media=MediaMode.REFERENCE)
    assert report.quarantined == 1
    ((source, _, record_id, field, reason),) = quarantined(db)
    assert (source, record_id, field) == ("absent.png", "a1", "media_attachments")
    assert "not found" in reason


@pytest.mark.parametrize("content", ["a,b\n1,2\n", '{"kind": "other"}\n', "\x00\x01binary"])
def test_unknown_format_names_the_path(tmp_path: Path, content: str) -> None:
    path = tmp_path / "mystery.dat"
    path.write_text(content)
    db = tmp_path / "c.duckdb"
    with pytest.raises(UnknownFormatError, match=r"mystery\.dat"):
        ingest(path, db, media=MediaMode.SKIP)
    with pytest.raises(UnknownFormatError, match=r"mystery\.dat"):
        ingest(path, db, format="mastodon", media=MediaMode.SKIP)
    result = runner.invoke(app, ["ingest", str(path), "--db", str(db)])
    assert result.exit_code == EXIT_USAGE == 2
    assert "mystery.dat" in result.output


def test_cli_exit_codes_tell_partial_success_apart(tmp_path: Path) -> None:
    """0 all stored, 3 stored with quarantined records, 2 usage or unknown format, 1 failure."""
    assert len({EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_PARTIAL}) == 4
    good = tmp_path / "good"
    write_lines(good / "statuses.jsonl", [status(n) for n in range(3)])
    db = tmp_path / "c.duckdb"
    ok = runner.invoke(app, ["ingest", str(good), "--db", str(db), "--media", "skip"])
    assert ok.exit_code == EXIT_OK == 0, ok.output

    partial = runner.invoke(app, ["ingest", str(bad_export(tmp_path)), "--db", str(db), "--media", "skip"])
    assert partial.exit_code == EXIT_PARTIAL == 3, partial.output
    assert "8 record(s) quarantined" in partial.output
    listed = runner.invoke(app, ["quarantine", "--db", str(db)])
    assert listed.exit_code == 0
    assert "statuses.jsonl:4\t1003\t$.id\t" in listed.stdout

    broken = tmp_path / "broken.duckdb"
    broken.write_bytes(b"not a database" * 100)
    failed = runner.invoke(app, ["ingest", str(good), "--db", str(broken), "--media", "skip"])
    assert failed.exit_code == EXIT_FAILURE == 1
    assert "broken.duckdb" in failed.output


def test_reingest_changes_nothing(tmp_path: Path) -> None:
    export = bad_export(tmp_path)
    db = tmp_path / "c.duckdb"
    first = ingest(export, db, media=MediaMode.SKIP, batch_size=3)
    before = checksums(db)
    again = ingest(export, db, media=MediaMode.SKIP, batch_size=3)
    assert (again.records_read, again.quarantined) == (0, 0)  # the cursor is at the end of every file
    assert checksums(db) == before
    restarted = ingest(export, db, media=MediaMode.SKIP, batch_size=3, restart=True)
    assert restarted.records_read == first.records_read
    assert restarted.counts.changed == 0
    assert checksums(db) == before


def test_nothing_stored_is_lost_when_later_input_is_bad(tmp_path: Path) -> None:
    good = tmp_path / "good"
    write_lines(good / "statuses.jsonl", [status(n) for n in range(4)])
    db = tmp_path / "c.duckdb"
    ingest(good, db, media=MediaMode.SKIP)
    stored = rows(db, "SELECT * FROM posts ORDER BY id")
    assert len(stored) == 4

    # a later export with bad versions of the same posts: they are quarantined, the stored rows stay
    later = tmp_path / "later"
    write_lines(
        later / "statuses.jsonl",
        [status(0, created_at="garbage"), status(1, content=["x"]), '{"id": "1002"', status(3, account=None)],
    )
    report = ingest(later, db, media=MediaMode.SKIP)
    assert report.quarantined == 4
    assert rows(db, "SELECT * FROM posts ORDER BY id") == stored

    # more lines appended to the first export, bad and good: resuming reads only them
    with (good / "statuses.jsonl").open("a") as f:
        f.write('{"id": broken\n' + json.dumps(status(9)) + "\n")
    resumed = ingest(good, db, media=MediaMode.SKIP)
    assert resumed.resumed_from is not None
    assert (resumed.posts_read, resumed.quarantined) == (1, 1)
    after = rows(db, "SELECT * FROM posts ORDER BY id")
    assert [r for r in after if r[1] != "1009"] == stored
    assert len(after) == 5


class RunInterruptedError(Exception):
    """Stands for a crash or Ctrl-C between two stored batches."""


def _stop_after(n: int) -> Callable[[IngestProgress], None]:
    def on_batch(progress: IngestProgress) -> None:
        if progress.batches >= n:
            raise RunInterruptedError(f"stopped after {n} batches")

    return on_batch


def _array_source(root: Path) -> Path:
    path = root / "timeline.json"
    items = [json.dumps(status(n)) for n in range(9)]
    items.insert(3, json.dumps(status(99, id=5)))  # a bad element in the middle
    path.write_text("[\n" + ",\n".join(items) + ",\n" + json.dumps(status(50))[:30])  # and a truncated end
    return path


@pytest.mark.parametrize("make_source", [bad_export, _array_source], ids=["export-dir", "json-array"])
def test_resume_after_interrupt_equals_one_pass(tmp_path: Path, make_source: Callable[[Path], Path]) -> None:
    source = make_source(tmp_path)
    one_pass = tmp_path / "one.duckdb"
    total = ingest(source, one_pass, media=MediaMode.SKIP, batch_size=2).batches
    expected = checksums(one_pass)
    assert total >= 4
    for stop in (1, total // 2, total - 1):
        db = tmp_path / f"resumed-{stop}.duckdb"
        with pytest.raises(RunInterruptedError):
            ingest(source, db, media=MediaMode.SKIP, batch_size=2, on_batch=_stop_after(stop))
        resumed = ingest(source, db, media=MediaMode.SKIP, batch_size=2)
        assert resumed.resumed_from is not None
        assert resumed.batches == total - stop
        assert checksums(db) == expected, f"interrupted after {stop} of {total} batches"


def _ranged_export(root: Path) -> Path:
    """An export whose statuses span many ranges: bad lines, blank lines, authors whose form changes along
    the file (the last form must win), media (one file missing), and a truncated last line."""
    export = root / "export"
    (export / "media").mkdir(parents=True)
    for n in range(3):
        (export / "media" / f"{n}.png").write_bytes(_png_like(n, 200 + n))
    bad = ['{"id": "x", "created_at": ', "[1, 2]", "", '{"id": 5, "account": {}}']
    statuses: list[dict[str, Any] | str] = []
    for n in range(90):
        if n % 11 == 5:
            statuses.append(bad[n % len(bad)])
            continue
        author = {**account(n % 3), "note": f"<p>bio {n % 3} version {n // 25}</p>"}
        media = [(f"m{n}", f"https://files.example/m/{n // 6 % 4}.png")] if n % 6 == 0 else []
        statuses.append(status(n, account=author, media=media))
    write_lines(export / "statuses.jsonl", statuses)
    with (export / "statuses.jsonl").open("a") as f:
        f.write(json.dumps(status(99))[:50])
    write_lines(export / "accounts.jsonl", [account(0), account(1)])
    return export


@pytest.mark.parametrize("chunk", [1, 700, 4000])
def test_reading_in_ranges_stores_what_one_pass_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """With two workers a large statuses file is read in byte ranges by worker processes; what is stored,
    quarantined lines included, and the cursors are those of one serial pass."""
    export = _ranged_export(tmp_path)
    serial, ranged = tmp_path / "serial.duckdb", tmp_path / "ranged.duckdb"
    one = ingest(export, serial, media=MediaMode.REFERENCE, batch_size=4, workers=1)
    calls: list[Path] = []
    original = ingest_module.read_ranges

    def spy(connector: Any, source: Path, file: Path, *args: Any, **kwargs: Any) -> Any:
        calls.append(file)
        return original(connector, source, file, *args, **kwargs)

    monkeypatch.setattr(range_ingest, "CHUNK_BYTES", chunk)
    monkeypatch.setattr(range_ingest, "SPLIT_BYTES", 0)
    monkeypatch.setattr(ingest_module, "read_ranges", spy)
    two = ingest(export, ranged, media=MediaMode.REFERENCE, batch_size=4, workers=2)
    assert export / "statuses.jsonl" in calls  # the ranged path was taken
    assert (two.posts_read, two.quarantined) == (one.posts_read, one.quarantined)
    assert one.quarantined == 10  # 6 bad lines, the truncated end, 3 attachments of the missing file
    assert checksums(ranged) == checksums(serial)
    assert sorted(quarantined(ranged), key=str) == sorted(quarantined(serial), key=str)
    cursor_sql = 'SELECT source, "offset", line FROM cursors ORDER BY source'
    assert rows(ranged, cursor_sql) == rows(serial, cursor_sql)
    bios = rows(ranged, "SELECT id, bio FROM accounts ORDER BY id")
    assert [(account_id, "version 3" in bio) for account_id, bio in bios] == [
        ("50", True),
        ("51", True),
        ("52", True),
    ]  # each author's last form in the file, though earlier ranges sent older ones


def test_reading_in_ranges_resumes_after_an_interrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = _ranged_export(tmp_path)
    one_pass = tmp_path / "one.duckdb"
    ingest(export, one_pass, media=MediaMode.SKIP, batch_size=4, workers=1)
    monkeypatch.setattr(range_ingest, "CHUNK_BYTES", 900)
    monkeypatch.setattr(range_ingest, "SPLIT_BYTES", 0)
    db = tmp_path / "resumed.duckdb"
    with pytest.raises(RunInterruptedError):
        ingest(export, db, media=MediaMode.SKIP, batch_size=4, workers=2, on_batch=_stop_after(6))
    size = (export / "statuses.jsonl").stat().st_size
    ((stopped_at,),) = rows(db, "SELECT \"offset\" FROM cursors WHERE source LIKE '%statuses.jsonl'")
    assert 0 < stopped_at < size  # stopped inside the statuses
    ingest(export, db, media=MediaMode.SKIP, batch_size=4, workers=2)
    assert checksums(db) == checksums(one_pass)
