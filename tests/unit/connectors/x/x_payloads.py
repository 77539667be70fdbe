"""X API v2 payloads for tests, built the way the X API v2 data dictionary describes them.

`XPageBuilder` turns cordon records into the Tweet, User and Media objects of one response page (`data`,
`includes.users`, `includes.tweets`, `includes.media`, `meta`, `__twarc`), inverting what X does: text is
HTML-escaped (`&`, `<`, `>`), every link is shortened to a t.co URL with a URL entity that expands it, media
are appended as a t.co link with a `media_key`. `flattened(page)` is twarc's own flatten of that page.
Synthetic data only.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from twarc.expansions import flatten

from cordon.connectors.x.mapping import POST_URL, PROFILE_URL
from cordon.model import Account, MediaKind, MediaRef, Post

JSON = dict[str, Any]
_TYPES = {MediaKind.IMAGE: "photo", MediaKind.VIDEO: "video", MediaKind.GIFV: "animated_gif"}


def x_time(ts: datetime) -> str:
    """X's timestamp format: UTC, milliseconds, `Z`."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class XPageBuilder:
    """Builds response pages from records; t.co codes are numbered so that they never collide."""

    def __init__(self) -> None:
        self._codes = (f"https://t.co/C{n:09d}" for n in itertools.count())
        self.users: dict[str, JSON] = {}

    def user(self, a: Account, *, website: str = "", location: str = "", verified: str = "") -> JSON:
        """A User object with every field of the data dictionary that cordon reads (and a few it does not)."""
        u: JSON = {
            "id": a.id,
            "name": a.display_name,
            "username": a.handle,
            "description": a.bio,
            "protected": a.locked,
            "verified": bool(verified),
            "verified_type": verified or "none",
            "pinned_tweet_id": None,
            "entities": {"description": {"hashtags": [], "mentions": []}},
        }
        u = {k: v for k, v in u.items() if v is not None}
        if a.created_at is not None:
            u["created_at"] = x_time(a.created_at)
        if a.avatar_url:
            u["profile_image_url"] = a.avatar_url
        if location:
            u["location"] = location
        if website:
            code = next(self._codes)
            u["url"] = code
            u["entities"]["url"] = {
                "urls": [
                    {"start": 0, "end": 23, "url": code, "expanded_url": website, "display_url": website}
                ]
            }
        metrics = {
            "followers_count": a.followers_count,
            "following_count": a.following_count,
            "tweet_count": a.statuses_count,
            "listed_count": 0,
        }
        if all(v is not None for v in metrics.values()):
            u["public_metrics"] = metrics
        self.users[a.id] = u
        return u

    def _media(self, ref: MediaRef) -> JSON:
        m: JSON = {"media_key": ref.id, "type": _TYPES[ref.kind]}
        if ref.kind is MediaKind.IMAGE:
            m["url"] = ref.url
        else:
            m["preview_image_url"] = ref.preview_url
            m["variants"] = [
                {"content_type": "application/x-mpegURL", "url": ref.url + ".m3u8"},
                {"bit_rate": 256000, "content_type": "video/mp4", "url": ref.url + "?low"},
                {"bit_rate": 2176000, "content_type": "video/mp4", "url": ref.url},
            ]
        if ref.description:
            m["alt_text"] = ref.description
        return m

    def tweet(self, p: Post, *, retweet_of: Post | None = None) -> tuple[JSON, list[JSON]]:
        """A Tweet object for `p` and the Media objects it attaches (for `includes.media`)."""
        t: JSON = {
            "id": p.id,
            "edit_history_tweet_ids": [p.id],
            "author_id": p.account_id,
            "created_at": x_time(p.created_at),
            "conversation_id": p.id,
            "possibly_sensitive": p.sensitive,
            "reply_settings": "everyone",
            "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0},
        }
        if p.lang:
            t["lang"] = p.lang
        if retweet_of is not None:
            handle = self.users[retweet_of.account_id]["username"]
            t["text"] = escape(f"RT @{handle}: {retweet_of.text}"[:140])
            t["referenced_tweets"] = [{"type": "retweeted", "id": retweet_of.id}]
            t["entities"] = {
                "mentions": [
                    {"start": 3, "end": 4 + len(handle), "username": handle, "id": retweet_of.account_id}
                ]
            }
            return t, []
        text = escape(p.text)
        url_entities: list[JSON] = []
        for url in p.urls:
            code = next(self._codes)
            text = text.replace(escape(url), code)
            entity: JSON = {"start": 0, "end": 23, "url": code, "expanded_url": url, "display_url": url[8:30]}
            if url == p.card_url:
                entity |= {"title": p.card_title, "description": p.card_description, "unwound_url": url}
            url_entities.append(entity)
        media = [self._media(m) for m in p.media if m.kind in _TYPES]
        if p.media:
            code = next(self._codes)
            text += " " + code
            key = p.media[0].id
            url_entities.append(
                {
                    "start": 0,
                    "end": 23,
                    "url": code,
                    "expanded_url": f"https://x.com/u/status/{p.id}/photo/1",
                    "media_key": key,
                }
            )
            t["attachments"] = {"media_keys": [m.id for m in p.media]}
        t["text"] = text
        entities: JSON = {}
        if p.hashtags:
            entities["hashtags"] = [{"start": 0, "end": len(h) + 1, "tag": h} for h in p.hashtags]
        if p.mention_account_ids:
            entities["mentions"] = [
                {"start": 0, "end": 5, "username": self.users[m]["username"], "id": m}
                for m in p.mention_account_ids
            ]
        if url_entities:
            entities["urls"] = url_entities
        if entities:
            t["entities"] = entities
        refs = []
        if p.reply_to_post_id is not None:
            refs.append({"type": "replied_to", "id": p.reply_to_post_id})
        if p.reply_to_account_id is not None:
            t["in_reply_to_user_id"] = p.reply_to_account_id
        if p.quote_of_post_id is not None:
            refs.append({"type": "quoted", "id": p.quote_of_post_id})
        if refs:
            t["referenced_tweets"] = refs
        return t, media


def page(
    data: list[JSON], *, users: list[JSON], tweets: list[JSON], media: list[JSON], url: str = ""
) -> JSON:
    """A response page as twarc2 saves it (one line of its output)."""
    out: JSON = {"data": data, "includes": {"users": users}}
    if tweets:
        out["includes"]["tweets"] = tweets
    if media:
        out["includes"]["media"] = media
    ids = [d["id"] for d in data]
    out["meta"] = {"result_count": len(data)} | ({"newest_id": ids[0], "oldest_id": ids[-1]} if ids else {})
    out["__twarc"] = {
        "url": url or "https://api.twitter.com/2/tweets/search/recent?query=tagA1&max_results=100",
        "version": "2.14.0",
        "retrieved_at": "2024-05-02T00:00:00+00:00",
    }
    return out


def flattened(one_page: JSON) -> list[JSON]:
    """twarc's flatten of a page (it expands in place: flatten a copy)."""
    import copy  # noqa: PLC0415

    return list(flatten(copy.deepcopy(one_page)))


def post_url(post_id: str) -> str:
    return POST_URL.format(id=post_id)


def profile_url(username: str) -> str:
    return PROFILE_URL.format(username=username)
