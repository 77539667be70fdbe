"""Matching, composed: bank store + canary -> matcher; files or the corpus's media -> matches.

`load_matcher` is the one way the CLI, the server and `cordon doctor` build a matcher, so the canary always
checks the matcher that production uses. `match_corpus` is the `cordon analyze` step: the corpus's stored
hashes against a bank file, results in the corpus's ``matches`` table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from cordon.corpus import DuckDBCorpus
from cordon.errors import BankError, HashError
from cordon.model import Bank, BankCategory, HashAlgo, Match, MediaHash
from cordon.signals.media.bank_formats import BankFormat, EntryColumns, read_bank_file
from cordon.signals.media.banks import DEFAULT_PDQ_THRESHOLD, BankStore, BankVersion, ImportMode
from cordon.signals.media.canary import canary_bank, check_canary
from cordon.signals.media.hashing import HashedMedia, hash_many
from cordon.signals.media.matcher import Matcher
from cordon.signals.media.ncmec_hashsharing import BANK_SOURCE_PREFIX, fetch_ncmec_updates


def load_matcher(store: BankStore, names: Sequence[str] = (), *, include_canary: bool = True) -> Matcher:
    """A matcher over the banks `names` (default: all) at their latest versions, plus every safelist bank
    (a safelist always applies) and the built-in canary bank."""
    wanted = set(names)
    banks = [
        (bank, store.entries(bank.name))
        for bank in store.banks()
        if not wanted or bank.name in wanted or bank.category is BankCategory.SAFELIST
    ]
    missing = wanted - {bank.name for bank, _ in banks}
    if missing:
        known = ", ".join(b.name for b in store.banks()) or "none"
        raise BankError(f"no bank named {', '.join(sorted(missing))} in {store.directory} (banks: {known})")
    if include_canary:
        banks.append(canary_bank())
    return Matcher(banks)


@dataclass(frozen=True, slots=True)
class FileMatches:
    """One file's matches, or the error that stopped it from being hashed."""

    source: str
    sha256: str
    matches: tuple[Match, ...]
    error: str | None = None


def match_files(
    paths: Sequence[Path], matcher: Matcher, *, workers: int = 1, progress: bool | None = None
) -> list[FileMatches]:
    """Hash each file (same path as `cordon hash`) and match it; a bad file gives its error, nothing stops."""
    results = hash_many(list(paths), workers=workers, progress=progress)
    hashed = [r for r in results if isinstance(r, HashedMedia)]
    by_sha: dict[str, list[Match]] = {}
    for match in matcher.match_media(hashed):
        by_sha.setdefault(match.sha256, []).append(match)
    out: list[FileMatches] = []
    for path, result in zip(paths, results, strict=True):
        if isinstance(result, HashError):
            out.append(FileMatches(source=str(path), sha256="", matches=(), error=str(result)))
            continue
        found = sorted(by_sha.get(result.media.sha256, []), key=lambda m: (m.bank, m.distance, m.entry_id))
        out.append(
            FileMatches(source=result.source, sha256=result.media.sha256, matches=tuple(dict.fromkeys(found)))
        )
    return out


def import_bank_file(
    store: BankStore,
    path: Path,
    *,
    name: str,
    category: BankCategory | None,
    threshold: int | None = None,
    fmt: BankFormat = BankFormat.CSV,
) -> BankVersion:
    """Read `path` and store it as the next version of bank `name` (the file is the whole list)."""
    existing = {b.name: b for b in store.banks()}
    effective = category or (existing[name].category if name in existing else None)
    if effective is None:
        raise BankError(f"bank {name!r} is new: give its category (e.g. --category child-safety)")
    columns = read_bank_file(path, fmt, category=effective)
    return store.import_entries(name, columns, category=category, threshold=threshold, source=str(path))


def sync_ncmec(
    store: BankStore,
    *,
    name: str,
    username: str,
    password: str,
    environment: str = "Industry",
    base_url: str | None = None,
    since: int | None = None,
) -> BankVersion:
    """Fetch NCMEC updates since the last sync of bank `name` (its latest source records the timestamp) and
    store them as its next version."""
    start = since if since is not None else _last_ncmec_timestamp(store, name)
    updates = fetch_ncmec_updates(
        username, password, environment=environment, base_url=base_url, start_timestamp=start, bank=name
    )
    return store.import_entries(
        name,
        updates.columns,
        category=BankCategory.CHILD_SAFETY,
        source=f"{BANK_SOURCE_PREFIX}{environment}:{updates.max_timestamp}",
        mode=ImportMode.UPDATE,
        removed_ids=updates.deleted_ids,
    )


def _last_ncmec_timestamp(store: BankStore, name: str) -> int:
    if name not in {b.name for b in store.banks()}:
        return 0
    source = store.bank(name).source
    if not source.startswith(BANK_SOURCE_PREFIX):
        return 0
    try:
        return int(source.rsplit(":", 1)[1])
    except ValueError:
        return 0


def match_corpus(
    corpus: DuckDBCorpus, bank_file: Path, *, category: BankCategory = BankCategory.CHILD_SAFETY
) -> int:
    """Match every stored media hash of the corpus against the bank file (CSV, or ThreatExchange ``.te``);
    replaces the corpus's ``matches`` table. Entries without a category get `category`. Returns the count.

    The built-in canary is matched first through the same matcher: if it is not found, `CanaryError` is
    raised and nothing is written, so a broken matcher can never pass for a clean corpus."""
    fmt = BankFormat.TE if bank_file.suffix == ".te" else BankFormat.CSV
    columns = read_bank_file(bank_file, fmt, category=category)
    bank = Bank(
        name=bank_file.stem,
        category=category,
        threshold=DEFAULT_PDQ_THRESHOLD,
        version=1,
        source=str(bank_file),
    )
    matcher = Matcher([(bank, columns), canary_bank()])
    check_canary(matcher)  # a matcher that cannot find the canary must not report "no matches"
    con = corpus.connection
    hashes = [
        MediaHash(sha256=s, algo=HashAlgo(a), value=v, quality=q, frame=f)
        for s, a, v, q, f in con.execute(
            "SELECT sha256, algo, value, quality, frame FROM media_hashes"
        ).fetchall()
    ]
    for sha256, md5, sha1 in con.execute("SELECT sha256, md5, sha1 FROM media").fetchall():
        hashes += [
            MediaHash(sha256=sha256, algo=algo, value=value)
            for algo, value in ((HashAlgo.SHA256, sha256), (HashAlgo.MD5, md5), (HashAlgo.SHA1, sha1))
            if value
        ]
    best: dict[tuple[str, str, str], Match] = {}
    for m in matcher.match(hashes):
        key = (m.sha256, m.bank, m.entry_id)
        if key not in best or m.distance < best[key].distance:
            best[key] = m
    corpus.clear_signals("matches")
    if best:
        rows = list(best.values())
        corpus.upsert_signals("matches", _match_table(rows))
    return len(best)


def _match_table(rows: list[Match]) -> pa.Table:
    return pa.table(
        {
            "sha256": [m.sha256 for m in rows],
            "bank": [m.bank for m in rows],
            "bank_version": pa.array([m.bank_version for m in rows], pa.int32()),
            "entry_id": [m.entry_id for m in rows],
            "algo": [str(m.algo) for m in rows],
            "distance": pa.array([m.distance for m in rows], pa.int32()),
            "category": [str(m.category) for m in rows],
        }
    )


def entries_of(store: BankStore, name: str, version: int | None = None) -> EntryColumns:
    """Bank entries for export (a thin pass-through that keeps the CLI off the stores)."""
    return store.entries(name, version)
