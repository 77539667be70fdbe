"""What a case's response reads from the corpus: the records preserved as captured, the media to preserve,
and the network's targets (each member's statuses that carry bank-matched media).

Every query is one set-based DuckDB statement over the members (JSON lines built inside DuckDB); without a
corpus the dossier alone is used (its evidence references posts and media), which is what cases.json holds.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import duckdb

from cordon.app.dossier import Dossier
from cordon.corpus import BlobStore
from cordon.model import BankCategory
from cordon.respond.actions import Target
from cordon.respond.evidence import CapturedFile, MediaItem

SHA256_HEX = frozenset("0123456789abcdef")
_M = "WITH m AS (SELECT unnest($m::VARCHAR[]) AS id)"
_MEMBER_POSTS = "SELECT id FROM posts WHERE platform = $p AND account_id IN (SELECT id FROM m)"
_MEMBER_REFS = f"SELECT id FROM attachments WHERE platform = $p AND post_id IN ({_MEMBER_POSTS})"
_MEMBER_SHAS = f"SELECT sha256 FROM media_links WHERE platform = $p AND ref_id IN ({_MEMBER_REFS})"

# file name -> (table it needs, query of one JSON line per row)
RECORD_QUERIES: dict[str, tuple[str, str]] = {
    "accounts.jsonl": ("accounts", "FROM accounts r WHERE r.platform = $p AND r.id IN (SELECT id FROM m)"),
    "posts.jsonl": ("posts", "FROM posts r WHERE r.platform = $p AND r.account_id IN (SELECT id FROM m)"),
    "attachments.jsonl": ("attachments", f"FROM attachments r WHERE r.platform = $p AND r.post_id IN ({_MEMBER_POSTS})"),
    "media_links.jsonl": ("media_links", f"FROM media_links r WHERE r.platform = $p AND r.ref_id IN ({_MEMBER_REFS})"),
    "media.jsonl": ("media", f"FROM media r WHERE r.sha256 IN ({_MEMBER_SHAS})"),
    "matches.jsonl": ("matches", f"FROM matches r WHERE r.sha256 IN ({_MEMBER_SHAS})"),
    "edges.jsonl": ("edges", "FROM edges r WHERE r.platform = $p AND r.src_account_id IN (SELECT id FROM m)"),
    "moderation.jsonl": ("moderation", "FROM moderation r WHERE r.platform = $p AND r.account_id IN (SELECT id FROM m)"),
    "post_entities.jsonl": ("post_entities", "FROM post_entities r WHERE r.platform = $p AND r.account_id IN (SELECT id FROM m)"),
    "account_entities.jsonl": ("account_entities", "FROM account_entities r WHERE r.platform = $p AND r.account_id IN (SELECT id FROM m)"),
}  # fmt: skip


def _tables(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    return frozenset(
        str(r[0]) for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    )


def _members(dossier: Dossier) -> tuple[str, list[str]]:
    members = dossier.case.members
    platform = str(members[0].platform) if members else ""
    return platform, [m.account_id for m in members]


def capture_records(con: duckdb.DuckDBPyConnection | None, dossier: Dossier) -> tuple[CapturedFile, ...]:
    """The members' records as the corpus captured them, one JSON Lines file per table (graph context:
    their edges; their media rows and bank matches; their entities and moderation history)."""
    if con is None:
        return ()
    platform, members = _members(dossier)
    present = _tables(con)
    files = []
    for name, (table, source) in RECORD_QUERIES.items():
        if table not in present:
            continue
        row = con.execute(
            f"{_M} SELECT string_agg(to_json(r)::VARCHAR, chr(10) ORDER BY to_json(r)::VARCHAR) {source}",
            {"m": members, "p": platform} if "$p" in source else {"m": members},
        ).fetchone()
        text = str(row[0]) + "\n" if row and row[0] else ""
        files.append(CapturedFile(name, text.encode()))
    return tuple(files)


def _dossier_media(dossier: Dossier) -> set[str]:
    found = {q.sha256 for q in dossier.media_queue}
    for member in dossier.case.members:
        for ev in member.evidence:
            found |= {r.id for r in ev.refs if r.kind == "media" and _is_sha256(r.id)}
    return found


def _is_sha256(value: str) -> bool:
    return len(value) == 64 and set(value) <= SHA256_HEX


def preservation_media(
    con: duckdb.DuckDBPyConnection | None, blobs: BlobStore | None, dossier: Dossier
) -> tuple[MediaItem, ...]:
    """Every media item the members posted (from the corpus) and every item the dossier names, with the
    path of its bytes (the blob store first, then the corpus's stored path) and the URL it was seen at."""
    wanted = _dossier_media(dossier)
    known: dict[str, tuple[str, str, str, str]] = {}  # sha256 -> md5, sha1, stored_path, url
    if con is not None and {"media", "media_links", "attachments", "posts"} <= _tables(con):
        platform, members = _members(dossier)
        rows = con.execute(
            f"""{_M}, shas AS ({_MEMBER_SHAS} UNION SELECT unnest($d::VARCHAR[]))
            SELECT md.sha256, md.md5, md.sha1, coalesce(md.stored_path, ''),
                   coalesce((SELECT min(l.url) FROM media_links l WHERE l.sha256 = md.sha256), '')
            FROM media md WHERE md.sha256 IN (SELECT * FROM shas) ORDER BY md.sha256""",
            {"m": members, "p": platform, "d": sorted(wanted)},
        ).fetchall()
        known = {str(r[0]): (str(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in rows}
    items = []
    for sha in sorted(wanted | set(known)):
        md5, sha1, stored, url = known.get(sha, ("", "", "", ""))
        source = _source(blobs, sha, stored)
        if source and not md5:
            md5, sha1 = _md5_sha1(Path(source))
        items.append(MediaItem(sha, md5, sha1, source, url))
    return tuple(items)


def _source(blobs: BlobStore | None, sha: str, stored: str) -> str:
    if blobs is not None and blobs.path_for(sha).is_file():
        return str(blobs.path_for(sha))
    return stored if stored and Path(stored).is_file() else ""


def _md5_sha1(path: Path) -> tuple[str, str]:
    md5, sha1 = hashlib.md5(usedforsecurity=False), hashlib.sha1(usedforsecurity=False)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            md5.update(block)
            sha1.update(block)
    return md5.hexdigest(), sha1.hexdigest()


def network_targets(
    con: duckdb.DuckDBPyConnection | None, dossier: Dossier, roles: frozenset[str] = frozenset()
) -> tuple[Target, ...]:
    """The members to act on (all, or those with `roles`), each with the statuses of the case it posted:
    those its evidence names, and (with a corpus) every status of its carrying child-safety-matched media."""
    chosen = [m for m in dossier.case.members if not roles or m.role in roles]
    posts: dict[str, set[str]] = defaultdict(set)
    media: dict[str, set[str]] = defaultdict(set)
    for member in chosen:
        for ev in member.evidence:
            for ref in ev.refs:
                if ref.kind == "post":
                    posts[member.account_id].add(ref.id)
                elif ref.kind == "media" and _is_sha256(ref.id):
                    media[member.account_id].add(ref.id)
    accounts: dict[str, tuple[str, str]] = {}
    if con is not None and chosen:
        platform, ids = str(chosen[0].platform), [m.account_id for m in chosen]
        accounts, matched = _corpus_targets(con, platform, ids)
        for account_id, post_id, sha in matched:
            posts[account_id].add(post_id)
            media[account_id].add(sha)
    targets = []
    for m in chosen:
        acct, uri = accounts.get(m.account_id, ("", ""))
        targets.append(
            Target(
                platform=str(m.platform),
                account_id=m.account_id,
                acct=acct,
                uri=uri,
                role=m.role,
                status_ids=tuple(sorted(posts[m.account_id])),
                media_sha256=tuple(sorted(media[m.account_id])),
            )
        )
    return tuple(targets)


def _corpus_targets(
    con: duckdb.DuckDBPyConnection, platform: str, ids: Sequence[str]
) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str, str]]]:
    present = _tables(con)
    params = {"m": list(ids), "p": platform}
    accounts: dict[str, tuple[str, str]] = {}
    if "accounts" in present:
        rows = con.execute(
            f"{_M} SELECT id, coalesce(acct, handle, ''), coalesce(url, '') FROM accounts "
            "WHERE platform = $p AND id IN (SELECT id FROM m)",
            params,
        ).fetchall()
        accounts = {str(r[0]): (str(r[1]), str(r[2])) for r in rows}
    matched: list[tuple[str, str, str]] = []
    if {"posts", "attachments", "media_links", "matches"} <= present:
        rows = con.execute(
            f"""{_M} SELECT DISTINCT p.account_id, p.id, l.sha256
            FROM posts p JOIN attachments a ON a.platform = p.platform AND a.post_id = p.id
            JOIN media_links l ON l.platform = a.platform AND l.ref_id = a.id
            WHERE p.platform = $p AND p.account_id IN (SELECT id FROM m)
              AND l.sha256 IN (SELECT sha256 FROM matches WHERE category = $c)""",
            {**params, "c": str(BankCategory.CHILD_SAFETY)},
        ).fetchall()
        matched = [(str(a), str(p), str(s)) for a, p, s in rows]
    return accounts, matched
