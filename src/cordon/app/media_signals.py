"""Perceptual hashes of the corpus's media: every media item not hashed yet is read from where ingest found
it (the kept copy, or the local file it came from) and hashed on a process pool; failures are quarantined."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from cordon.corpus import DuckDBCorpus
from cordon.errors import HashError
from cordon.model import Quarantined, RecordBatch
from cordon.signals.media.hashing import hash_many

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
) -> tuple[int, int]:
    """Hash every media item without a perceptual hash; returns (hashed, failed). Re-running does nothing new."""
    todo = [(sha, path) for sha, path in store.connection.execute(_TODO).fetchall()]
    local = [(sha, path) for sha, path in todo if path and Path(path).is_file()]
    missing = [(sha, path) for sha, path in todo if not (path and Path(path).is_file())]
    hashed = failed = 0
    quarantined = [
        Quarantined(str(path or ""), None, sha, "media.pdq", "bytes no longer available to hash", "")
        for sha, path in missing
    ]
    for start in range(0, len(local), chunk):
        part = local[start : start + chunk]
        results = hash_many([Path(p) for _, p in part], workers=workers, progress=progress)
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
        if on_chunk is not None:
            on_chunk(min(start + chunk, len(local)), len(local))
    if quarantined:
        failed = len(quarantined)
        store.upsert(RecordBatch(source="media-hashing", quarantined=tuple(quarantined)))
    return hashed, failed


_SCHEMA = pa.schema(
    [("sha256", pa.string()), ("algo", pa.string()), ("frame", pa.int32()), ("value", pa.string()),
     ("quality", pa.int32()), ("timestamp_s", pa.float64())]
)  # fmt: skip
