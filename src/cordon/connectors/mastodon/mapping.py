"""Map Mastodon API entities (schema.py Structs) to cordon records; statuses column by column."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from itertools import accumulate

import msgspec

from cordon.connectors.html_text import html_texts, html_to_text
from cordon.connectors.mastodon.schema import (
    AccountS,
    AdminAccountS,
    AttachmentIn,
    CardIn,
    FollowS,
    MentionIn,
    ModerationS,
    StatusIn,
    StatusS,
    TagIn,
)
from cordon.errors import RecordError
from cordon.model import (
    Account,
    Edge,
    EdgeColumns,
    EdgeKind,
    MediaColumns,
    MediaKind,
    ModerationAction,
    ModerationEvent,
    Platform,
    Post,
    PostColumns,
    ProfileField,
    TextLists,
)

M = Platform.MASTODON
_KINDS = {
    "image": MediaKind.IMAGE,
    "video": MediaKind.VIDEO,
    "gifv": MediaKind.GIFV,
    "audio": MediaKind.AUDIO,
}
_ACTIONS = {a.value: a for a in ModerationAction}
# A NUL between two contents, or an <a ...> tag with the value of its first href="..." and of its first
# class="..." attribute (either may be missing); a link is an anchor whose class does not mark a mention or hashtag
_ANCHOR_OR_SEP = re.compile(
    r'(\x00)|<a\s(?=(?:[^>\x00]*?href="([^">\x00]*)")?)(?=(?:[^>\x00]*?class="([^">\x00]*)")?)[^>\x00]*>',
    re.IGNORECASE,
)


def _links(content: str) -> tuple[str, ...]:
    """Hrefs of the links in a status's HTML, leaving out mention and hashtag links."""
    return _links_many([content]).row(0)


def _links_many(contents: Sequence[str]) -> TextLists:
    """`_links` of each of `contents`, found in one pass over the NUL-joined column. (HTML has no NUL in a tag:
    a parser reads one as U+FFFD, and so does this.)"""
    joined = "\x00".join(contents)
    if joined.count("\x00") != len(contents) - 1:  # a content holds a NUL itself
        joined = "\x00".join(c.replace("\x00", "\ufffd") for c in contents)
    values: list[str] = []
    offsets = [0]
    start = 0  # where the current content's links begin in `values`
    if "<a" not in joined and "<A" not in joined:
        return TextLists(values, [0] * (len(contents) + 1))
    for sep, href, klass in _ANCHOR_OR_SEP.findall(joined):
        if sep:
            start = len(values)
            offsets.append(start)
        elif href and "mention" not in klass:
            url = href.replace("&amp;", "&") if "&" in href else href
            if len(values) == start or url not in values[start:]:
                values.append(url)
    offsets.append(len(values))
    return TextLists(values, offsets)


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


class _AccountCache:
    """Statuses embed their author: the same account comes again and again. Decode and map each distinct
    embedded form once: by its raw JSON, then (a form seen under another spelling) by its decoded value
    (msgspec compares Structs field by field, in C)."""

    def __init__(self, limit: int = 50_000) -> None:
        self._by_raw: dict[bytes, Account] = {}
        self._seen: dict[str, tuple[AccountS, Account]] = {}
        self._limit = limit

    def __call__(self, raw: msgspec.Raw, path: str) -> Account:
        """The Account of an embedded account's raw JSON; `path` names it in a decode error."""
        key = bytes(raw)
        hit = self._by_raw.get(key)
        if hit is not None:
            return hit
        try:
            a = _ACCOUNT.decode(key)
        except msgspec.ValidationError as exc:
            raise msgspec.ValidationError(_under(str(exc), path)) from exc
        mapped = self.mapped(a)
        if len(self._by_raw) >= self._limit:
            self._by_raw.clear()
        self._by_raw[key] = mapped
        return mapped

    def mapped(self, a: AccountS) -> Account:
        seen = self._seen.get(a.id)
        if seen is not None and seen[0] == a:
            return seen[1]
        if len(self._seen) >= self._limit:
            self._seen.clear()
        mapped = account(a)
        self._seen[a.id] = (a, mapped)
        return mapped


_ACCOUNT = msgspec.json.Decoder(AccountS)
_AT = re.compile(r" - at `\$")


def _under(message: str, path: str) -> str:
    """A msgspec error message about an embedded value, with the value's path in the record put in front."""
    if _AT.search(message):
        return _AT.sub(lambda _: f" - at `{path}", message, count=1)
    return f"{message} - at `{path}`"


_embedded_account = _AccountCache()


# A status as the batch keeps it until the batch is drained into columns: the fields of its post, taken while
# its Struct is fresh in the cache (one tuple per status; the columns come out of one zip).
_Row = tuple[
    str,  # id
    str,  # account_id
    datetime,  # created_at
    str,  # content (HTML)
    str,  # lang
    str,  # url
    list[TagIn],
    list[MentionIn],
    str | None,  # reply_to_post_id
    str | None,  # reply_to_account_id
    str | None,  # reblog_of_post_id
    str | None,  # quote_of_post_id
    list[AttachmentIn],
    CardIn | None,
    bool,  # sensitive
    str,  # visibility
]


class StatusColumns:
    """The statuses of one batch as columns: `add` each decoded status (raising, with nothing added, when it
    cannot be mapped), then `drain` the accounts, post columns and edge columns of everything added.

    A status contributes its post and those it embeds (the reblogged or quoted original), in that order; the
    author of each; and its reply, reblog, quote and mention edges.
    """

    def __init__(self) -> None:
        self._rows: list[_Row] = []
        self._authors: list[Account] = []
        # rows whose text is not their content's: (row, plain-text source, spoiler text)
        self._plain: list[tuple[int, str | None, str]] = []
        self._edges = _EdgeLists()

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, s: StatusIn) -> None:
        if s.reblog is not None or s.quote is not None:
            self._add_nested(s)
            return
        author = _embedded_account(s.account, "$.account")
        if not s.content or s.spoiler_text:
            self._plain.append((len(self._rows), s.text, s.spoiler_text))
        self._rows.append(_row(s, author.id, None, None))
        self._authors.append(author)
        if s.in_reply_to_account_id or s.mentions:
            self._edges.add(s, author.id, None, None)

    def _add_nested(self, s: StatusIn) -> None:
        """A status that embeds others: everything is mapped before anything is added."""
        rows: list[_Row] = []
        authors: list[Account] = []
        plain: list[tuple[int, str | None, str]] = []
        edges = _EdgeLists()
        stack = [(s, "$")]
        while stack:
            cur, path = stack.pop()
            author = _embedded_account(cur.account, f"{path}.account")
            reblogged = quoted = quoted_id = None
            if cur.reblog is not None:
                reblogged = _embedded_account(cur.reblog.account, f"{path}.reblog.account").id
                stack.append((cur.reblog, f"{path}.reblog"))
            if cur.quote is not None:
                q = cur.quote.quoted_status
                quoted_id = q.id if q is not None else cur.quote.quoted_status_id
                if q is not None:
                    q_path = f"{path}.quote.quoted_status"
                    quoted = _embedded_account(q.account, f"{q_path}.account").id
                    stack.append((q, q_path))
            if not cur.content or cur.spoiler_text:
                plain.append((len(self._rows) + len(rows), cur.text, cur.spoiler_text))
            reblog_id = cur.reblog.id if cur.reblog is not None else None
            rows.append(_row(cur, author.id, reblog_id, quoted_id))
            authors.append(author)
            edges.add(cur, author.id, reblogged, quoted)
        self._rows += rows
        self._authors += authors
        self._plain += plain
        self._edges.extend(edges)

    def drain(self) -> tuple[tuple[Account, ...], PostColumns, EdgeColumns]:
        """Everything added since the last drain; starts afresh."""
        rows, authors, plain, edges = self._rows, self._authors, self._plain, self._edges
        self._rows, self._authors, self._plain, self._edges = [], [], [], _EdgeLists()
        return tuple(authors), _post_columns(rows, plain), edges.columns()


def _row(s: StatusIn, author: str, reblog_id: str | None, quote_id: str | None) -> _Row:
    return (
        s.id,
        author,
        s.created_at,
        s.content,
        s.language or "",
        s.url or s.uri or "",
        s.tags,
        s.mentions,
        s.in_reply_to_id,
        s.in_reply_to_account_id,
        reblog_id,
        quote_id,
        s.media_attachments,
        s.card,
        s.sensitive,
        s.visibility,
    )


class _EdgeLists:
    def __init__(self) -> None:
        self.kind: list[EdgeKind] = []
        self.src: list[str] = []
        self.dst: list[str] = []
        self.post_id: list[str | None] = []
        self.created_at: list[datetime | None] = []

    def add(self, s: StatusIn, author: str, reblogged: str | None, quoted: str | None) -> None:
        """The edges of status `s` by `author`: reply, reblog, quote, then one per mention."""
        if s.in_reply_to_account_id:
            self._add(EdgeKind.REPLY, author, s.in_reply_to_account_id, s)
        if reblogged is not None:
            self._add(EdgeKind.REBLOG, author, reblogged, s)
        if quoted is not None:
            self._add(EdgeKind.QUOTE, author, quoted, s)
        for m in s.mentions:
            self._add(EdgeKind.MENTION, author, m.id, s)

    def _add(self, kind: EdgeKind, src: str, dst: str, s: StatusIn) -> None:
        self.kind.append(kind)
        self.src.append(src)
        self.dst.append(dst)
        self.post_id.append(s.id)
        self.created_at.append(s.created_at)

    def extend(self, other: _EdgeLists) -> None:
        self.kind += other.kind
        self.src += other.src
        self.dst += other.dst
        self.post_id += other.post_id
        self.created_at += other.created_at

    def columns(self) -> EdgeColumns:
        return EdgeColumns(M, self.kind, self.src, self.dst, self.post_id, self.created_at)


def _post_columns(rows: list[_Row], plain: list[tuple[int, str | None, str]]) -> PostColumns:
    """The post columns of `rows`: one zip, then the columns that need mapping, each over its column."""
    n = len(rows)
    if n:
        (ids, account_ids, created, contents, lang, url, tags, mentions, reply_ids, reply_accounts,
         reblog_ids, quote_ids, attachments, cards, sensitive, visibility) = zip(*rows, strict=True)  # fmt: skip
    else:
        (ids, account_ids, created, contents, lang, url, tags, mentions, reply_ids, reply_accounts,
         reblog_ids, quote_ids, attachments, cards, sensitive, visibility) = ((),) * 16  # fmt: skip
    text = html_texts(contents)
    for i, source, spoiler in plain:
        # a deleted status comes back with its plain-text source instead of HTML content
        t = text[i] if contents[i] else source or ""
        if spoiler:
            t = f"{spoiler}\n\n{t}" if t else spoiler
        text[i] = t
    media = [m for ms in attachments for m in ms]
    if cards.count(None) == n:
        card_url = card_title = card_description = [""] * n
    else:
        card_url = [c.url if c is not None else "" for c in cards]
        card_title = [c.title if c is not None else "" for c in cards]
        card_description = [c.description if c is not None else "" for c in cards]
    return PostColumns(
        platform=M,
        id=ids,
        account_id=account_ids,
        created_at=created,
        text=text,
        lang=lang,
        url=url,
        hashtags=TextLists([t.name for ts in tags for t in ts], _offsets(tags)),
        mention_account_ids=TextLists([m.id for ms in mentions for m in ms], _offsets(mentions)),
        urls=_links_many(contents),
        reply_to_post_id=reply_ids,
        reply_to_account_id=reply_accounts,
        reblog_of_post_id=reblog_ids,
        quote_of_post_id=quote_ids,
        media=MediaColumns(
            offsets=_offsets(attachments),
            id=[m.id for m in media],
            kind=[_KINDS.get(m.type, MediaKind.UNKNOWN) for m in media],
            url=[m.url or "" for m in media],
            preview_url=[m.preview_url or "" for m in media],
            remote_url=[m.remote_url or "" for m in media],
            description=[m.description or "" for m in media],
        ),
        card_url=card_url,
        card_title=card_title,
        card_description=card_description,
        sensitive=sensitive,
        visibility=visibility,
    )


def _offsets(lists: Sequence[Sequence[object]]) -> list[int]:
    return list(accumulate(map(len, lists), initial=0))


def status(s: StatusS | StatusIn) -> tuple[list[Account], list[Post], list[Edge]]:
    """A Status and what it embeds (the reblogged or quoted original, their authors) as records."""
    columns = StatusColumns()
    columns.add(s if isinstance(s, StatusIn) else _STATUS_IN.decode(msgspec.json.encode(s)))
    accounts, posts, edges = columns.drain()
    return list(accounts), list(posts), list(edges)


_STATUS_IN = msgspec.json.Decoder(StatusIn)


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
