"""Write cordon records as a Mastodon export directory (the layout `MastodonConnector` reads).

statuses.jsonl (Status entities, author embedded), accounts.jsonl, follows.jsonl, moderation.jsonl, media/.
"""

from __future__ import annotations

import html
import re
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO

import msgspec

from cordon.connectors.mastodon.schema import (
    AccountS,
    AttachmentS,
    CardS,
    FieldS,
    FollowS,
    MentionS,
    ModerationS,
    QuoteS,
    StatusS,
    TagS,
)
from cordon.errors import ConfigError
from cordon.model import Account, Edge, EdgeKind, ModerationEvent, Post

_URL = re.compile(r"https?://[^\s<]+")


def _paragraphs(text: str) -> str:
    """Plain text to Mastodon's HTML: <p> per paragraph, <br /> per line, links as anchors."""
    paras = []
    for para in text.split("\n\n"):
        escaped = html.escape(para, quote=False)
        linked = _URL.sub(
            lambda m: f'<a href="{m.group(0)}" rel="nofollow noopener">{m.group(0)}</a>', escaped
        )
        paras.append("<p>" + linked.replace("\n", "<br />") + "</p>")
    return "".join(paras)


class MastodonExportWriter:
    """Writes records as a Mastodon export directory. Accounts come before the posts that embed them."""

    def __init__(self, out_dir: Path, *, instance: str = "sim.example", reblog_cache: int = 500_000) -> None:
        self.out_dir = out_dir
        self.instance = instance
        out_dir.mkdir(parents=True, exist_ok=True)
        self.media_dir.mkdir(exist_ok=True)
        self._files: dict[str, IO[bytes]] = {}
        self._accounts: dict[str, AccountS] = {}
        self._recent: OrderedDict[str, StatusS] = OrderedDict()
        self._reblog_cache = reblog_cache
        self._encoder = msgspec.json.Encoder()

    @property
    def media_dir(self) -> Path:
        return self.out_dir / "media"

    def media_url(self, filename: str) -> str:
        return f"https://{self.instance}/system/media/{filename}"

    def __enter__(self) -> MastodonExportWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()

    def _file(self, name: str) -> IO[bytes]:
        if name not in self._files:
            self._files[name] = (self.out_dir / name).open("ab")
        return self._files[name]

    def _write_lines(self, name: str, items: Iterable[msgspec.Struct]) -> None:
        f = self._file(name)
        buf = bytearray()
        for item in items:
            self._encoder.encode_into(item, buf, len(buf))
            buf += b"\n"
            if len(buf) > 1 << 20:
                f.write(buf)
                buf.clear()
        f.write(buf)

    def _account_s(self, a: Account) -> AccountS:
        return AccountS(
            id=a.id,
            username=a.handle,
            acct=a.acct or a.handle,
            display_name=a.display_name,
            note=_paragraphs(a.bio) if a.bio else "",
            url=a.url or f"https://{self.instance}/@{a.handle}",
            avatar=a.avatar_url or None,
            avatar_static=a.avatar_url or None,
            bot=a.bot,
            locked=a.locked,
            created_at=a.created_at,
            followers_count=a.followers_count,
            following_count=a.following_count,
            statuses_count=a.statuses_count,
            fields=[FieldS(html.escape(f.name), html.escape(f.value)) for f in a.fields],
        )

    def write_accounts(self, accounts: Iterable[Account]) -> None:
        def encoded() -> Iterable[AccountS]:
            for a in accounts:
                s = self._account_s(a)
                self._accounts[a.id] = s
                yield s

        self._write_lines("accounts.jsonl", encoded())

    def _author(self, account_id: str, post_id: str) -> AccountS:
        try:
            return self._accounts[account_id]
        except KeyError:
            raise ConfigError(
                f"post {post_id}: account {account_id} was not written first; call write_accounts before "
                "write_posts"
            ) from None

    def _status_s(self, p: Post) -> StatusS:
        reblog: StatusS | None = None
        if p.reblog_of_post_id is not None:
            reblog = self._recent.get(p.reblog_of_post_id)
            if reblog is None:
                raise ConfigError(
                    f"post {p.id}: reblogged post {p.reblog_of_post_id} must be written before it "
                    f"(and within the last {self._reblog_cache} posts)"
                )
        mentions = []
        for mid in p.mention_account_ids:
            m = self._accounts.get(mid)
            mentions.append(MentionS(mid, m.username, m.acct, m.url or "") if m else MentionS(mid))
        return StatusS(
            id=p.id,
            created_at=p.created_at,
            account=self._author(p.account_id, p.id),
            content=_paragraphs(p.text) if p.text else "",
            in_reply_to_id=p.reply_to_post_id,
            in_reply_to_account_id=p.reply_to_account_id,
            sensitive=p.sensitive,
            visibility=p.visibility or "public",
            language=p.lang or None,
            url=p.url or f"https://{self.instance}/@{self._author(p.account_id, p.id).username}/{p.id}",
            reblog=reblog,
            media_attachments=[
                AttachmentS(
                    id=m.id,
                    type=m.kind.value,
                    url=m.url or None,
                    preview_url=m.preview_url or None,
                    remote_url=m.remote_url or None,
                    description=m.description or None,
                )
                for m in p.media
            ],
            mentions=mentions,
            tags=[TagS(t, f"https://{self.instance}/tags/{t}") for t in p.hashtags],
            card=CardS(p.card_url, p.card_title, p.card_description) if p.card_url else None,
            quote=self._quote_s(p),
        )

    def _quote_s(self, p: Post) -> QuoteS | None:
        """A Mastodon 4.4+ quote: the quoted status embedded when it was written recently, else its id.

        Like Mastodon, an embedded quoted status refers to what *it* quotes by id only (a shallow quote), so
        that chains of quotes never nest deeper than one level.
        """
        if p.quote_of_post_id is None:
            return None
        quoted = self._recent.get(p.quote_of_post_id)
        inner = quoted.quote if quoted is not None else None
        if quoted is not None and inner is not None and inner.quoted_status is not None:
            shallow = QuoteS(state=inner.state, quoted_status_id=inner.quoted_status.id)
            quoted = msgspec.structs.replace(quoted, quote=shallow)
        return QuoteS(state="accepted", quoted_status=quoted, quoted_status_id=p.quote_of_post_id)

    def write_posts(self, posts: Iterable[Post]) -> None:
        def encoded() -> Iterable[StatusS]:
            for p in posts:
                s = self._status_s(p)
                if p.reblog_of_post_id is None:
                    self._recent[p.id] = s
                    if len(self._recent) > self._reblog_cache:
                        self._recent.popitem(last=False)
                yield s

        self._write_lines("statuses.jsonl", encoded())

    def write_follows(self, edges: Iterable[Edge]) -> None:
        self._write_lines(
            "follows.jsonl",
            (
                FollowS(e.src_account_id, e.dst_account_id, e.created_at)
                for e in edges
                if e.kind is EdgeKind.FOLLOW
            ),
        )

    def write_moderation(self, events: Iterable[ModerationEvent]) -> None:
        self._write_lines(
            "moderation.jsonl",
            (ModerationS(e.account_id, e.action.value, e.created_at, e.reason) for e in events),
        )
