"""A twarc2 search response page written after the X API v2 data dictionary (Tweet, User and Media objects),
for the X connector's contract tests. Synthetic tokens only.

Six tweets in `data` (an original with hashtags, a mention, a link card and a photo; a reply with a video; a
retweet; a quote of a tweet only in `includes`; a long post with `note_tweet`; a reply to a deleted tweet),
users in `includes.users` (one referred to by nothing), the quoted and retweeted tweets in `includes.tweets`.
"""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]
CREATED = "2024-05-01T12:00:00.000Z"


def user(uid: str, username: str, **extra: Any) -> JSON:
    base: JSON = {
        "id": uid,
        "name": f"Name {username}",
        "username": username,
        "created_at": "2021-03-04T05:06:07.000Z",
        "description": "",
        "protected": False,
        "verified": False,
        "verified_type": "none",
        "profile_image_url": f"https://pbs.twimg.example/profile_images/{uid}/a_normal.jpg",
        "public_metrics": {
            "followers_count": 10,
            "following_count": 20,
            "tweet_count": 30,
            "listed_count": 0,
        },
    }
    return base | extra


USERS: list[JSON] = [
    user(
        "1001",
        "tagpost_a",
        description="files in bio https://t.co/bioLink001",
        url="https://t.co/siteLink01",
        location="Nowhere",
        entities={
            "url": {
                "urls": [
                    {
                        "start": 0,
                        "end": 23,
                        "url": "https://t.co/siteLink01",
                        "expanded_url": "https://xq-site.example/",
                        "display_url": "xq-site.example",
                    }
                ]
            },
            "description": {
                "urls": [
                    {
                        "start": 14,
                        "end": 37,
                        "url": "https://t.co/bioLink001",
                        "expanded_url": "https://xq-folder.example/bio",
                        "display_url": "xq-folder.example/bio",
                    }
                ]
            },
        },
    ),
    user("1002", "replier_b", protected=True, verified=True, verified_type="blue"),
    user("1003", "amplifier_c"),
    user("1004", "quoter_d"),
    user("1005", "origin_e"),  # author of an included (quoted) tweet only
    user("1006", "lurker_f"),  # in includes, referred to by nothing
]

T1: JSON = {
    "id": "2001",
    "edit_history_tweet_ids": ["2001"],
    "author_id": "1001",
    "conversation_id": "2001",
    "created_at": CREATED,
    "lang": "en",
    "possibly_sensitive": True,
    "reply_settings": "everyone",
    "text": "Drop &amp; more &lt;3 #tagA1 #tagB2 @replier_b https://t.co/linkAAAA01 https://t.co/picAAAA001",
    "entities": {
        "hashtags": [{"start": 22, "end": 28, "tag": "tagA1"}, {"start": 29, "end": 35, "tag": "tagB2"}],
        "mentions": [{"start": 36, "end": 46, "username": "replier_b", "id": "1002"}],
        "urls": [
            {
                "start": 47,
                "end": 70,
                "url": "https://t.co/linkAAAA01",
                "expanded_url": "https://xq-folder.example/f/1?x=1&y=2",
                "display_url": "xq-folder.example/f/1?x=1&…",
                "title": "A folder",
                "description": "Files for tagA1",
                "unwound_url": "https://xq-folder.example/f/1?x=1&y=2",
            },
            {
                "start": 71,
                "end": 94,
                "url": "https://t.co/picAAAA001",
                "expanded_url": "https://x.com/tagpost_a/status/2001/photo/1",
                "display_url": "pic.x.com/picAAAA001",
                "media_key": "3_3001",
            },
        ],
    },
    "attachments": {"media_keys": ["3_3001"]},
    "public_metrics": {"retweet_count": 1, "reply_count": 1, "like_count": 0, "quote_count": 0},
}
T2: JSON = {
    "id": "2002",
    "edit_history_tweet_ids": ["2002"],
    "author_id": "1002",
    "conversation_id": "2001",
    "created_at": "2024-05-01T12:01:30.250Z",
    "lang": "en",
    "possibly_sensitive": False,
    "in_reply_to_user_id": "1001",
    "referenced_tweets": [{"type": "replied_to", "id": "2001"}],
    "text": "@tagpost_a same here https://t.co/vidBBBB001",
    "entities": {
        "mentions": [{"start": 0, "end": 10, "username": "tagpost_a", "id": "1001"}],
        "urls": [
            {
                "start": 21,
                "end": 44,
                "url": "https://t.co/vidBBBB001",
                "expanded_url": "https://x.com/replier_b/status/2002/video/1",
                "display_url": "pic.x.com/vidBBBB001",
                "media_key": "7_3002",
            }
        ],
    },
    "attachments": {"media_keys": ["7_3002"]},
}
T3: JSON = {  # a retweet of T1
    "id": "2003",
    "edit_history_tweet_ids": ["2003"],
    "author_id": "1003",
    "conversation_id": "2003",
    "created_at": "2024-05-01T12:02:00.000Z",
    "lang": "en",
    "possibly_sensitive": False,
    "referenced_tweets": [{"type": "retweeted", "id": "2001"}],
    "text": "RT @tagpost_a: Drop &amp; more &lt;3 #tagA1 #tagB2 @replier_b https://t.co/linkAAAA01",
    "entities": {
        "hashtags": [{"start": 37, "end": 43, "tag": "tagA1"}, {"start": 44, "end": 50, "tag": "tagB2"}],
        "mentions": [
            {"start": 3, "end": 13, "username": "tagpost_a", "id": "1001"},
            {"start": 51, "end": 61, "username": "replier_b", "id": "1002"},
        ],
    },
}
T4: JSON = {  # quotes 9001, which is in includes.tweets
    "id": "2004",
    "edit_history_tweet_ids": ["2004"],
    "author_id": "1004",
    "conversation_id": "2004",
    "created_at": "2024-05-01T12:03:00.000Z",
    "lang": "und",
    "possibly_sensitive": False,
    "referenced_tweets": [{"type": "quoted", "id": "9001"}],
    "text": "look at this #tagA1 https://t.co/quoteCC001",
    "entities": {
        "hashtags": [{"start": 13, "end": 19, "tag": "tagA1"}],
        "urls": [
            {
                "start": 20,
                "end": 43,
                "url": "https://t.co/quoteCC001",
                "expanded_url": "https://twitter.com/origin_e/status/9001",
                "display_url": "twitter.com/origin_e/statu…",
            }
        ],
    },
}
LONG = "A long post " + "word " * 70 + "#tagC3 end"
T5: JSON = {  # a long post: `text` is cut, `note_tweet` has it all
    "id": "2005",
    "edit_history_tweet_ids": ["2005"],
    "author_id": "1001",
    "conversation_id": "2005",
    "created_at": "2024-05-01T12:04:00.000Z",
    "lang": "en",
    "possibly_sensitive": False,
    "text": LONG[:270] + "…",
    "note_tweet": {
        "text": LONG,
        "entities": {"hashtags": [{"start": len(LONG) - 10, "end": len(LONG) - 4, "tag": "tagC3"}]},
    },
}
T6: JSON = {  # replies to a tweet that is gone, of a user that is not in includes
    "id": "2006",
    "edit_history_tweet_ids": ["2006"],
    "author_id": "1003",
    "conversation_id": "9999",
    "created_at": "2024-05-01T12:05:00.000Z",
    "lang": "en",
    "possibly_sensitive": False,
    "in_reply_to_user_id": "1099",
    "referenced_tweets": [{"type": "replied_to", "id": "9999"}],
    "text": "@gone_user hello",
    "entities": {"mentions": [{"start": 0, "end": 10, "username": "gone_user", "id": "1099"}]},
}
T9001: JSON = {
    "id": "9001",
    "edit_history_tweet_ids": ["9001"],
    "author_id": "1005",
    "conversation_id": "9001",
    "created_at": "2024-04-30T08:00:00.000Z",
    "lang": "en",
    "possibly_sensitive": False,
    "text": "origin text #tagA1",
    "entities": {"hashtags": [{"start": 12, "end": 18, "tag": "tagA1"}]},
}
MEDIA: list[JSON] = [
    {
        "media_key": "3_3001",
        "type": "photo",
        "url": "https://pbs.twimg.example/media/p3001.jpg",
        "width": 640,
        "height": 480,
        "alt_text": "a grey square",
    },
    {
        "media_key": "7_3002",
        "type": "video",
        "preview_image_url": "https://pbs.twimg.example/ext_tw_video_thumb/3002/pu/img/v.jpg",
        "duration_ms": 4000,
        "variants": [
            {"content_type": "application/x-mpegURL", "url": "https://video.twimg.example/3002/pl.m3u8"},
            {
                "bit_rate": 832000,
                "content_type": "video/mp4",
                "url": "https://video.twimg.example/3002/vid/480.mp4",
            },
            {
                "bit_rate": 2176000,
                "content_type": "video/mp4",
                "url": "https://video.twimg.example/3002/vid/720.mp4",
            },
        ],
    },
]
DATA: list[JSON] = [T1, T2, T3, T4, T5, T6]
PAGE: JSON = {
    "data": DATA,
    "includes": {"users": USERS, "tweets": [T1, T9001], "media": MEDIA},
    "errors": [
        {
            "resource_id": "9999",
            "resource_type": "tweet",
            "title": "Not Found Error",
            "type": "https://api.twitter.com/2/problems/resource-not-found",
        }
    ],
    "meta": {"newest_id": "2006", "oldest_id": "2001", "result_count": 6},
    "__twarc": {
        "url": "https://api.twitter.com/2/tweets/search/recent?query=tagA1",
        "version": "2.14.0",
        "retrieved_at": "2024-05-02T00:00:00+00:00",
    },
}
