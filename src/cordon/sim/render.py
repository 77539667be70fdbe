"""Turn the world's columns into cordon records (`Account`, `Post`) for the Mastodon export writer.

This is the only per-row Python of the simulator, and it runs one chunk of posts at a time so that memory
stays flat whatever the world's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from cordon.model import Account, MediaKind, MediaRef, Platform, Post, ProfileField
from cordon.sim.accounts import AccountTable
from cordon.sim.frame import REBLOG, REPLY, PostFrame
from cordon.sim.vocab import LANGS

M = Platform.MASTODON
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def at(ms: int) -> datetime:
    """An epoch-millisecond time as an aware UTC datetime."""
    return _EPOCH + timedelta(milliseconds=ms)


def id_path(value: str) -> str:
    """Mastodon's storage path of an id: groups of three digits."""
    return "/".join(value[i : i + 3] for i in range(0, len(value), 3))


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What rendering needs besides the frame: ids, handles, languages, tag names, media file names."""

    instance: str
    account_ids: list[str]
    handles: list[str]
    account_lang: np.ndarray
    tags: Sequence[str]
    media_names: Sequence[str]
    phrases: Sequence[str]
    post_ids: np.ndarray  # int64 per sorted row


def render_account(
    table: AccountTable, i: int, ctx: RenderContext, *, created_ms: int, counts: tuple[int, int, int],
    bio: str | None = None,
) -> Account:  # fmt: skip
    account_id = ctx.account_ids[i]
    avatar = table.avatar[i]
    return Account(
        platform=M,
        id=account_id,
        handle=table.handle[i],
        acct=table.handle[i],
        display_name=table.display[i],
        bio=table.bio[i] if bio is None else bio,
        fields=tuple(ProfileField(k, v) for k, v in table.fields[i]),
        created_at=at(created_ms),
        url=f"https://{ctx.instance}/@{table.handle[i]}",
        avatar_url=f"https://{ctx.instance}/system/accounts/avatars/{id_path(account_id)}/original/{avatar}"
        if avatar
        else "",
        bot=table.bot[i],
        followers_count=counts[0],
        following_count=counts[1],
        statuses_count=counts[2],
    )


def render_posts(frame: PostFrame, start: int, stop: int, ctx: RenderContext) -> list[Post]:
    """Rows `start`..`stop` of the sorted frame as `Post` records."""
    ids = [str(v) for v in ctx.post_ids[start:stop].tolist()]
    ts = frame.ts[start:stop].tolist()
    author = frame.author[start:stop].tolist()
    kind = frame.kind[start:stop].tolist()
    target = frame.target[start:stop].tolist()
    phrases = frame.phrases[start:stop].tolist()
    extra = frame.extra[start:stop].tolist()
    lang = frame.lang[start:stop].tolist()
    sensitive = frame.sensitive[start:stop].tolist()
    t_off, t_val = frame.tags.offsets, frame.tags.values
    m_off, m_val = frame.media.offsets, frame.media.values
    tag_names = [ctx.tags[t] for t in t_val[t_off[start] : t_off[stop]].tolist()]
    tag_base = int(t_off[start])
    tag_bounds = (t_off[start : stop + 1] - tag_base).tolist()
    media_ids = m_val[m_off[start] : m_off[stop]].tolist()
    media_base = int(m_off[start])
    media_bounds = (m_off[start : stop + 1] - media_base).tolist()
    out: list[Post] = []
    for j in range(stop - start):
        account = ctx.account_ids[author[j]]
        k = kind[j]
        created = at(ts[j])
        if k == REBLOG:
            out.append(
                Post(
                    M,
                    ids[j],
                    account,
                    created,
                    reblog_of_post_id=str(ctx.post_ids[target[j]]),
                    visibility="public",
                )
            )
            continue
        tags = tuple(tag_names[tag_bounds[j] : tag_bounds[j + 1]])
        parts = [ctx.phrases[p] for p in phrases[j] if p >= 0]
        if extra[j] >= 0:
            parts.append(frame.texts[extra[j]])
        if tags:
            parts.append(" ".join("#" + t for t in tags))
        reply_to = reply_account = None
        mentions: tuple[str, ...] = ()
        if k == REPLY:
            t = target[j]
            reply_to = str(ctx.post_ids[t])
            reply_account = ctx.account_ids[int(frame.author[t])]
            mentions = (reply_account,)
            parts.insert(0, "@" + ctx.handles[int(frame.author[t])])
        media = tuple(
            MediaRef(
                M,
                f"{ids[j]}{n}",
                MediaKind.IMAGE,
                url=f"https://{ctx.instance}/system/media_attachments/files/{id_path(ids[j])}/{n}/original/"
                f"{ctx.media_names[m]}",
            )
            for n, m in enumerate(media_ids[media_bounds[j] : media_bounds[j + 1]])
        )
        out.append(
            Post(
                M,
                ids[j],
                account,
                created,
                text=" ".join(parts),
                lang=LANGS[lang[j] if lang[j] >= 0 else int(ctx.account_lang[author[j]])],
                hashtags=tags,
                mention_account_ids=mentions,
                reply_to_post_id=reply_to,
                reply_to_account_id=reply_account,
                media=media,
                sensitive=sensitive[j],
                visibility="public",
            )
        )
    return out
