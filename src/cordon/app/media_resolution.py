"""Resolve the media a batch refers to (attachments, avatars): fetch, hash, keep or reference, in a thread pool.

Failures never stop ingest: each becomes a quarantined record naming the file or URL, the media id and why.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import StrEnum

from cordon.connectors.media_fetch import MediaFetcher, local_file_name
from cordon.corpus import BlobStore, CorpusStore
from cordon.errors import MediaError
from cordon.model import Media, MediaLink, Platform, PostColumns, Quarantined, RecordBatch
from cordon.signals.media.exact import exact_hashes

_SEEN_LIMIT = 500_000  # refs remembered within a run; past it the store answers "already linked?"


class MediaMode(StrEnum):
    """What ingest does with media bytes."""

    KEEP = "keep"  # fetch, hash, store the bytes content-addressed
    REFERENCE = "reference"  # fetch and hash, store only hashes and where the bytes are
    SKIP = "skip"  # do not fetch media at all


@dataclass(frozen=True, slots=True)
class MediaRequest:
    """One media item to resolve: the attachment id (or "avatar:<account id>") and its platform URL."""

    platform: Platform
    ref_id: str
    url: str
    field: str  # "media_attachments" | "avatar"


@dataclass(frozen=True, slots=True)
class Resolved:
    media: Media
    link: MediaLink


def media_requests(batch: RecordBatch) -> Iterator[MediaRequest]:
    """The platform media a batch refers to. Links in post text are never among them."""
    posts = batch.posts
    if isinstance(posts, PostColumns):  # the media columns as they are, without building each post
        refs = posts.media
        for ref_id, url, remote_url in zip(refs.id, refs.url, refs.remote_url, strict=True):
            if url or remote_url:
                yield MediaRequest(posts.platform, ref_id, url or remote_url, "media_attachments")
    else:
        for post in posts:
            for ref in post.media:
                url = ref.url or ref.remote_url
                if url:
                    yield MediaRequest(ref.platform, ref.id, url, "media_attachments")
    for account in batch.accounts:
        if account.avatar_url:
            yield MediaRequest(account.platform, f"avatar:{account.id}", account.avatar_url, "avatar")


class MediaResolver:
    """Resolves the media of each batch; remembers what it already resolved in this run."""

    def __init__(
        self, fetcher: MediaFetcher, store: CorpusStore, *, blobs: BlobStore | None, workers: int = 8
    ) -> None:
        self._fetcher = fetcher
        self._store = store
        self._blobs = blobs
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cordon-media")
        self._seen: set[tuple[Platform, str, str]] = set()
        # per platform: whether the store held media links when this run first asked (else the store is not
        # asked which refs are linked: it would scan its links once per batch for nothing)
        self._linked_before: dict[Platform, bool] = {}
        # local media file name -> its hashes (and stored copy) and path, so that a file referenced by many
        # attachments or avatars is read and hashed once per run (a 1M-post world links 145k refs to 8.6k files)
        self._by_file: dict[str, tuple[Media, str]] = {}

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def resolve(self, batch: RecordBatch) -> RecordBatch:
        """`batch` with its media, media links, and media failures (quarantined) filled in."""
        media, links, failed = self.resolve_requests(media_requests(batch))
        if not (media or links or failed):
            return batch
        return replace(
            batch,
            media=batch.media + media,
            media_links=batch.media_links + links,
            quarantined=batch.quarantined + failed,
        )

    def resolve_requests(
        self, requests: Iterable[MediaRequest]
    ) -> tuple[tuple[Media, ...], tuple[MediaLink, ...], tuple[Quarantined, ...]]:
        """The media and links of `requests` not resolved before (in this run or in the store), and the
        failures, quarantined."""
        todo = self._new_requests(requests)
        if not todo:
            return (), (), ()
        # each media-directory file is read and hashed once per run: requests for a file already hashed are
        # answered here, and of the rest only one request per file goes to the pool (the others follow it)
        outcomes: list[Resolved | MediaError | None] = [None] * len(todo)
        first_of: dict[str, int] = {}
        later: list[tuple[int, int]] = []  # (request, the request that fetches its file)
        pending: list[int] = []
        media_dir = self._fetcher.media_dir
        for i, request in enumerate(todo):
            name = local_file_name(request.url) if media_dir is not None else ""
            known = self._by_file.get(name) if name else None
            if known is not None:
                outcomes[i] = _linked(request, *known)
            elif name in first_of:
                later.append((i, first_of[name]))
            else:
                if name and media_dir is not None and (media_dir / name).is_file():
                    first_of[name] = i
                pending.append(i)
        fetched = self._pool.map(self._resolve_one, [todo[i] for i in pending]) if len(pending) > 1 else (
            [self._resolve_one(todo[i]) for i in pending]
        )  # fmt: skip
        for i, done in zip(pending, fetched, strict=True):
            outcomes[i] = done
        for i, j in later:
            first = outcomes[j]
            outcomes[i] = (
                _linked(todo[i], first.media, first.link.source) if isinstance(first, Resolved) else first
            )
        media: list[Media] = []
        links: list[MediaLink] = []
        failed: list[Quarantined] = []
        for request, outcome in zip(todo, outcomes, strict=True):
            if isinstance(outcome, MediaError):
                failed.append(
                    Quarantined(
                        source=outcome.source,
                        line=None,
                        record_id=request.ref_id,
                        field=request.field,
                        reason=outcome.reason,
                        raw=request.url,
                    )
                )
            elif outcome is not None:
                media.append(outcome.media)
                links.append(outcome.link)
        return tuple(media), tuple(links), tuple(failed)

    def _new_requests(self, requests: Iterable[MediaRequest]) -> list[MediaRequest]:
        if len(self._seen) > _SEEN_LIMIT:
            self._seen.clear()
        fresh: dict[tuple[Platform, str, str], MediaRequest] = {}
        seen = self._seen
        for request in requests:
            key = (request.platform, request.ref_id, request.url)
            if key not in seen:
                fresh[key] = request
        seen.update(fresh)
        if not fresh:
            return []
        todo: list[MediaRequest] = []
        for platform in {r.platform for r in fresh.values()}:
            mine = [r for r in fresh.values() if r.platform == platform]
            if platform not in self._linked_before:
                self._linked_before[platform] = self._store.has_media_links(platform.value)
            if not self._linked_before[platform]:
                # none stored when this run began: every link there is, this run made (and remembers, unless
                # its memory was emptied: then a ref seen again is linked again, from the files it read)
                todo += mine
                continue
            linked = self._store.linked_media_refs(platform.value, [(r.ref_id, r.url) for r in mine])
            todo += [r for r in mine if (r.ref_id, r.url) not in linked] if linked else mine
        return todo

    def _resolve_one(self, request: MediaRequest) -> Resolved | MediaError:
        try:
            fetched = self._fetcher.fetch(request.url, record_id=request.ref_id, field=request.field)
        except MediaError as exc:
            return exc
        mime = fetched.mime or (mimetypes.guess_type(fetched.source)[0] or "")
        media = exact_hashes(fetched.data, mime=mime)
        if self._blobs is not None:
            media = replace(media, stored_path=str(self._blobs.put(media.sha256, fetched.data)))
        link = MediaLink(
            request.platform, request.ref_id, media.sha256, source=fetched.source, url=request.url
        )
        local = self._fetcher.local_path(request.url)
        if local is not None and fetched.source == str(local):
            self._by_file[local_file_name(request.url)] = (media, fetched.source)
        return Resolved(media, link)


def _linked(request: MediaRequest, media: Media, source: str) -> Resolved:
    """`request` resolved to media already read from the local file `source`."""
    link = MediaLink(request.platform, request.ref_id, media.sha256, source=source, url=request.url)
    return Resolved(media, link)
