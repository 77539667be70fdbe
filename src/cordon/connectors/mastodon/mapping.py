"""Map Mastodon API entities (schema.py Structs) to cordon records."""

from __future__ import annotations

import re
from datetime import datetime

from cordon.connectors.html_text import html_to_text
from cordon.connectors.mastodon.schema import AccountS, AdminAccountS, FollowS, ModerationS, StatusS
from cordon.errors import RecordError
from cordon.model import (
    Account,
    Edge,
    EdgeKind,
    MediaKind,
    MediaRef,
    ModerationAction,
    ModerationEvent,
    Platform,
    Post,
    ProfileField,
)

M = Platform.MASTODON
_KINDS = {
    "image": MediaKind.IMAGE,
    "video": MediaKind.VIDEO,
    "gifv": MediaKind.GIFV,
    "audio": MediaKind.AUDIO,
}
_ACTIONS = {a.value: a for a in ModerationAction}
# <a ... href="..." ...> whose class does not mark a mention or hashtag link
_ANCHOR = re.compile(r"<a\s([^>]*)>", re.IGNORECASE)
_HREF = re.compile(r'href="([^"]*)"', re.IGNORECASE)
_CLASS = re.compile(r'class="([^"]*)"', re.IGNORECASE)


def _links(content: str) -> tuple[str, ...]:
    """Hrefs of the links in a status's HTML, leaving out mention and hashtag links."""
    if "<a" not in content:
        return ()
    out: list[str] = []
    for attrs in _ANCHOR.findall(content):
        klass = _CLASS.search(attrs)
        if klass and "mention" in klass.group(1):
            continue
        href = _HREF.search(attrs)
        if href and href.group(1):
            url = href.group(1).replace("&amp;", "&")
            if url not in out:
                out.append(url)
    return tuple(out)


def account(a: AccountS) -> Account:
    return Account(
        platform=M,
        id=a.id,
        handle=a.username,
        acct=a.acct or a.username,
        display_name=a.display_name,
        bio=html_to_text(a.note) if a.note else "",
        fields=tuple(ProfileField(html_to_text(f.name), html_to_text(f.value)) for f in a.fields),
        created_at=a.created_at,
        url=a.url or "",
        avatar_url=a.avatar or "",
        bot=a.bot,
        locked=a.locked,
        followers_count=a.followers_count,
        following_count=a.following_count,
        statuses_count=a.statuses_count,
    )


def admin_account(a: AdminAccountS) -> Account:
    """The public Account an Admin::Account wraps."""
    return account(a.account)


def _post(s: StatusS) -> Post:
    # a deleted status comes back with its plain-text source instead of HTML content
    text = html_to_text(s.content) if s.content else s.text or ""
    if s.spoiler_text:
        text = f"{s.spoiler_text}\n\n{text}" if text else s.spoiler_text
    quote_id: str | None = None
    if s.quote is not None:
        quote_id = s.quote.quoted_status.id if s.quote.quoted_status is not None else s.quote.quoted_status_id
    return Post(
        platform=M,
        id=s.id,
        account_id=s.account.id,
        created_at=s.created_at,
        text=text,
        lang=s.language or "",
        url=s.url or s.uri or "",
        hashtags=tuple(t.name for t in s.tags),
        mention_account_ids=tuple(m.id for m in s.mentions),
        urls=_links(s.content),
        reply_to_post_id=s.in_reply_to_id,
        reply_to_account_id=s.in_reply_to_account_id,
        reblog_of_post_id=s.reblog.id if s.reblog is not None else None,
        quote_of_post_id=quote_id,
        media=tuple(
            MediaRef(
                platform=M,
                id=m.id,
                kind=_KINDS.get(m.type, MediaKind.UNKNOWN),
                url=m.url or "",
                preview_url=m.preview_url or "",
                remote_url=m.remote_url or "",
                description=m.description or "",
            )
            for m in s.media_attachments
        ),
        card_url=s.card.url if s.card else "",
        card_title=s.card.title if s.card else "",
        card_description=s.card.description if s.card else "",
        sensitive=s.sensitive,
        visibility=s.visibility,
    )


def _edges(s: StatusS, p: Post) -> list[Edge]:
    author = s.account.id
    edges: list[Edge] = []
    if s.in_reply_to_account_id:
        edges.append(Edge(M, EdgeKind.REPLY, author, s.in_reply_to_account_id, s.id, s.created_at))
    if s.reblog is not None:
        edges.append(Edge(M, EdgeKind.REBLOG, author, s.reblog.account.id, s.id, s.created_at))
    if s.quote is not None and s.quote.quoted_status is not None:
        edges.append(Edge(M, EdgeKind.QUOTE, author, s.quote.quoted_status.account.id, s.id, s.created_at))
    edges.extend(Edge(M, EdgeKind.MENTION, author, m, s.id, s.created_at) for m in p.mention_account_ids)
    return edges


class _AccountCache:
    """Statuses embed their author: the same account is decoded again and again. Map it once while its
    embedded form stays the same (msgspec compares Structs field by field, in C)."""

    def __init__(self, limit: int = 50_000) -> None:
        self._seen: dict[str, tuple[AccountS, Account]] = {}
        self._limit = limit

    def __call__(self, a: AccountS) -> Account:
        hit = self._seen.get(a.id)
        if hit is not None and hit[0] == a:
            return hit[1]
        if len(self._seen) >= self._limit:
            self._seen.clear()
        mapped = account(a)
        self._seen[a.id] = (a, mapped)
        return mapped


_embedded_account = _AccountCache()


def status(s: StatusS) -> tuple[list[Account], list[Post], list[Edge]]:
    """A Status and what it embeds (the reblogged or quoted original, their authors) as records."""
    accounts: list[Account] = []
    posts: list[Post] = []
    edges: list[Edge] = []
    stack = [s]
    while stack:
        cur = stack.pop()
        accounts.append(_embedded_account(cur.account))
        post = _post(cur)
        posts.append(post)
        edges.extend(_edges(cur, post))
        if cur.reblog is not None:
            stack.append(cur.reblog)
        if cur.quote is not None and cur.quote.quoted_status is not None:
            stack.append(cur.quote.quoted_status)
    return accounts, posts, edges


def follow(f: FollowS) -> Edge:
    return Edge(M, EdgeKind.FOLLOW, f.account_id, f.target_account_id, None, f.created_at)


def moderation(m: ModerationS) -> ModerationEvent:
    action = _ACTIONS.get(m.action.lower())
    if action is None:
        raise RecordError(
            f"unknown action {m.action!r}; expected one of {', '.join(_ACTIONS)}",
            record_id=m.account_id,
            field="$.action",
        )
    return ModerationEvent(M, m.account_id, action, _utc(m.created_at, m.account_id), m.reason)


def _utc(ts: datetime, record_id: str) -> datetime:
    if ts.tzinfo is None:
        raise RecordError(
            "timestamp has no time zone; expected RFC 3339 with Z or an offset",
            record_id=record_id,
            field="$.created_at",
        )
    return ts
