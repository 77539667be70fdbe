"""Action adapters without a platform: signed webhooks (checked with the Standard Webhooks reference
verifier and with Ed25519 directly), retries that cannot double an action, the Flag activity, settings."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pytest_httpserver import HTTPServer
from standardwebhooks import Webhook
from werkzeug import Request, Response

from cordon.errors import ConfigError
from cordon.respond.actions import (
    ActionRequest,
    ActionStatus,
    DryRunAdapter,
    MastodonAdminAdapter,
    PlannedCall,
    Target,
    Verb,
    WebhookAdapter,
    verify_webhook,
)
from cordon.respond.actions.activitypub import flag_activity
from cordon.respond.actions.config import AdapterSettings, make_adapter
from cordon.respond.actions.transport import HttpRunner
from cordon.respond.actions.webhook import WebhookSignatureError, decode_secret

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
MEDIA = ("a" * 64, "b" * 64)


def _request(verb: Verb = Verb.SUSPEND) -> ActionRequest:
    target = Target("mastodon", "1001", acct="poster@home.example", role="poster", status_ids=("5001", "5002"),
                    media_sha256=MEDIA)  # fmt: skip
    return ActionRequest("case-c1", verb, target, note="SECRET-NOTE-TEXT should never leave in a webhook",
                         evidence_ref="pkg-123", request_id="act-42")  # fmt: skip


class Receiver:
    """A loopback webhook receiver that keeps what it got and answers with the queued statuses."""

    def __init__(self, server: HTTPServer, statuses: list[int]) -> None:
        self.got: list[tuple[bytes, dict[str, str]]] = []
        self.statuses = statuses
        server.expect_request("/hook", method="POST").respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        self.got.append((request.get_data(), dict(request.headers)))
        return Response("", status=self.statuses.pop(0) if self.statuses else 200)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@contextmanager
def _adapter(
    server: HTTPServer,
    sleeps: list[float],
    *,
    secret: str | None = None,
    private_key: Ed25519PrivateKey | None = None,
) -> Iterator[WebhookAdapter]:
    a = WebhookAdapter(server.url_for("/hook"), secret=secret, private_key=private_key, sleep=sleeps.append)
    try:
        yield a
    finally:
        a.close()


def test_hmac_signature_verifies_with_the_reference_library(
    httpserver: HTTPServer, sleeps: list[float]
) -> None:
    receiver = Receiver(httpserver, [200])
    with _adapter(httpserver, sleeps, secret=SECRET) as adapter:
        outcome = adapter.perform(_request())
    assert outcome.status is ActionStatus.DONE
    body, headers = receiver.got[0]
    payload = Webhook(SECRET).verify(body, headers)  # the Standard Webhooks reference implementation
    assert payload == verify_webhook(body, headers, secret=decode_secret(SECRET))
    assert headers["Webhook-Id"] == "act-42"
    with pytest.raises(WebhookSignatureError):
        verify_webhook(body.replace(b"1001", b"1002"), headers, secret=decode_secret(SECRET))


def test_payload_carries_ids_and_hashes_only(httpserver: HTTPServer, sleeps: list[float]) -> None:
    receiver = Receiver(httpserver, [202])
    with _adapter(httpserver, sleeps, secret=SECRET) as adapter:
        outcome = adapter.perform(_request(Verb.DELETE_STATUSES))
    assert outcome.status is ActionStatus.QUEUED  # 202: accepted, to be carried out by the receiver
    body = receiver.got[0][0]
    doc = json.loads(body)
    assert set(doc) == {
        "type",
        "request_id",
        "case_id",
        "verb",
        "target",
        "media_sha256",
        "evidence",
        "sent_at",
    }
    assert set(doc["target"]) == {"platform", "account_id", "status_ids"}
    assert doc["media_sha256"] == list(MEDIA) and doc["target"]["status_ids"] == ["5001", "5002"]
    assert b"SECRET-NOTE" not in body and b"poster@home.example" not in body


def test_ed25519_signature_over_id_timestamp_body(httpserver: HTTPServer, sleeps: list[float]) -> None:
    receiver = Receiver(httpserver, [200])
    key = Ed25519PrivateKey.generate()
    with _adapter(httpserver, sleeps, private_key=key) as adapter:
        adapter.perform(_request())
    body, headers = receiver.got[0]
    version, sig = headers["Webhook-Signature"].split(",", 1)
    assert version == "v1a"
    signed = f"{headers['Webhook-Id']}.{headers['Webhook-Timestamp']}.".encode() + body
    key.public_key().verify(base64.b64decode(sig), signed)  # raises if wrong
    assert verify_webhook(body, headers, public=key.public_key())["verb"] == "suspend"
    with pytest.raises(WebhookSignatureError):
        verify_webhook(body, headers, public=Ed25519PrivateKey.generate().public_key())
    late = datetime.now(UTC) + timedelta(minutes=10)
    with pytest.raises(WebhookSignatureError, match="replay"):
        verify_webhook(body, headers, public=key.public_key(), now=late)


def test_retry_keeps_the_message_id(httpserver: HTTPServer, sleeps: list[float]) -> None:
    receiver = Receiver(httpserver, [503, 502, 200])
    with _adapter(httpserver, sleeps, secret=SECRET) as adapter:
        outcome = adapter.perform(_request())
    assert outcome.status is ActionStatus.DONE
    assert [e.status for e in outcome.exchanges] == [503, 502, 200]
    assert len({h["Webhook-Id"] for _, h in receiver.got}) == 1
    assert sleeps == [1.0, 2.0]


def test_a_rejected_webhook_fails_without_retry(httpserver: HTTPServer, sleeps: list[float]) -> None:
    Receiver(httpserver, [400])
    with _adapter(httpserver, sleeps, secret=SECRET) as adapter:
        outcome = adapter.perform(_request())
    assert outcome.status is ActionStatus.FAILED and len(outcome.exchanges) == 1


def _runner(handler: httpx.MockTransport, sleeps: list[float], now: datetime) -> HttpRunner:
    return HttpRunner(httpx.Client(transport=handler), sleep=sleeps.append, clock=lambda: now)


def test_a_report_is_not_sent_twice_after_a_gateway_error(sleeps: list[float]) -> None:
    calls: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(502)

    runner = _runner(httpx.MockTransport(handle), sleeps, datetime.now(UTC))
    report = PlannedCall("POST", "http://127.0.0.1/api/v1/reports", (("account_id", "1"),), idempotent=False)
    assert runner.send(report).status == 502 and len(calls) == 1
    action = PlannedCall("POST", "http://127.0.0.1/api/v1/admin/accounts/1/action", (("type", "suspend"),))
    assert runner.send(action).status == 502 and len(calls) == 1 + runner.max_attempts


def test_spent_rate_limit_window_waits_for_its_reset(sleeps: list[float]) -> None:
    now = datetime(2026, 8, 1, 13, 49, 30, tzinfo=UTC)
    reset = "2026-08-01T13:50:00.000000Z"  # Mastodon's X-RateLimit-Reset format (see the cassettes)

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={}, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
        )

    runner = _runner(httpx.MockTransport(handle), sleeps, now)
    call = PlannedCall("GET", "http://127.0.0.1/api/v1/admin/accounts/1")
    runner.send(call)
    assert sleeps == []
    runner.send(call)
    assert sleeps == [30.0]


def test_connect_error_is_retried_then_reported() -> None:
    sleeps: list[float] = []
    adapter = MastodonAdminAdapter("http://127.0.0.1:9", "tok", sleep=sleeps.append, max_attempts=2)
    outcome = adapter.perform(_request())
    adapter.close()
    assert outcome.status is ActionStatus.FAILED and "not reachable" in outcome.detail
    assert len(outcome.exchanges) == 2 and outcome.exchanges[0].status == 0


def test_flag_activity_has_the_shape_of_the_w3c_example(shared: Path) -> None:
    example = json.loads((shared / "fixtures" / "activitystreams" / "ex174.json").read_text())
    flag = json.loads(
        flag_activity("https://social.example/", ["https://home.example/users/u1"], "network case")
    )
    assert set(example) - {"summary"} <= set(flag)
    assert (flag["@context"], flag["type"]) == (example["@context"], example["type"])
    assert flag["actor"] == "https://social.example/actor" and flag["object"] == [
        "https://home.example/users/u1"
    ]


def test_dry_run_without_a_platform_describes_the_action() -> None:
    outcome = DryRunAdapter().perform(_request(Verb.SILENCE))
    assert outcome.status is ActionStatus.DRY_RUN and outcome.planned == ()
    assert "would silence account:mastodon:1001" in outcome.detail


def test_adapter_settings(tmp_path: Path) -> None:
    assert isinstance(make_adapter(AdapterSettings()), DryRunAdapter)
    with pytest.raises(ConfigError, match="CORDON_MASTODON_TOKEN"):
        make_adapter(AdapterSettings(kind="mastodon", url="https://social.example"), environ={})
    made = make_adapter(AdapterSettings(kind="mastodon", url="https://social.example"),
                        environ={"CORDON_MASTODON_TOKEN": secrets.token_hex(8)})  # fmt: skip
    assert made.name == "mastodon"
    made.close()
    pem = tmp_path / "hook.pem"
    pem.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))  # fmt: skip
    hook = make_adapter(
        AdapterSettings(kind="webhook", url="https://hooks.example/in", ed25519_key=str(pem)), environ={}
    )
    assert hook.name == "webhook"
    with pytest.raises(ConfigError, match="secret"):
        make_adapter(AdapterSettings(kind="webhook", url="https://hooks.example/in"), environ={})
    with pytest.raises(ConfigError, match="whsec_"):
        decode_secret("whsec_!!notbase64!!")
    with pytest.raises(ConfigError, match="choose one of"):
        make_adapter(AdapterSettings(kind="carrier-pigeon"))
