"""Media resolution reads each media-directory file once per run, however many attachments refer to it."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from tests.factories import make_account, make_media_ref, make_post

from cordon.app.media_resolution import MediaResolver, media_requests
from cordon.connectors.mastodon.reader import MastodonConnector
from cordon.connectors.media_fetch import MediaFetcher
from cordon.corpus import DuckDBCorpus
from cordon.model import PostColumns, RecordBatch
from cordon.sim.export import simulate
from cordon.sim.params import derive_params


def _batch(*refs: tuple[str, str]) -> RecordBatch:
    account = make_account(avatar_url="")
    posts = tuple(
        make_post(account_id=account.id, media=(make_media_ref(id=ref_id, url=url),)) for ref_id, url in refs
    )
    return RecordBatch(source="fake.jsonl", accounts=(account,), posts=posts)


def test_a_file_shared_by_many_refs_is_read_once_per_run(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    (media / "same.png").write_bytes(b"first bytes")
    fetcher = MediaFetcher(media_dir=media)
    with DuckDBCorpus(tmp_path / "c.duckdb") as store:
        resolver = MediaResolver(fetcher, store, blobs=None, workers=2)
        try:
            one = resolver.resolve(
                _batch(
                    ("a1", "https://h.example/m/same.png"),
                    ("a2", "https://other.example/x/same.png"),
                    ("a3", "https://h.example/m/gone.png"),
                    ("a4", "https://h.example/n/gone.png"),
                )
            )
            # the file changes on disk: this run keeps the hashes it read (each file is read once per run)
            (media / "same.png").write_bytes(b"other bytes")
            two = resolver.resolve(_batch(("a5", "https://h.example/m/same.png")))
        finally:
            resolver.close()
    first = hashlib.sha256(b"first bytes").hexdigest()
    assert [(link.ref_id, link.sha256) for link in one.media_links] == [("a1", first), ("a2", first)]
    assert {link.source for link in one.media_links} == {str(media / "same.png")}
    assert [(q.record_id, q.field) for q in one.quarantined] == [
        ("a3", "media_attachments"),
        ("a4", "media_attachments"),
    ]
    assert all(q.source == str(media / "gone.png") for q in one.quarantined)
    assert [(link.ref_id, link.sha256) for link in two.media_links] == [("a5", first)]
    assert [m.sha256 for m in two.media] == [first]


def test_column_batches_give_the_requests_their_posts_give(tmp_path: Path) -> None:
    world = tmp_path / "world"
    simulate(world, derive_params(seed=3, posts=2_000), progress=False)
    column_batches = 0
    requests = 0
    for batch in MastodonConnector(progress=False).read(world / "statuses.jsonl"):
        as_records = replace(batch, posts=tuple(batch.posts))
        column_batches += isinstance(batch.posts, PostColumns)
        found = list(media_requests(batch))
        assert found == list(media_requests(as_records))
        requests += len(found)
    assert column_batches > 0 and requests > 0


class _CountingCorpus(DuckDBCorpus):
    asked = 0

    def linked_media_refs(self, platform: str, refs: list[tuple[str, str]]) -> set[tuple[str, str]]:
        self.asked += 1
        return super().linked_media_refs(platform, refs)


def test_the_store_is_asked_for_links_only_when_it_had_some_when_the_run_began(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    (media / "one.png").write_bytes(b"one")
    (media / "two.png").write_bytes(b"two")
    fetcher = MediaFetcher(media_dir=media)
    with _CountingCorpus(tmp_path / "c.duckdb") as store:
        first_run = MediaResolver(fetcher, store, blobs=None, workers=1)
        try:
            stored = first_run.resolve(_batch(("a1", "https://h.example/m/one.png")))
            store.upsert(stored)
            again = first_run.resolve(_batch(("a1", "https://h.example/m/one.png")))
        finally:
            first_run.close()
        assert store.asked == 0  # an empty store when the run began: nothing to ask it
        assert [link.ref_id for link in stored.media_links] == ["a1"]
        assert again.media_links == ()  # remembered within the run
        second_run = MediaResolver(fetcher, store, blobs=None, workers=1)
        try:
            later = second_run.resolve(
                _batch(("a1", "https://h.example/m/one.png"), ("a2", "https://h.example/m/two.png"))
            )
        finally:
            second_run.close()
        assert store.asked == 1
        assert [link.ref_id for link in later.media_links] == ["a2"]  # a1 was linked by the first run
