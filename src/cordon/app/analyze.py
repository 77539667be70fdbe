"""`cordon analyze`: from an export and a hash bank to network cases, on the embedded store.

ingest (resumes from its cursor) -> perceptual hashes of new media -> matches against the bank -> entities of
new posts and accounts -> co-action pairs -> detectors -> cases -> cases.json + report.html. Every step keeps
its results in the corpus file, so re-running on a grown export hashes, matches and extracts only what is new;
detection and case building are re-run over the whole corpus (they are fast, and new posts change old cases).
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cordon.app import entity_signals, matching, network
from cordon.app.allocator import tune_allocator
from cordon.app.dossier import Dossier
from cordon.app.ingest import IngestReport, default_media_dir, ingest
from cordon.app.media_signals import MediaPrefetch, files_to_prefetch, hash_new_media
from cordon.app.reporting import AnalysisMeta, write_cases_json, write_report
from cordon.connectors.media_fetch import DEFAULT_MAX_BYTES
from cordon.corpus import DuckDBCorpus
from cordon.model import CaseLabel, Platform


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    cases_json: Path
    report_html: Path
    db: Path
    ingest: IngestReport
    hashed: int
    hash_failures: int
    matches: int
    dossiers: tuple[Dossier, ...]
    timings: tuple[tuple[str, float], ...]

    @property
    def child_safety_cases(self) -> int:
        return sum(1 for d in self.dossiers if d.case.label is CaseLabel.CHILD_SAFETY)


def analyze(
    export: Path,
    bank: Path,
    out: Path,
    *,
    db: Path | None = None,
    platform: Platform | None = None,
    config: network.NetworkConfig | None = None,
    workers: int | None = None,
    memory_limit: str = "4GB",
    step: Callable[[str], None] = lambda _: None,
) -> AnalysisResult:
    """Analyse `export` against the hash bank file `bank`; write cases.json and report.html into `out`."""
    tune_allocator()  # before the media pool forks: its processes inherit it
    config = config or network.NetworkConfig()
    started = time.perf_counter()
    timings: list[tuple[str, float]] = []
    out.mkdir(parents=True, exist_ok=True)
    db = db or out / "corpus.duckdb"

    def timed(name: str) -> None:
        timings.append((name, time.perf_counter()))
        step(name)

    def open_corpus() -> DuckDBCorpus:
        return DuckDBCorpus(db, memory_limit=memory_limit)

    store = open_corpus()
    try:
        timed("ingest")
        # ingest is one core of Python: the export's media files are hashed on the other one meanwhile
        media_dir = default_media_dir(export.resolve())
        with MediaPrefetch(files_to_prefetch(store, media_dir, DEFAULT_MAX_BYTES)) as prefetch:
            report = ingest(export, store)
            timed("media prefetch")
            prehashed = prefetch.collect()
        timed("checkpoint (ingest)")
        # a large corpus is closed (checkpointed) and opened again: what ingest filled stays on disk, and
        # DuckDB's memory is left to the steps below (at 10M posts ingest's tables held most of a 4 GB limit,
        # and extracting entities then ran out of memory)
        store = _reopened(store, open_corpus)
        timed("media hashes")
        hashed, failed = hash_new_media(store, workers=workers, progress=False, prehashed=prehashed)
        timed("bank matches")
        n_matches = matching.match_corpus(store, bank)
        timed("entities")
        entity_signals.extract_new(store)
        timed("checkpoint (signals)")
        # again: the entities and scanned keys found above stay on disk during co-action (at 10M posts they
        # and the co-action key table did not fit in 4 GB together)
        store = _reopened(store, open_corpus)
        platforms = [platform] if platform else _platforms(store)
        dossiers: list[Dossier] = []
        for p in platforms:
            timed(f"co-action ({p})")
            network.coaction_pairs(store.connection, p, config)
            dossiers += network.find_cases(
                store.connection, p, config, step=functools.partial(_suffixed, timed, p)
            )
        timed("write")
        posts, accounts, media = _counts(store)
        meta = AnalysisMeta(
            source=str(export.resolve()),
            bank=str(bank.resolve()),
            generated_at=datetime.now(UTC),
            posts=posts,
            accounts=accounts,
            media=media,
            matches=n_matches,
            elapsed_s=round(time.perf_counter() - started, 2),
        )
        cases_json, report_html = out / "cases.json", out / "report.html"
        write_cases_json(cases_json, meta, dossiers)
        write_report(report_html, meta, dossiers)
    finally:
        store.close()
    timings.append(("end", time.perf_counter()))
    spans = tuple((name, round(nxt - at, 3)) for (name, at), (_, nxt) in itertools.pairwise(timings))
    return AnalysisResult(
        cases_json, report_html, db, report, hashed, failed, n_matches, tuple(dossiers), spans
    )


# a corpus of at least this many posts is closed and opened again between the heavy steps (see `analyze`); a
# smaller one stays open (1M posts: the two checkpoints took 5-6 s, and peak RSS was 1.7 GB)
REOPEN_POSTS = 3_000_000


def _reopened(store: DuckDBCorpus, open_corpus: Callable[[], DuckDBCorpus]) -> DuckDBCorpus:
    """`store`, or, for a corpus of `REOPEN_POSTS` posts or more, the same corpus closed and opened again."""
    if _counts(store)[0] < REOPEN_POSTS:
        return store
    store.close()
    return open_corpus()


def _suffixed(timed: Callable[[str], None], platform: Platform, name: str) -> None:
    timed(f"{name} ({platform})")


def _platforms(store: DuckDBCorpus) -> list[Platform]:
    rows = store.connection.execute("SELECT DISTINCT platform FROM posts ORDER BY 1").fetchall()
    return [Platform(r[0]) for r in rows]


def _counts(store: DuckDBCorpus) -> tuple[int, int, int]:
    row = store.connection.execute(
        "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM accounts), (SELECT count(*) FROM media)"
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])
