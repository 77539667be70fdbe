"""`cordon ingest`, `cordon stats`, `cordon quarantine` end to end on a small Mastodon export."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.factories import make_account, make_edge, make_media_ref, make_moderation, make_post
from typer.testing import CliRunner

from cordon.cli.main import app
from cordon.connectors.mastodon.writer import MastodonExportWriter
from cordon.connectors.media_fetch import local_file_name
from cordon.corpus import DuckDBCorpus
from cordon.corpus.schema import CORPUS_TABLES

runner = CliRunner()


def _noise_png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def _export(root: Path) -> Path:
    export = root / "export"
    accounts = [make_account() for _ in range(3)]
    posts = [make_post(account_id=a.id, media=(make_media_ref(),)) for a in accounts for _ in range(2)]
    with MastodonExportWriter(export) as writer:
        writer.write_accounts(accounts)
        writer.write_posts(posts)
        writer.write_follows([make_edge(src_account_id=accounts[0].id, dst_account_id=accounts[1].id)])
        writer.write_moderation([make_moderation(account_id=accounts[2].id)])
    urls = [a.avatar_url for a in accounts] + [m.url for p in posts for m in p.media]
    for seed, url in enumerate(urls):
        (export / "media" / local_file_name(url)).write_bytes(_noise_png(seed))
    return export


def _checksums(db: Path) -> dict[str, str]:
    with DuckDBCorpus(db) as store:
        return {t: store.checksum(t) for t in CORPUS_TABLES}


def test_ingest_stats_and_rerun(tmp_path: Path) -> None:
    export = _export(tmp_path)
    db = tmp_path / "corpus.duckdb"
    result = runner.invoke(app, ["ingest", str(export), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "6 statuses" in result.output

    stats = runner.invoke(app, ["stats", "--db", str(db), "--json"])
    assert stats.exit_code == 0
    figures = json.loads(stats.stdout)
    assert figures["tables"]["posts"] == {"mastodon": 6}
    assert figures["tables"]["accounts"] == {"mastodon": 3}
    assert figures["tables"]["media"] == {"all": 9}
    assert figures["tables"]["media_links"] == {"mastodon": 9}
    assert figures["tables"]["moderation"] == {"mastodon": 1}
    assert runner.invoke(app, ["stats", "--db", str(db)]).exit_code == 0

    before = _checksums(db)
    again = runner.invoke(app, ["ingest", str(export), "--db", str(db)])
    assert again.exit_code == 0
    assert "0 statuses" in again.output
    restarted = runner.invoke(app, ["ingest", str(export), "--db", str(db), "--restart"])
    assert restarted.exit_code == 0
    assert _checksums(db) == before


def test_corrupt_lines_are_quarantined_with_exit_3(tmp_path: Path) -> None:
    export = _export(tmp_path)
    statuses = export / "statuses.jsonl"
    lines = statuses.read_text().splitlines()
    lines.insert(2, '{"id": "999", "created_at": "yesterday"')  # truncated JSON on line 3
    bad_date = json.loads(lines[4])
    bad_date["created_at"] = "not a date"
    lines[4] = json.dumps(bad_date)  # line 5: a field with a wrong value
    statuses.write_text("\n".join(lines) + "\n")
    db = tmp_path / "corpus.duckdb"

    result = runner.invoke(app, ["ingest", str(export), "--db", str(db), "--media", "skip"])
    assert result.exit_code == 3, result.output
    assert "2 record(s) quarantined" in result.output
    assert "cordon quarantine" in result.output

    listed = runner.invoke(app, ["quarantine", "--db", str(db)])
    assert listed.exit_code == 0
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [r[0] for r in rows] == [f"{statuses.resolve()}:3", f"{statuses.resolve()}:5"]
    assert "created_at" in rows[1][2]
    with DuckDBCorpus(db) as store:
        assert store.stats().rows("posts") == 5  # everything else was stored

    before = _checksums(db)
    rerun = runner.invoke(app, ["ingest", str(export), "--db", str(db), "--media", "skip", "--restart"])
    assert rerun.exit_code == 3
    assert _checksums(db) == before


def test_missing_media_is_partial_success(tmp_path: Path) -> None:
    export = _export(tmp_path)
    victim = sorted((export / "media").iterdir())[0]
    victim.unlink()
    db = tmp_path / "corpus.duckdb"
    result = runner.invoke(app, ["ingest", str(export), "--db", str(db), "--media", "keep"])
    assert result.exit_code == 3
    listed = runner.invoke(app, ["quarantine", "--db", str(db)]).stdout
    assert victim.name in listed
    assert "not found" in listed
    assert len(list((tmp_path / "blobs").rglob("*"))) > 0


@pytest.mark.parametrize(
    "args", [["ingest", "{tmp}/nothing.bin"], ["ingest", "{tmp}/export", "--format", "nope"]]
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "nothing.bin").write_bytes(b"\x00\x01 not an export")
    (tmp_path / "export").mkdir()
    argv = [a.format(tmp=tmp_path) for a in args] + ["--db", str(tmp_path / "c.duckdb")]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output


def test_unknown_format_names_the_file(tmp_path: Path) -> None:
    target = tmp_path / "nothing.bin"
    target.write_bytes(b"\x00\x01 not an export")
    result = runner.invoke(app, ["ingest", str(target), "--db", str(tmp_path / "c.duckdb")])
    assert result.exit_code == 2
    assert "nothing.bin" in result.output


def test_stats_without_corpus_exits_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["stats", "--db", str(tmp_path / "none.duckdb")]).exit_code == 2
