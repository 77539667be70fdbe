"""The ActivityPub `Flag` that carries a report to an account's home instance.

cordon never signs or delivers ActivityPub requests itself: a Mastodon instance forwards a report it holds
(`forward=true`) to the origin as a Flag from its instance actor. `flag_activity` builds that activity (the
shape Mastodon sends: the instance actor, the comment as `content`, the flagged account and statuses as
`object`) so that a dry run and the action's record show what the remote moderators will receive.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"


def flag_activity(instance: str, objects: Sequence[str], content: str, *, activity_id: str = "") -> bytes:
    """The Flag activity as JSON bytes. `instance` is the reporting instance's base URL; `objects` are the
    URIs of the flagged account and statuses (the account first)."""
    base = instance.rstrip("/")
    if not objects:
        raise ValueError("a Flag needs at least the flagged account's URI in `objects`")
    activity = {
        "@context": AS_CONTEXT,
        "id": activity_id or f"{base}/{uuid.uuid4()}",
        "type": "Flag",
        "actor": f"{base}/actor",
        "content": content,
        "object": list(objects),
    }
    return json.dumps(activity, ensure_ascii=False, sort_keys=True).encode()
