"""Map flattened X API v2 objects (schema.py Structs) to cordon records.

Text: X escapes `&`, `<` and `>` in tweet text as HTML entities and shortens every link to a t.co URL; the
post text gets them back as written and shown (t.co links replaced by their expanded URL, the link to an
attached photo or video removed, since it is the attachment). A retweet's own text is X's truncated copy
("RT @user: ...") of the original, which is a post of its own: like a Mastodon reblog, the retweet keeps only
its reblog target.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cordon.connectors.x.schema import (
    MediaS,
    ReferencedTweetS,
    TweetEntitiesS,
    TweetS,
    UrlS,
    UserS,
)
from cordon.errors import RecordError
from cordon.model import Account, Edge, EdgeKind, MediaKind, MediaRef, Platform, Post, ProfileField

X = Platform.X
_KINDS = {"photo": MediaKind.IMAGE, "video": MediaKind.VIDEO, "animated_gif": MediaKind.GIFV}
_TCO = re.compile(r"(\s?)(https?://t\.co/[A-Za-z0-9]+)")
_FOLLOW_URL = re.compile(r"/2/users/([0-9]+)/(followers|following)\b")
POST_URL = "https://x.com/i/web/status/{id}"  # stable whatever the author's current username
PROFILE_URL = "https://x.com/{username}"


def unescape(text: str) -> str:
    """Tweet text as written: X escapes only these three (`&amp;` last, so `&amp;lt;` stays `&lt;`)."""
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def expand_links(text: str, urls: list[UrlS]) -> str:
    """`text` with each t.co link replaced by its expanded URL; a link to attached media is removed with
    the one space X puts before it (X appends it to the text: the attachment itself is a MediaRef)."""
    if not urls or "t.co/" not in text:
        return text
    replacement = {u.url: "" if u.media_key else (u.expanded_url or u.url) for u in urls if u.url}

    def expand(m: re.Match[str]) -> str:
        link = m.group(2)
        if link not in replacement:
            return m.group(0)
        new = replacement[link]
        return m.group(1) + new if new else ""

    return _TCO.sub(expand, text)


def _link_urls(urls: list[UrlS] | None) -> list[UrlS]:
    return urls or []


def account(u: UserS) -> Account | None:
    """The account of a full User object; None for a reference (`{}`, or a mention without `includes`)."""
    if u.id is None or u.name is None:
        return None
    entities = u.entities
    bio_urls = _link_urls(entities.description.urls if entities and entities.description else None)
    site_urls = _link_urls(entities.url.urls if entities and entities.url else None)
    fields: list[ProfileField] = []
    website = expand_links(u.url, site_urls) if u.url else ""
    if website:
        fields.append(ProfileField("website", website))
    if u.location:
        fields.append(ProfileField("location", u.location))
    if u.verified or u.verified_type not in (None, "", "none"):
        fields.append(ProfileField("verified", u.verified_type or "true"))
    metrics = u.public_metrics
    return Account(
        platform=X,
        id=u.id,
        handle=u.username,
        display_name=u.name,
        bio=expand_links(u.description, bio_urls),
        fields=tuple(fields),
        created_at=u.created_at,
        url=PROFILE_URL.format(username=u.username) if u.username else "",
        avatar_url=u.profile_image_url or "",
        locked=u.protected,
        followers_count=metrics.followers_count if metrics else None,
        following_count=metrics.following_count if metrics else None,
        statuses_count=metrics.tweet_count if metrics else None,
    )


def follow_edge(page_url: str, user_id: str) -> Edge | None:
    """A follow edge from a followers/following page's URL (`/2/users/{id}/followers`) and a user on it."""
    m = _FOLLOW_URL.search(page_url)
    if m is None:
        return None
    owner = m.group(1)
    if m.group(2) == "followers":
        return Edge(X, EdgeKind.FOLLOW, user_id, owner)
    return Edge(X, EdgeKind.FOLLOW, owner, user_id)


def _media_ref(key: str, m: MediaS | None) -> MediaRef:
    if m is None:  # the key is known, the Media object was not in `includes`
        return MediaRef(X, key, MediaKind.UNKNOWN)
    url = m.url or ""
    if not url and m.variants:  # videos and GIFs: the best MP4 rendition
        mp4 = [v for v in m.variants if v.content_type == "video/mp4" and v.url]
        if mp4:
            url = max(mp4, key=lambda v: v.bit_rate or 0).url
    return MediaRef(
        platform=X,
        id=key,
        kind=_KINDS.get(m.type, MediaKind.UNKNOWN),
        url=url,
        preview_url=m.preview_image_url or "",
        description=m.alt_text or "",
    )


def _media(t: TweetS) -> tuple[MediaRef, ...]:
    a = t.attachments
    if a is None:
        return ()
    by_key = {m.media_key: m for m in a.media if m.media_key}
    keys = a.media_keys or list(by_key)
    return tuple(_media_ref(k, by_key.get(k)) for k in keys)


def _author_id(t: TweetS) -> str | None:
    return t.author_id or (t.author.id if t.author is not None else None)


def _ref(t: TweetS, kind: str) -> ReferencedTweetS | None:
    return next((r for r in t.referenced_tweets if r.type == kind), None)


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


@dataclass(slots=True)
class TweetRecords:
    """The records one tweet yields: itself, the tweets it embeds, and the users it embeds."""

    accounts: list[Account] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def _retweet_author(t: TweetS, original: ReferencedTweetS) -> str | None:
    """The retweeted author: from the original, else from the "RT @user:" mention that opens the text."""
    author = _author_id(original)
    if author is not None:
        return author
    mentions = t.entities.mentions if t.entities else []
    first = mentions[0] if mentions else None
    if first is not None and first.id and (t.text or "").startswith(f"RT @{first.username}"):
        return first.id
    return None


def _post(t: TweetS, author: str, records: TweetRecords) -> Post:
    if t.created_at is None:
        raise RecordError(
            "tweet has no created_at; request tweet.fields=created_at (twarc2 does by default)",
            record_id=t.id,
            field="$.created_at",
        )
    url = POST_URL.format(id=t.id)
    retweet = _ref(t, "retweeted")
    if retweet is not None:
        target = _retweet_author(t, retweet)
        if target is not None:
            records.edges.append(Edge(X, EdgeKind.REBLOG, author, target, t.id, t.created_at))
        return Post(X, t.id, author, t.created_at, lang=t.lang or "", url=url, reblog_of_post_id=retweet.id)
    entities: TweetEntitiesS | None = t.entities
    text = t.text or ""
    if t.note_tweet is not None and t.note_tweet.text:
        text = t.note_tweet.text
        entities = t.note_tweet.entities or entities
    links = entities.urls if entities else []
    mentions = _unique([m.id or "" for m in entities.mentions]) if entities else ()
    card = next((u for u in links if u.title and not u.media_key), None)
    reply, quote = _ref(t, "replied_to"), _ref(t, "quoted")
    post = Post(
        platform=X,
        id=t.id,
        account_id=author,
        created_at=t.created_at,
        text=expand_links(unescape(text), links),
        lang=t.lang or "",
        url=url,
        hashtags=_unique([h.tag for h in entities.hashtags] if entities else []),
        mention_account_ids=mentions,
        urls=_unique([u.expanded_url or u.url for u in links if not u.media_key]),
        reply_to_post_id=reply.id if reply is not None else None,
        reply_to_account_id=t.in_reply_to_user_id,
        quote_of_post_id=quote.id if quote is not None else None,
        media=_media(t),
        card_url=(card.unwound_url or card.expanded_url or card.url) if card is not None else "",
        card_title=(card.title or "") if card is not None else "",
        card_description=(card.description or "") if card is not None else "",
        sensitive=t.possibly_sensitive,
    )
    if t.in_reply_to_user_id:
        records.edges.append(Edge(X, EdgeKind.REPLY, author, t.in_reply_to_user_id, t.id, t.created_at))
    quoted_author = _author_id(quote) if quote is not None else None
    if quoted_author is not None:
        records.edges.append(Edge(X, EdgeKind.QUOTE, author, quoted_author, t.id, t.created_at))
    records.edges.extend(Edge(X, EdgeKind.MENTION, author, m, t.id, t.created_at) for m in mentions)
    return post


class AccountCache:
    """Flattened tweets embed their author again and again: map each user once while it stays the same."""

    def __init__(self, limit: int = 50_000) -> None:
        self._seen: dict[str, tuple[UserS, Account | None]] = {}
        self._limit = limit

    def __call__(self, u: UserS | None) -> Account | None:
        if u is None or u.id is None:
            return None
        hit = self._seen.get(u.id)
        if hit is not None and hit[0] == u:
            return hit[1]
        if len(self._seen) >= self._limit:
            self._seen.clear()
        mapped = account(u)
        self._seen[u.id] = (u, mapped)
        return mapped


def _is_full(t: TweetS) -> bool:
    """A referenced tweet that `includes` held (not just `{type, id}`): it becomes a post of its own."""
    return t.created_at is not None and _author_id(t) is not None


def tweet(t: TweetS, users: AccountCache) -> TweetRecords:
    """A flattened tweet and what it embeds (referenced tweets, their authors, mentioned users) as records."""
    records = TweetRecords()
    accounts: dict[str, Account] = {}
    stack: list[TweetS] = [t]
    seen: set[str] = set()
    while stack:
        cur = stack.pop()
        if cur.id in seen:
            continue
        seen.add(cur.id)
        author = _author_id(cur)
        if author is None:
            raise RecordError(
                "tweet has no author_id; request the author_id expansion (twarc2 does by default)",
                record_id=cur.id,
                field="$.author_id",
            )
        records.posts.append(_post(cur, author, records))
        embedded = [cur.author, cur.in_reply_to_user, *(cur.entities.mentions if cur.entities else [])]
        accounts.update((a.id, a) for a in map(users, embedded) if a is not None)
        stack.extend(r for r in cur.referenced_tweets if _is_full(r))
    records.accounts = list(accounts.values())
    return records
