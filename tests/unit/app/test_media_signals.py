"""Perceptual hashing of the corpus's media: hashes prefetched while ingest runs are the ones stored, and the
result is the same as hashing afterwards."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from tests.factories import FakeConnector, make_account, make_media_ref, make_post

from cordon.app.ingest import ingest
from cordon.app.media_signals import MediaPrefetch, files_to_prefetch, hash_new_media
from cordon.corpus import DuckDBCorpus
from cordon.model import RecordBatch


def _png(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    out = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).resize((120, 90)).save(out, "PNG")
    return out.getvalue()


def _export(tmp_path: Path) -> tuple[Path, list[RecordBatch]]:
    export = tmp_path / "export"
    (export / "media").mkdir(parents=True)
    for i in range(6):
        (export / "media" / f"{i}.png").write_bytes(_png(i))
    (export / "media" / "broken.png").write_bytes(b"not an image")
    account = make_account(avatar_url="")
    posts = [
        make_post(
            account_id=account.id, media=(make_media_ref(id=f"r{n}", url=f"https://h.example/{name}.png"),)
        )
        for n, name in enumerate([*map(str, range(5)), "0", "broken"])  # 5.png is never referenced
    ]
    return export, [RecordBatch(source="x.fake", accounts=(account,), posts=tuple(posts))]


def _hash_rows(store: DuckDBCorpus) -> list[tuple[object, ...]]:
    return store.connection.execute("SELECT * FROM media_hashes ORDER BY ALL").fetchall()


def test_prefetched_hashes_are_the_ones_hashing_afterwards_gives(tmp_path: Path) -> None:
    export, batches = _export(tmp_path)
    results = {}
    for prefetch in (False, True):
        with DuckDBCorpus(tmp_path / f"c{prefetch}.duckdb") as store:
            files = files_to_prefetch(store, export / "media", 1 << 20)
            assert [f.name for f in files] == [
                "0.png",
                "1.png",
                "2.png",
                "3.png",
                "4.png",
                "5.png",
                "broken.png",
            ]
            with MediaPrefetch(files if prefetch else [], chunk=2) as pre:
                ingest(export, store, connector=FakeConnector(batches), media_dir=export / "media")
                prehashed = pre.collect(finish=True)
            hashed, failed = hash_new_media(store, workers=1, progress=False, prehashed=prehashed)
            assert (hashed, failed) == (5, 1)  # 0..4 hashed, broken.png quarantined; 5.png was never linked
            if prefetch:
                assert len(prehashed) == 6  # every readable image of the directory, by SHA-256
            results[prefetch] = _hash_rows(store)
            (bad,) = store.quarantined()
            assert bad.field == "media.pdq" and bad.source.endswith("broken.png")
            # the next run has nothing left to prefetch: every linked file has its hashes
            assert [f.name for f in files_to_prefetch(store, export / "media", 1 << 20)] == [
                "5.png",
                "broken.png",
            ]
    assert len(results[True]) == 5
    assert results[True] == results[False]


def test_collect_stops_what_has_not_started(tmp_path: Path) -> None:
    for i in range(40):
        (tmp_path / f"{i}.png").write_bytes(_png(i))
    pre = MediaPrefetch(sorted(tmp_path.iterdir()), chunk=1)
    found = pre.collect()  # at once: most chunks are cancelled, none is lost half-done
    assert len(found) < 40
    assert all(h.media.sha256 == sha and h.perceptual for sha, h in found.items())
    assert pre.collect() == {}  # collected once; nothing more runs
