"""NCMEC hash sharing: fetch entry updates through python-threatexchange's client and turn them into bank
entries and deletions for `BankStore.import_entries(..., mode=ImportMode.UPDATE)`.

We use `threatexchange.exchanges.clients.ncmec.hash_api.NCMECHashAPI` rather than our own HTTP code: it is
maintained against NCMEC's API (paging with ``next``, namespaces, deleted entries, retries). Its
`NCMECEnvironment` names NCMEC's hosts; `base_url` overrides the host (a loopback fake in tests, a proxy).

Entries are identified as ``<member id>-<entry id>`` (entry ids are unique per member). Of the fingerprints
NCMEC shares, cordon keeps MD5, SHA-1 and PDQ; others (PhotoDNA, NetClean, video fingerprints) are counted as
skipped. Deleted entries (``deletedImage`` / ``deletedVideo``) become removals.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cordon.errors import BankError, ConfigError
from cordon.model import BankCategory, BankEntry, HashAlgo
from cordon.signals.media.bank_formats import HEX_LENGTH, EntryColumns

BANK_SOURCE_PREFIX = "ncmec:"
_FINGERPRINTS: dict[str, HashAlgo] = {"md5": HashAlgo.MD5, "sha1": HashAlgo.SHA1, "pdq": HashAlgo.PDQ}


@dataclass(frozen=True, slots=True)
class NcmecUpdates:
    """What one fetch brought: entries to add or replace, entry ids to delete, and where to resume."""

    columns: EntryColumns
    deleted_ids: tuple[str, ...]
    max_timestamp: int
    pages: int
    skipped_fingerprints: int


def _client(username: str, password: str, environment: str, base_url: str | None) -> Any:
    try:
        from threatexchange.exchanges.clients.ncmec import hash_api  # noqa: PLC0415 - optional dependency
    except ImportError as exc:
        raise ConfigError(
            "NCMEC hash sharing needs python-threatexchange: pip install 'cordon[hashsharing]'"
        ) from exc
    if not username or not password:
        raise ConfigError("NCMEC hash sharing needs a user name and a password (NCMEC gives them to members)")
    try:
        env = hash_api.NCMECEnvironment[environment]
    except KeyError as exc:
        names = ", ".join(e.name for e in hash_api.NCMECEnvironment)
        raise ConfigError(f"unknown NCMEC environment {environment!r}; use one of {names}") from exc
    api = hash_api.NCMECHashAPI(username, password, env)
    if base_url:
        api._base_url = base_url.rstrip("/")  # the client has no public setting for the host
    return api


def fetch_ncmec_updates(
    username: str,
    password: str,
    *,
    environment: str = "Industry",
    base_url: str | None = None,
    start_timestamp: int = 0,
    end_timestamp: int = 0,
    category: BankCategory = BankCategory.CHILD_SAFETY,
    bank: str = "ncmec",
) -> NcmecUpdates:
    """Every update between the two Unix timestamps (0..now by default), all pages.

    NCMEC does not return entries in time order, so the whole range is read before anything is returned;
    resume the next sync from `max_timestamp`. Network and HTTP failures raise `BankError`."""
    api = _client(username, password, environment, base_url)
    entries: list[BankEntry] = []
    deleted: list[str] = []
    skipped = pages = 0
    max_ts = start_timestamp
    links_seen: set[str] = set()
    try:
        for page in api.get_entries_iter(start_timestamp=start_timestamp, end_timestamp=end_timestamp):
            pages += 1
            if page.next and page.next in links_seen:  # the client would follow it for ever
                raise BankError(
                    f"NCMEC hash sharing ({environment}): page {pages} links back to an earlier page "
                    f"({page.next}); stopped, nothing imported"
                )
            links_seen.add(page.next)
            max_ts = max(max_ts, int(page.max_timestamp))
            for update in page.updates:
                entry_id = f"{update.member_id}-{update.id}"
                if update.deleted:
                    deleted.append(entry_id)
                    continue
                kept, dropped = _entries(update, entry_id, category, bank)
                entries.extend(kept)
                skipped += dropped
    except Exception as exc:  # requests' and the XML parser's errors: name the source, keep the cause
        if isinstance(exc, BankError):
            raise
        raise BankError(
            f"NCMEC hash sharing ({environment}{' at ' + base_url if base_url else ''}): {exc}"
        ) from exc
    # an entry deleted and re-added in the same range: the later state wins; the client gives no order, so
    # an id present as an entry is kept
    present = {e.entry_id for e in entries}
    return NcmecUpdates(
        columns=EntryColumns.from_entries(entries),
        deleted_ids=tuple(sorted(set(deleted) - present)),
        max_timestamp=max_ts,
        pages=pages,
        skipped_fingerprints=skipped,
    )


def _entries(update: Any, entry_id: str, category: BankCategory, bank: str) -> tuple[list[BankEntry], int]:
    note = f"ncmec {update.entry_type.value}" + (
        f" classification={update.classification}" if update.classification else ""
    )
    kept: list[BankEntry] = []
    skipped = 0
    for name, value in _fingerprints(update.fingerprints):
        algo = _FINGERPRINTS.get(name.lower())
        clean = value.strip().lower()
        if algo is None or not re.fullmatch(f"[0-9a-f]{{{HEX_LENGTH[algo]}}}", clean):
            skipped += 1
            continue
        kept.append(
            BankEntry(bank=bank, entry_id=entry_id, algo=algo, value=clean, category=category, note=note)
        )
    return kept, skipped


def _fingerprints(fingerprints: dict[str, str]) -> Iterator[tuple[str, str]]:
    yield from sorted(fingerprints.items())
