"""Map Mastodon API entities (schema.py Structs) to cordon records; statuses column by column."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from datetime import datetime
from itertools import accumulate

import msgspec

from cordon.connectors.generations import Generations
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
# <a ...>: the value of href="..." when it comes first (as Mastodon writes it), and the other attributes.
# `[^>\x00]`: never across two NUL-joined contents. Case-sensitive when no content holds "<A", for speed: a
# pattern that starts with a literal is searched for much faster.
_ANCHOR = re.compile(r'<a\s(?:href="([^">\x00]*)")?([^>\x00]*)>')
_ANCHOR_ANY_CASE = re.compile(r'<a\s(?:href="([^">\x00]*)")?([^>\x00]*)>', re.IGNORECASE)
_HREF = re.compile(r'href="([^"]*)"', re.IGNORECASE)
_CLASS = re.compile(r'class="([^"]*)"', re.IGNORECASE)


def _links(content: str) -> tuple[str, ...]:
    """Hrefs of the links in a status's HTML, leaving out mention and hashtag links."""
    return _links_many([content]).row(0)


def _links_many(contents: Sequence[str]) -> TextLists:
    """`_links` of each of `contents`, found in one pass over the NUL-joined column. (HTML has no NUL in a tag:
    a parser reads one as U+FFFD, and so does this.)

    A link is the first href="..." of an <a> tag whose first class="..." does not contain "mention" (mention
    and hashtag links), with &amp; decoded, each once per content."""
    joined = "\x00".join(contents)
    if joined.count("\x00") != len(contents) - 1:  # a content holds a NUL itself
        joined = "\x00".join(c.replace("\x00", "\ufffd") for c in contents)
    values: list[str] = []
    offsets = [0]
    if "<a" not in joined and "<A" not in joined:
        return TextLists(values, [0] * (len(contents) + 1))
    ends = list(accumulate(len(c) + 1 for c in contents))  # just past each content (and its NUL)
    row = start = 0  # the content of the last anchor, and where its links begin in `values`
    end = ends[0]
    for m in (_ANCHOR_ANY_CASE if "<A" in joined else _ANCHOR).finditer(joined):
        if m.start() >= end:
            now = bisect_right(ends, m.start(), row)
            offsets += [len(values)] * (now - row)
            row, start, end = now, len(values), ends[now]
        url, rest = m.groups()
        if "mention" in rest:
            klass = _CLASS.search(rest)
            if klass and "mention" in klass.group(1):
                continue
        if url is None:  # href is not the first attribute, or has no closing quote
            found = _HREF.search(rest)
            url = found.group(1) if found else ""
        if url:
            if "&" in url:
                url = url.replace("&amp;", "&")
            if len(values) == start or url not in values[start:]:
                values.append(url)
    offsets += [len(values)] * (len(contents) + 1 - len(offsets))
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
    (msgspec compares Structs field by field, in C). Both caches keep two generations (`Generations`): a
    single dict emptied when full made a world of 840k accounts map every author anew (HTML of bio and
    fields to text)."""

    def __init__(self, limit: int = 50_000) -> None:
        self._raw: Generations[bytes, Account] = Generations(limit)
        self.by_raw = self._raw.current  # raw JSON -> Account (read by the status columns, too)
        self._seen: Generations[str, tuple[AccountS, Account]] = Generations(limit)

    def __call__(self, raw: msgspec.Raw, path: str) -> Account:
        """The Account of an embedded account's raw JSON; `path` names it in a decode error."""
        key = bytes(raw)
        hit = self._raw.get(key)
        if hit is None:
            try:
                a = _ACCOUNT.decode(key)
            except msgspec.ValidationError as exc:
                raise msgspec.ValidationError(_under(str(exc), path)) from exc
            hit = self.mapped(a)
        self._raw.put(key, hit)
        return hit

    def mapped(self, a: AccountS) -> Account:
        seen = self._seen.get(a.id)
        if seen is None or seen[0] != a:
            seen = (a, account(a))
        self._seen.put(a.id, seen)
        return seen[1]


_ACCOUNT = msgspec.json.Decoder(AccountS)
_AT = re.compile(r" - at `\$")


def _under(message: str, path: str) -> str:
    """A msgspec error message about an embedded value, with the value's path in the record put in front."""
    if _AT.search(message):
        return _AT.sub(lambda _: f" - at `{path}", message, count=1)
    return f"{message} - at `{path}`"


_embedded_account = _AccountCache()


class StatusColumns:
    """The statuses of one batch as columns: `add` each decoded status (raising, with nothing added, when it
    cannot be mapped), then `drain` the accounts, post columns and edge columns of everything added.

    A status contributes its post and those it embeds (the reblogged or quoted original), in that order; the
    author of each (once per batch, the last form seen); and its reply, reblog, quote and mention edges. Each
    field goes to its column while the decoded status is fresh in the cache: no object per post is made.
    """

    def __init__(self, remember: int = 200_000) -> None:
        self._columns = _Columns()
        # the author form each account was last drained with: an author drained again unchanged (the same
        # cached Account) is left out, since storing it again would change nothing. Forgotten past
        # `remember` accounts (then drained again: harmless).
        self._drained: dict[str, Account] = {}
        self._remember = remember

    def __len__(self) -> int:
        return len(self._columns.id)

    def add(self, s: StatusIn) -> None:
        if s.reblog is None and s.quote is None:
            self._columns.add_plain(s)
            return
        # a status that embeds others: map (and check) everything before adding anything
        todo: list[tuple[StatusIn, Account, str | None, str | None, str | None, str | None]] = []
        stack = [(s, "$")]
        while stack:
            cur, path = stack.pop()
            author = _embedded_account(cur.account, f"{path}.account")
            reblog_id = reblogged = quote_id = quoted = None
            if cur.reblog is not None:
                reblog_id = cur.reblog.id
                reblogged = _embedded_account(cur.reblog.account, f"{path}.reblog.account").id
                stack.append((cur.reblog, f"{path}.reblog"))
            if cur.quote is not None:
                q = cur.quote.quoted_status
                quote_id = q.id if q is not None else cur.quote.quoted_status_id
                if q is not None:
                    q_path = f"{path}.quote.quoted_status"
                    quoted = _embedded_account(q.account, f"{q_path}.account").id
                    stack.append((q, q_path))
            todo.append((cur, author, reblog_id, reblogged, quote_id, quoted))
        for item in todo:
            self._columns.add(*item)

    def drain(self) -> tuple[tuple[Account, ...], PostColumns, EdgeColumns]:
        """Everything added since the last drain (authors only when their form changed since they were last
        drained); starts afresh."""
        c, self._columns = self._columns, _Columns()
        drained = self._drained
        if len(drained) >= self._remember:
            drained.clear()
        authors = tuple(a for a in c.authors.values() if drained.get(a.id) is not a)
        for a in authors:
            drained[a.id] = a
        return authors, c.posts(), c.edges()


_AddPost = Callable[[StatusIn, Account, str | None, str | None, str | None, str | None], None]


class _Columns:
    """What the statuses added since the last drain contribute. Dense columns hold a value per post; sparse
    ones, (row, value) for the posts that have one (lists, and values most posts do not have)."""

    def __init__(self) -> None:
        self.id: list[str] = []
        self.account_id: list[str] = []
        self.created_at: list[datetime] = []
        self.content: list[str] = []
        self.lang: list[str] = []
        self.url: list[str] = []
        self.reply_to_post_id: list[str | None] = []
        self.reply_to_account_id: list[str | None] = []
        self.sensitive: list[bool] = []
        self.visibility: list[str] = []
        self.tags: list[tuple[int, tuple[TagIn, ...]]] = []
        self.mentions: list[tuple[int, tuple[MentionIn, ...]]] = []
        self.media: list[tuple[int, tuple[AttachmentIn, ...]]] = []
        self.cards: list[tuple[int, CardIn]] = []
        self.reblog_of: list[tuple[int, str]] = []
        self.quote_of: list[tuple[int, str]] = []
        self.plain: list[tuple[int, str | None, str]] = []  # posts whose text is not their content's
        self.authors: dict[str, Account] = {}
        self.edge_kind: list[EdgeKind] = []
        self.edge_src: list[str] = []
        self.edge_dst: list[str] = []
        self.edge_post: list[str | None] = []
        self.edge_at: list[datetime | None] = []
        self.add = self._adder()
        self.add_plain = self._plain_adder(self.add)

    @staticmethod
    def _plain_adder(add: _AddPost) -> Callable[[StatusIn], None]:
        """`add` for a status that embeds nothing, its author looked up in the cache's dict first."""
        known = _embedded_account.by_raw

        def add_plain(s: StatusIn) -> None:
            author = known.get(bytes(s.account)) or _embedded_account(s.account, "$.account")
            add(s, author, None, None, None, None)

        return add_plain

    def _adder(self) -> _AddPost:
        """`add(status, author, reblog_id, reblogged, quote_id, quoted)`: the post of one status (reblogged and
        quoted: the authors of what it embeds), with the appends bound once."""
        ids, account_ids, created_ats = self.id.append, self.account_id.append, self.created_at.append
        contents, langs, urls = self.content.append, self.lang.append, self.url.append
        reply_posts, reply_accounts = self.reply_to_post_id.append, self.reply_to_account_id.append
        sensitives, visibilities = self.sensitive.append, self.visibility.append
        tags, mentions, media, cards = (
            self.tags.append,
            self.mentions.append,
            self.media.append,
            self.cards.append,
        )
        reblogs, quotes, plain, authors = (
            self.reblog_of.append,
            self.quote_of.append,
            self.plain.append,
            self.authors,
        )
        kinds, srcs, dsts, posts, ats = (
            self.edge_kind.append,
            self.edge_src.append,
            self.edge_dst.append,
            self.edge_post.append,
            self.edge_at.append,
        )
        row_of = self.id

        def edge(kind: EdgeKind, src: str, dst: str, post: str, at: datetime) -> None:
            kinds(kind)
            srcs(src)
            dsts(dst)
            posts(post)
            ats(at)

        def add(
            s: StatusIn,
            author: Account,
            reblog_id: str | None,
            reblogged: str | None,
            quote_id: str | None,
            quoted: str | None,
        ) -> None:
            row = len(row_of)
            sid, aid, at = s.id, author.id, s.created_at
            ids(sid)
            account_ids(aid)
            created_ats(at)
            contents(s.content)
            langs(s.language or "")
            urls(s.url or s.uri or "")
            reply_posts(s.in_reply_to_id)
            reply_accounts(s.in_reply_to_account_id)
            sensitives(s.sensitive)
            visibilities(s.visibility)
            authors[aid] = author
            if not s.content or s.spoiler_text:
                plain((row, s.text, s.spoiler_text))
            if s.tags:
                tags((row, s.tags))
            if s.media_attachments:
                media((row, s.media_attachments))
            if s.card is not None:
                cards((row, s.card))
            if reblog_id is not None:
                reblogs((row, reblog_id))
            if quote_id is not None:
                quotes((row, quote_id))
            if s.in_reply_to_account_id:
                edge(EdgeKind.REPLY, aid, s.in_reply_to_account_id, sid, at)
            if reblogged is not None:
                edge(EdgeKind.REBLOG, aid, reblogged, sid, at)
            if quoted is not None:
                edge(EdgeKind.QUOTE, aid, quoted, sid, at)
            if s.mentions:
                mentions((row, s.mentions))
                for m in s.mentions:
                    edge(EdgeKind.MENTION, aid, m.id, sid, at)

        return add

    def edges(self) -> EdgeColumns:
        return EdgeColumns(M, self.edge_kind, self.edge_src, self.edge_dst, self.edge_post, self.edge_at)

    def posts(self) -> PostColumns:
        n = len(self.id)
        text = html_texts(self.content)
        for i, source, spoiler in self.plain:
            # a deleted status comes back with its plain-text source instead of HTML content
            t = text[i] if self.content[i] else source or ""
            if spoiler:
                t = f"{spoiler}\n\n{t}" if t else spoiler
            text[i] = t
        reblog_of: list[str | None] = [None] * n
        for i, post_id in self.reblog_of:
            reblog_of[i] = post_id
        quote_of: list[str | None] = [None] * n
        for i, post_id in self.quote_of:
            quote_of[i] = post_id
        card_url, card_title, card_description = [""] * n, [""] * n, [""] * n
        for i, card in self.cards:
            card_url[i], card_title[i], card_description[i] = card.url, card.title, card.description
        media = [m for _, ms in self.media for m in ms]
        return PostColumns(
            platform=M,
            id=self.id,
            account_id=self.account_id,
            created_at=self.created_at,
            text=text,
            lang=self.lang,
            url=self.url,
            hashtags=TextLists([t.name for _, ts in self.tags for t in ts], _offsets(n, self.tags)),
            mention_account_ids=TextLists(
                [m.id for _, ms in self.mentions for m in ms], _offsets(n, self.mentions)
            ),
            urls=_links_many(self.content),
            reply_to_post_id=self.reply_to_post_id,
            reply_to_account_id=self.reply_to_account_id,
            reblog_of_post_id=reblog_of,
            quote_of_post_id=quote_of,
            media=MediaColumns(
                offsets=_offsets(n, self.media),
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
            sensitive=self.sensitive,
            visibility=self.visibility,
        )


def _offsets(n: int, rows: Sequence[tuple[int, Sequence[object]]]) -> list[int]:
    """Offsets of a flat list column of `n` rows whose non-empty rows are `rows` ((row, values), in order)."""
    counts = [0] * n
    for i, values in rows:
        counts[i] = len(values)
    return list(accumulate(counts, initial=0))


def status(s: StatusS | StatusIn) -> tuple[list[Account], list[Post], list[Edge]]:
    """A Status and what it embeds (the reblogged or quoted original, their authors) as records."""
    columns = StatusColumns()
    columns.add(s if isinstance(s, StatusIn) else _STATUS_IN.decode(msgspec.json.encode(s)))
    accounts, posts, edges = columns.drain()
    return list(accounts), list(posts), list(edges)


_STATUS_IN = msgspec.json.Decoder(StatusIn)


class FollowColumns:
    """follows.jsonl lines mapped column by column into follow edges (account -> target, no post), without an
    `Edge` per line (a 1M-post world has ~0.9M follows)."""

    def __init__(self) -> None:
        self.src: list[str] = []
        self.dst: list[str] = []
        self.at: list[datetime | None] = []

    def add(self, f: FollowS) -> None:
        self.src.append(f.account_id)
        self.dst.append(f.target_account_id)
        self.at.append(f.created_at)

    def drain(self) -> tuple[tuple[Account, ...], tuple[Post, ...], EdgeColumns]:
        n = len(self.src)
        edges = EdgeColumns(M, [EdgeKind.FOLLOW] * n, self.src, self.dst, [None] * n, self.at)
        self.src, self.dst, self.at = [], [], []
        return (), (), edges


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
