"""Signed outbound webhooks: the decision goes to the platform's own system, which carries it out.

The payload carries ids and hashes only (case, verb, platform account and status ids, media SHA-256, the
evidence package id): never post text, names or media. Signatures follow the Standard Webhooks
specification (standardwebhooks.com): headers `webhook-id` (the same on every retry, so that the receiver
de-duplicates), `webhook-timestamp` (Unix seconds) and `webhook-signature`, a space-separated list of
`v1,<base64 HMAC-SHA256>` (shared secret `whsec_<base64>`) and/or `v1a,<base64 Ed25519>`, both over
`<id>.<timestamp>.<body>`. `verify_webhook` is the receiver's side.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cordon.errors import ConfigError, ResponseError
from cordon.respond.actions.base import (
    ActionOutcome,
    ActionRequest,
    ActionStatus,
    PlannedCall,
    Verb,
)
from cordon.respond.actions.mastodon import check_base_url
from cordon.respond.actions.transport import HttpRunner, Sleep

SECRET_PREFIX = "whsec_"
TOLERANCE_S = 300
EVENT_TYPE = "cordon.action.requested"


class WebhookSignatureError(ResponseError):
    """A received webhook's headers or signature do not check out."""


def decode_secret(secret: str) -> bytes:
    raw = secret.strip().removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError("webhook secret: expected 'whsec_' followed by base64") from None
    if len(key) < 16:
        raise ConfigError("webhook secret: at least 16 random bytes (24 base64 characters) are needed")
    return key


def signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode() + body


def sign(
    msg_id: str, timestamp: int, body: bytes, *, secret: bytes | None, private: Ed25519PrivateKey | None
) -> str:
    """The `webhook-signature` header value: v1 (HMAC) and/or v1a (Ed25519)."""
    content = signed_content(msg_id, timestamp, body)
    parts = []
    if secret is not None:
        parts.append("v1," + base64.b64encode(hmac.new(secret, content, hashlib.sha256).digest()).decode())
    if private is not None:
        parts.append("v1a," + base64.b64encode(private.sign(content)).decode())
    return " ".join(parts)


def verify_webhook(
    body: bytes,
    headers: Mapping[str, str],
    *,
    secret: bytes | None = None,
    public: Ed25519PublicKey | None = None,
    now: datetime | None = None,
    tolerance_s: int = TOLERANCE_S,
) -> dict[str, object]:
    """Check a received webhook (one valid signature of a kind the receiver holds a key for) and decode it."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp, signatures = (
        lower.get(h, "") for h in ("webhook-id", "webhook-timestamp", "webhook-signature")
    )
    if not (msg_id and stamp and signatures):
        raise WebhookSignatureError(
            "webhook-id, webhook-timestamp and webhook-signature headers are required"
        )
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookSignatureError(f"webhook-timestamp {stamp[:20]!r} is not Unix seconds") from None
    current = (now or datetime.now(UTC)).timestamp()
    if abs(current - timestamp) > tolerance_s:
        raise WebhookSignatureError(f"webhook-timestamp is more than {tolerance_s} s away from now (replay?)")
    content = signed_content(msg_id, timestamp, body)
    for item in signatures.split():
        version, _, value = item.partition(",")
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue
        if version == "v1" and secret is not None:
            expected = hmac.new(secret, content, hashlib.sha256).digest()
            if hmac.compare_digest(expected, raw):
                return _payload(body)
        if version == "v1a" and public is not None:
            try:
                public.verify(raw, content)
            except InvalidSignature:
                continue
            return _payload(body)
    raise WebhookSignatureError("no signature matches (wrong key, or the body was altered)")


def _payload(body: bytes) -> dict[str, object]:
    value = json.loads(body)
    if not isinstance(value, dict):
        raise WebhookSignatureError("the webhook body is not a JSON object")
    return value


def payload_of(request: ActionRequest, sent_at: datetime) -> bytes:
    """The webhook body: ids and hashes only."""
    target = request.target
    doc = {
        "type": EVENT_TYPE,
        "request_id": request.request_id,
        "case_id": request.case_id,
        "verb": request.verb.value,
        "target": {
            "platform": target.platform,
            "account_id": target.account_id,
            "status_ids": list(target.status_ids),
        },
        "media_sha256": list(target.media_sha256),
        "evidence": request.evidence_ref,
        "sent_at": sent_at.isoformat(),
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


class WebhookAdapter:
    """Delivers each action to one receiver URL, signed with a shared secret and/or an Ed25519 key."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        *,
        secret: str | None = None,
        private_key: Ed25519PrivateKey | None = None,
        client: httpx.Client | None = None,
        sleep: Sleep = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_attempts: int = 4,
        timeout_s: float = 10.0,
    ) -> None:
        parts = urlsplit(url.strip())
        check_base_url(f"{parts.scheme}://{parts.netloc}")
        self.url = url.strip()
        if secret is None and private_key is None:
            raise ConfigError("a webhook needs a signing secret (whsec_...) or an Ed25519 key, or both")
        self._secret = decode_secret(secret) if secret is not None else None
        self._private = private_key
        self._clock = clock
        self._own_client = client is None
        self._client = client or httpx.Client(timeout=timeout_s, follow_redirects=False)
        self._runner = HttpRunner(
            self._client, headers={"User-Agent": "cordon-webhook/0.1"}, sleep=sleep,
            max_attempts=max_attempts, clock=clock,
        )  # fmt: skip

    def close(self) -> None:
        if self._own_client:
            self._client.close()

    def supports(self, verb: Verb) -> bool:
        return verb in Verb

    def plan(self, request: ActionRequest) -> tuple[PlannedCall, ...]:
        body = payload_of(request, self._clock())
        return (PlannedCall("POST", self.url, body=body, purpose="deliver"),)

    def perform(self, request: ActionRequest) -> ActionOutcome:
        (call,) = self.plan(request)
        msg_id = request.request_id or hashlib.sha256(call.body).hexdigest()[:32]
        timestamp = int(self._clock().timestamp())
        signature = sign(msg_id, timestamp, call.body, secret=self._secret, private=self._private)
        signed = replace(
            call,
            headers=(
                ("webhook-id", msg_id), ("webhook-timestamp", str(timestamp)), ("webhook-signature", signature),
            ),
        )  # fmt: skip
        sent = self._runner.send(signed)
        if 200 <= sent.status < 300:
            status = ActionStatus.QUEUED if sent.status == 202 else ActionStatus.DONE
            return ActionOutcome(
                request.verb, request.target, status,
                f"delivered to {self.url} (HTTP {sent.status}); the receiver carries out the {request.verb.value}",
                msg_id, (call,), sent.exchanges,
            )  # fmt: skip
        reason = f"HTTP {sent.status}" if sent.status else "not reachable"
        return ActionOutcome(
            request.verb, request.target, ActionStatus.FAILED,
            f"webhook to {self.url} failed after {len(sent.exchanges)} attempts: {reason}",
            msg_id, (call,), sent.exchanges,
        )  # fmt: skip
