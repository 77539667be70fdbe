"""Entity extraction of new posts and profiles in worker processes stores what one process stores."""

from __future__ import annotations

from pathlib import Path

from cordon.app import entity_signals
from cordon.app.ingest import MediaMode, ingest
from cordon.corpus import DuckDBCorpus
from cordon.sim.export import simulate
from cordon.sim.params import derive_params


def _extract(world: Path, db: Path, **kwargs: int) -> tuple[entity_signals.EntityScan, dict[str, str]]:
    ingest(world, db, media=MediaMode.SKIP, workers=1)
    with DuckDBCorpus(db) as store:
        scan = entity_signals.extract_new(store, **kwargs)
        again = entity_signals.extract_new(store, **kwargs)
        assert again == entity_signals.EntityScan(0, 0, 0, 0)  # every post and profile was marked as read
        sums = {t: store.checksum(t) for t in ("post_entities", "account_entities", "scanned")}
    return scan, sums


def test_posts_and_profiles_scanned_in_worker_processes_give_the_same_entities(tmp_path: Path) -> None:
    world = tmp_path / "world"
    simulate(world, derive_params(seed=5, posts=4_000), progress=False)
    one, one_sums = _extract(world, tmp_path / "one.duckdb", workers=1)
    many, many_sums = _extract(world, tmp_path / "many.duckdb", workers=2, batch_rows=700)
    assert one.posts > 5 * 700  # several batches, so the worker processes were used
    assert one.accounts > 2 * 700 // 4  # profiles too (batches of a quarter)
    assert one.post_entities > 0 and one.account_entities > 0
    assert many == one
    assert many_sums == one_sums
