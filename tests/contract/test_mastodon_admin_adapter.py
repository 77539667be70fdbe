"""The Mastodon admin adapter against a loopback server that replays recorded Mastodon responses.

The responses are the ones Mastodon.py's VCR cassettes recorded from a real Mastodon server
(../shared/fixtures/mastodon). The server replays them in order and checks each request against the
recorded one: method, path, the Bearer token and every recorded form parameter (the adapter may send more,
e.g. the `text` of an account action). Expected outcomes are read from the recorded bodies, not restated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import yaml
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from cordon.respond.actions import (
    ActionRequest,
    ActionStatus,
    DryRunAdapter,
    MastodonAdminAdapter,
    Target,
    Verb,
)

TOKEN = "test-admin-token-not-secret"
RECORDED_ACCOUNT = "117020566092212359"  # the account test_admin_moderation.yaml moderates


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    form: tuple[tuple[str, str], ...]
    status: int
    body: str
    headers: dict[str, str]


def _load(shared: Path, name: str) -> list[Recorded]:
    doc = yaml.safe_load((shared / "fixtures" / "mastodon" / name).read_text(encoding="utf-8"))
    out = []
    for i in doc["interactions"]:
        req, resp = i["request"], i["response"]
        body = req.get("body") or ""
        form = tuple(parse_qsl(body)) if isinstance(body, str) else ()
        headers = {
            k: v[0]
            for k, v in resp["headers"].items()
            if k.lower().startswith(("content-type", "x-ratelimit"))
        }
        out.append(Recorded(req["method"], req["uri"].split("localhost:3000", 1)[1], form,
                            resp["status"]["code"], resp["body"]["string"], headers))  # fmt: skip
    return out


@pytest.fixture(scope="module")
def moderation(shared: Path) -> list[Recorded]:
    return _load(shared, "test_admin_moderation.yaml")


@pytest.fixture(scope="module")
def reports(shared: Path) -> list[Recorded]:
    return _load(shared, "test_report.yaml")


def _after_action(recorded: list[Recorded], kind: str) -> tuple[Recorded, Recorded]:
    """The recorded POST .../action with type=kind and the GET of the account that followed it."""
    for n, r in enumerate(recorded):
        if r.method == "POST" and r.path.endswith("/action") and ("type", kind) in r.form:
            follow = next(x for x in recorded[n + 1 :] if x.method == "GET" and "/admin/accounts/" in x.path)
            return r, follow
    raise AssertionError(f"no recorded {kind} action")


class Replay:
    """Serves recorded interactions in order; every request is checked against the one it replays."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.seen: list[tuple[str, str, list[tuple[str, str]], dict[str, str]]] = []

    def queue(self, recorded: Recorded) -> None:
        path = recorded.path.split("?")[0].rstrip("/")

        def handler(request: Request) -> Response:
            form = parse_qsl(request.get_data(as_text=True))
            self.seen.append((request.method, request.path, form, dict(request.headers)))
            assert request.headers.get("Authorization") == f"Bearer {TOKEN}"
            missing = [p for p in recorded.form if p not in form]
            assert not missing, f"recorded parameters not sent: {missing}"
            return Response(recorded.body, status=recorded.status, headers=recorded.headers)

        self.server.expect_ordered_request(path, method=recorded.method).respond_with_handler(handler)


@pytest.fixture
def replay(httpserver: HTTPServer) -> Iterator[Replay]:
    yield Replay(httpserver)
    httpserver.check()  # unmatched requests and failed checks inside the handler fail the test


@pytest.fixture
def adapter(httpserver: HTTPServer) -> Iterator[MastodonAdminAdapter]:
    sleeps: list[float] = []
    a = MastodonAdminAdapter(httpserver.url_for("/"), TOKEN, sleep=sleeps.append)
    a.sleeps = sleeps  # type: ignore[attr-defined]
    yield a
    a.close()


def _request(verb: Verb, account: str = RECORDED_ACCOUNT, **target: Any) -> ActionRequest:
    t = Target(platform="mastodon", account_id=account, **target)
    return ActionRequest(
        "case-c1", verb, t, note="network case case-c1", evidence_ref="pkg-1", request_id="r1"
    )


FLAG_OF = {Verb.SUSPEND: "suspended", Verb.SILENCE: "silenced", Verb.SENSITIVE: "sensitized"}


@pytest.mark.parametrize("verb", [Verb.SUSPEND, Verb.SILENCE, Verb.SENSITIVE])
def test_account_action_is_sent_and_confirmed(
    verb: Verb, moderation: list[Recorded], replay: Replay, adapter: MastodonAdminAdapter
) -> None:
    action, check = _after_action(moderation, verb.value)
    assert json.loads(check.body)[FLAG_OF[verb]] is True  # the recording confirms the flag
    replay.queue(action)
    replay.queue(check)
    outcome = adapter.perform(_request(verb))
    assert outcome.status is ActionStatus.DONE, outcome.detail
    assert [e.status for e in outcome.exchanges] == [200, 200]
    method, path, form, headers = replay.seen[0]
    assert (method, path) == ("POST", f"/api/v1/admin/accounts/{RECORDED_ACCOUNT}/action")
    assert ("type", verb.value) in form and ("text", "network case case-c1") in form
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    transcript = json.dumps([e.request + e.response + e.url for e in outcome.exchanges])
    assert TOKEN not in transcript


def test_unconfirmed_action_fails(
    moderation: list[Recorded], replay: Replay, adapter: MastodonAdminAdapter
) -> None:
    action, _ = _after_action(moderation, "suspend")
    _, disabled_only = _after_action(moderation, "disable")  # an account record with suspended: false
    assert json.loads(disabled_only.body)["suspended"] is False
    replay.queue(action)
    replay.queue(disabled_only)
    outcome = adapter.perform(_request(Verb.SUSPEND))
    assert outcome.status is ActionStatus.FAILED
    assert "does not confirm" in outcome.detail and "suspended: False" in outcome.detail


def test_refusal_by_the_instance_is_reported(
    moderation: list[Recorded], replay: Replay, adapter: MastodonAdminAdapter
) -> None:
    refused = next(r for r in moderation if r.status == 403)
    action, _ = _after_action(moderation, "suspend")
    replay.queue(replace(refused, method=action.method, path=action.path, form=action.form))
    outcome = adapter.perform(_request(Verb.SUSPEND))
    assert outcome.status is ActionStatus.FAILED
    assert "HTTP 403" in outcome.detail and json.loads(refused.body)["error"] in outcome.detail
    assert len(outcome.exchanges) == 1  # a 403 is not retried


def test_delete_statuses_files_a_report_for_the_moderators(
    reports: list[Recorded], replay: Replay, adapter: MastodonAdminAdapter
) -> None:
    filed = next(r for r in reports if r.method == "POST" and "/reports" in r.path)
    form = dict(filed.form)
    replay.queue(filed)
    request = _request(Verb.DELETE_STATUSES, form["account_id"], status_ids=(form["status_ids[]"],))
    outcome = adapter.perform(replace(request, note=form["comment"]))
    assert outcome.status is ActionStatus.QUEUED
    assert outcome.external_ref == json.loads(filed.body)["id"]
    sent = dict(replay.seen[0][2])
    assert sent["forward"] == "false" and sent["category"] == "legal"


@pytest.mark.parametrize("forwarded", [True, False])
def test_forward_flag_to_the_home_instance(
    forwarded: bool, reports: list[Recorded], replay: Replay, adapter: MastodonAdminAdapter
) -> None:
    filed = next(r for r in reports if r.method == "POST" and "/reports" in r.path)
    body = json.loads(filed.body)
    body["forwarded"] = forwarded  # the recorded report was local (forwarded: false); as forwarded it is true
    replay.queue(replace(filed, body=json.dumps(body)))
    form = dict(filed.form)
    request = _request(Verb.FORWARD_FLAG, form["account_id"], acct="someone@home.example",
                       uri="https://home.example/users/someone", status_ids=(form["status_ids[]"],))  # fmt: skip
    outcome = adapter.perform(replace(request, note=form["comment"]))
    sent = replay.seen[0][2]
    assert ("forward", "true") in sent  # Mastodon then delivers the Flag to the account's home instance
    if forwarded:
        assert outcome.status is ActionStatus.DONE
        flag = json.loads(outcome.detail.split(" as an ActivityPub Flag: ", 1)[1])
        assert flag["type"] == "Flag" and flag["object"] == ["https://home.example/users/someone"]
        assert flag["content"] == form["comment"]
    else:
        assert outcome.status is ActionStatus.FAILED and "did not forward" in outcome.detail


@pytest.mark.parametrize(
    ("verb", "target", "expected"),
    [
        (Verb.FORWARD_FLAG, {"acct": "localuser"}, ActionStatus.SKIPPED),
        (Verb.DELETE_STATUSES, {}, ActionStatus.SKIPPED),
        (Verb.SUSPEND, {"account_id": "../../admin/accounts/1"}, ActionStatus.FAILED),
        (Verb.DELETE_STATUSES, {"status_ids": ("1/../../x",)}, ActionStatus.FAILED),
    ],
)
def test_refused_before_any_request(
    verb: Verb, target: dict[str, object], expected: ActionStatus, httpserver: HTTPServer,
    adapter: MastodonAdminAdapter,
) -> None:  # fmt: skip
    account = str(target.pop("account_id", RECORDED_ACCOUNT))
    outcome = adapter.perform(_request(verb, account, **target))
    assert outcome.status is expected
    assert httpserver.log == []


def test_rate_limit_waits_then_succeeds(
    moderation: list[Recorded], replay: Replay, adapter: MastodonAdminAdapter, httpserver: HTTPServer
) -> None:
    action, check = _after_action(moderation, "silence")
    limited = replace(action, status=429, body='{"error":"Too many requests"}', headers={"Retry-After": "7"})
    for r in (limited, action, check):
        replay.queue(r)
    outcome = adapter.perform(_request(Verb.SILENCE))
    assert outcome.status is ActionStatus.DONE
    assert [e.status for e in outcome.exchanges] == [429, 200, 200]
    assert adapter.sleeps == [7.0]  # type: ignore[attr-defined]


def test_dry_run_sends_nothing_and_shows_the_calls(
    httpserver: HTTPServer, adapter: MastodonAdminAdapter
) -> None:
    outcome = DryRunAdapter(adapter).perform(_request(Verb.SUSPEND))
    assert outcome.status is ActionStatus.DRY_RUN
    assert [c.method for c in outcome.planned] == ["POST", "GET"]
    assert f"/api/v1/admin/accounts/{RECORDED_ACCOUNT}/action type=suspend" in outcome.detail
    assert httpserver.log == []


def test_token_only_over_https_or_loopback() -> None:
    from cordon.errors import ConfigError  # noqa: PLC0415

    with pytest.raises(ConfigError, match="https"):
        MastodonAdminAdapter("http://social.example", TOKEN)
    MastodonAdminAdapter("https://social.example", TOKEN).close()
