"""Perceptual hashes of the corpus's media: every media item not hashed yet is read from where ingest found
it (the kept copy, or the local file it came from) and hashed on a process pool; failures are quarantined.

`MediaPrefetch` hashes an export's media directory in one background process while ingest (one core of Python)
runs, so that the hashing step afterwards only stores what was already computed; hashes are the same either
way, since a file's hashes depend on its bytes alone and results are matched to media by SHA-256.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from types import TracebackType

import pyarrow as pa

from cordon.corpus import DuckDBCorpus
from cordon.errors import HashError
from cordon.model import Quarantined, RecordBatch
from cordon.signals.media.hashing import HashedMedia, hash_many, hash_paths

_TODO = """
SELECT m.sha256, coalesce(nullif(m.stored_path, ''), any_value(l.source)) AS path
FROM media m LEFT JOIN media_links l USING (sha256)
WHERE m.sha256 NOT IN (SELECT sha256 FROM media_hashes)
  AND m.sha256 NOT IN (SELECT record_id FROM quarantine WHERE field = 'media.pdq' AND record_id IS NOT NULL)
GROUP BY m.sha256, m.stored_path
ORDER BY m.sha256
"""


def hash_new_media(
    store: DuckDBCorpus,
    *,
    workers: int | None = None,
    progress: bool | None = None,
    chunk: int = 2_000,
    on_chunk: Callable[[int, int], None] | None = None,
    prehashed: Mapping[str, HashedMedia] | None = None,
) -> tuple[int, int]:
    """Hash every media item without a perceptual hash; returns (hashed, failed). Re-running does nothing new.

    `prehashed` (SHA-256 -> hashes of those bytes, e.g. from `MediaPrefetch`) is used instead of hashing again.
    """
    prehashed = prehashed or {}
    todo = [(sha, path) for sha, path in store.connection.execute(_TODO).fetchall()]
    local = [(sha, path) for sha, path in todo if sha in prehashed or (path and Path(path).is_file())]
    missing = [
        (sha, path) for sha, path in todo if sha not in prehashed and not (path and Path(path).is_file())
    ]
    hashed = failed = 0
    quarantined = [
        Quarantined(str(path or ""), None, sha, "media.pdq", "bytes no longer available to hash", "")
        for sha, path in missing
    ]
    for start in range(0, len(local), chunk):
        part = local[start : start + chunk]
        fresh = iter(
            hash_many(
                [Path(p) for sha, p in part if sha not in prehashed], workers=workers, progress=progress
            )
        )
        results = [prehashed[sha] if sha in prehashed else next(fresh) for sha, _ in part]
        hashed += _store_hashes(store, part, results, quarantined)
        if on_chunk is not None:
            on_chunk(min(start + chunk, len(local)), len(local))
    if quarantined:
        failed = len(quarantined)
        store.upsert(RecordBatch(source="media-hashing", quarantined=tuple(quarantined)))
    return hashed, failed


def _store_hashes(
    store: DuckDBCorpus,
    part: list[tuple[str, str]],
    results: list[HashedMedia | HashError],
    quarantined: list[Quarantined],
) -> int:
    """Upsert the perceptual hashes of `part` (sha256, path); failures go to `quarantined`. Returns how many."""
    hashed = 0
    rows: dict[str, list[object]] = {
        k: [] for k in ("sha256", "algo", "frame", "value", "quality", "timestamp_s")
    }
    for (sha, path), result in zip(part, results, strict=True):
        if isinstance(result, HashError):
            quarantined.append(Quarantined(str(path), None, sha, "media.pdq", str(result), ""))
            continue
        for i, h in enumerate(result.perceptual):
            rows["sha256"].append(sha)
            rows["algo"].append(str(h.algo))
            rows["frame"].append(h.frame if h.frame is not None else i)
            rows["value"].append(h.value)
            rows["quality"].append(h.quality)
            rows["timestamp_s"].append(h.timestamp_s)
        hashed += 1
    store.upsert_signals("media_hashes", pa.table(rows, schema=_SCHEMA))
    return hashed


class MediaPrefetch:
    """Hashes media files in background processes, to be collected later by SHA-256 (see `hash_new_media`).

    Files are hashed in chunks of `chunk` per task; `collect` cancels the chunks not started yet and waits for
    the ones under way, so that it returns within one chunk's time. A file that fails is left out (the hashing
    step hashes it again and quarantines it with its reason); a crashed worker ends the prefetch.
    """

    def __init__(self, paths: list[Path], *, workers: int = 1, chunk: int = 32) -> None:
        self._pool = ProcessPoolExecutor(max_workers=workers) if paths else None
        self._futures: list[Future[list[HashedMedia | HashError]]] = []
        if self._pool is not None:
            for start in range(0, len(paths), chunk):
                self._futures.append(
                    self._pool.submit(hash_paths, [str(p) for p in paths[start : start + chunk]])
                )

    def collect(self, *, finish: bool = False) -> dict[str, HashedMedia]:
        """SHA-256 -> hashes of every file hashed so far (`finish`: of every file); stops the prefetch."""
        futures, self._futures = self._futures, []
        for future in futures if not finish else ():
            future.cancel()
        found: dict[str, HashedMedia] = {}
        for future in futures:
            try:
                results = future.result()
            except (CancelledError, BrokenProcessPool):
                continue
            found.update((r.media.sha256, r) for r in results if isinstance(r, HashedMedia))
        self.close()
        return found

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> MediaPrefetch:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def files_to_prefetch(store: DuckDBCorpus, media_dir: Path | None, max_bytes: int) -> list[Path]:
    """The files of `media_dir` (up to `max_bytes` each) not yet linked to hashed media, in name order."""
    if media_dir is None or not media_dir.is_dir():
        return []
    rows = store.connection.execute(
        "SELECT DISTINCT l.source FROM media_links l SEMI JOIN media_hashes h USING (sha256)"
    ).fetchall()
    known = {r[0] for r in rows}
    out = []
    for entry in sorted(os.scandir(media_dir), key=lambda e: e.name):
        if entry.is_file() and entry.path not in known and entry.stat().st_size <= max_bytes:
            out.append(Path(entry.path))
    return out


_SCHEMA = pa.schema(
    [("sha256", pa.string()), ("algo", pa.string()), ("frame", pa.int32()), ("value", pa.string()),
     ("quality", pa.int32()), ("timestamp_s", pa.float64())]
)  # fmt: skip
