"""Acting on a Mastodon instance through its admin REST API (httpx), as an instance's moderator would.

    suspend, silence, sensitive  POST /api/v1/admin/accounts/:id/action (type=...), then
                                 GET  /api/v1/admin/accounts/:id to confirm the flag is set
    delete-statuses              POST /api/v1/reports with the statuses: Mastodon's REST API lets only a
                                 status's author delete it; moderators remove others' statuses from a report
                                 ("Delete posts"), so the outcome is `queued` with the report's id
    forward-flag                 POST /api/v1/reports with forward=true: the instance sends the report to the
                                 account's home instance as an ActivityPub Flag (checked: `forwarded`)

The token needs the scopes admin:read:accounts, admin:write:accounts and write:reports. It is sent only to
an https URL (or to a loopback address for tests and local development) and never written to a transcript.
"""

from __future__ import annotations

import json
import time
from ipaddress import ip_address
from urllib.parse import urlsplit

import httpx

from cordon.errors import ConfigError
from cordon.respond.actions.activitypub import flag_activity
from cordon.respond.actions.base import (
    ActionOutcome,
    ActionRefusedError,
    ActionRequest,
    ActionStatus,
    NotApplicableError,
    PlannedCall,
    Verb,
    check_numeric_id,
)
from cordon.respond.actions.transport import HttpRunner, Sent, Sleep

ACCOUNT_ACTIONS: dict[Verb, str] = {  # verb -> the admin account's flag that confirms it
    Verb.SUSPEND: "suspended",
    Verb.SILENCE: "silenced",
    Verb.SENSITIVE: "sensitized",
}
REPORT_CATEGORIES = frozenset({"spam", "legal", "violation", "other"})
USER_AGENT = "cordon-response/0.1 (+admin API adapter)"


def check_base_url(url: str) -> str:
    """An instance URL the token may be sent to: https, or http on a loopback address."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host or parts.query or parts.fragment:
        raise ConfigError(f"instance URL {url!r}: give the base URL, e.g. https://social.example")
    if parts.scheme == "http" and not _loopback(host):
        raise ConfigError(f"instance URL {url!r}: the admin token is only sent over https (or to loopback)")
    return url.strip().rstrip("/")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


class MastodonAdminAdapter:
    """Moderation of accounts on one Mastodon instance, with the instance's admin token."""

    name = "mastodon"

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        notify_account: bool = True,
        report_category: str = "legal",
        client: httpx.Client | None = None,
        sleep: Sleep = time.sleep,
        max_attempts: int = 4,
        timeout_s: float = 15.0,
    ) -> None:
        self.base_url = check_base_url(base_url)
        if not token.strip():
            raise ConfigError("the Mastodon admin token is empty; set it in the environment variable named")
        if report_category not in REPORT_CATEGORIES:
            raise ConfigError(
                f"report category {report_category!r}: choose one of {', '.join(sorted(REPORT_CATEGORIES))}"
            )
        self.notify_account = notify_account
        self.report_category = report_category
        self._own_client = client is None
        self._client = client or httpx.Client(timeout=timeout_s, follow_redirects=False)
        self._runner = HttpRunner(
            self._client,
            headers={"Authorization": f"Bearer {token.strip()}", "User-Agent": USER_AGENT},
            sleep=sleep,
            max_attempts=max_attempts,
        )

    @property
    def host(self) -> str:
        return (urlsplit(self.base_url).hostname or "").lower()

    def close(self) -> None:
        if self._own_client:
            self._client.close()

    def supports(self, verb: Verb) -> bool:
        return verb in Verb

    # -- planning ------------------------------------------------------------------------------------------
    def plan(self, request: ActionRequest) -> tuple[PlannedCall, ...]:
        target = request.target
        if target.platform != "mastodon":
            raise NotApplicableError(
                f"case {request.case_id}, target {target.key}: not a Mastodon account; this adapter acts on "
                f"{self.host} only"
            )
        account = check_numeric_id(target.account_id, "account_id", request)
        if request.verb in ACCOUNT_ACTIONS:
            form = [
                ("type", request.verb.value),
                ("send_email_notification", "1" if self.notify_account else "0"),
            ]
            if request.note:
                form.append(("text", request.note))
            path = f"{self.base_url}/api/v1/admin/accounts/{account}"
            return (
                PlannedCall("POST", f"{path}/action", tuple(form), purpose="action"),
                PlannedCall("GET", path, purpose="verify"),
            )
        statuses = tuple(check_numeric_id(s, "status_ids", request) for s in target.status_ids)
        if request.verb is Verb.DELETE_STATUSES:
            if not statuses:
                raise NotApplicableError(
                    f"case {request.case_id}, target {target.key}: no statuses of the case are attributed to "
                    "this account; nothing to remove"
                )
            return (self._report_call(request, account, statuses, forward_to=""),)
        if request.verb is Verb.FORWARD_FLAG:
            domain = target.domain
            if not domain or domain == self.host:
                raise NotApplicableError(
                    f"case {request.case_id}, target {target.key}: a local account (acct {target.acct!r}); "
                    "a report is forwarded only to another instance"
                )
            return (self._report_call(request, account, statuses, forward_to=domain),)
        raise ActionRefusedError(
            f"case {request.case_id}: verb {request.verb!r} is not supported by Mastodon"
        )

    def _report_call(
        self, request: ActionRequest, account: str, statuses: tuple[str, ...], *, forward_to: str
    ) -> PlannedCall:
        form = [("account_id", account), *(("status_ids[]", s) for s in statuses)]
        form += [("comment", request.note[:1000]), ("category", self.report_category)]
        form.append(("forward", "true" if forward_to else "false"))  # true: the instance sends the Flag home
        return PlannedCall(
            "POST", f"{self.base_url}/api/v1/reports", tuple(form), purpose="report", idempotent=False
        )

    def flag_preview(self, request: ActionRequest) -> bytes:
        """The Flag the home instance receives when the report is forwarded (account first, then statuses)."""
        target = request.target
        account = target.uri or f"acct:{target.acct}"
        return flag_activity(self.base_url, [account], request.note[:1000])

    # -- performing ----------------------------------------------------------------------------------------
    def perform(self, request: ActionRequest) -> ActionOutcome:
        try:
            calls = self.plan(request)
        except NotApplicableError as exc:
            return ActionOutcome(request.verb, request.target, ActionStatus.SKIPPED, str(exc))
        except ActionRefusedError as exc:
            return ActionOutcome(request.verb, request.target, ActionStatus.FAILED, str(exc))
        if request.verb in ACCOUNT_ACTIONS:
            return self._account_action(request, calls)
        return self._report(request, calls[0])

    def _account_action(self, request: ActionRequest, calls: tuple[PlannedCall, ...]) -> ActionOutcome:
        action, verify = calls
        sent = self._runner.send(action)
        if sent.status != 200:
            return self._failed(request, calls, sent, "the instance refused the action")
        check = self._runner.send(verify)
        exchanges = sent.exchanges + check.exchanges
        flag = ACCOUNT_ACTIONS[request.verb]
        body = _json_object(check)
        if check.status == 200 and body.get(flag) is True:
            return ActionOutcome(
                request.verb, request.target, ActionStatus.DONE,
                f"{request.verb.value}: the instance confirms {flag}=true for account {request.target.account_id}",
                planned=calls, exchanges=exchanges,
            )  # fmt: skip
        seen = body.get(flag, "no account record") if check.status == 200 else f"HTTP {check.status}"
        return ActionOutcome(
            request.verb, request.target, ActionStatus.FAILED,
            f"{request.verb.value}: the instance accepted the action but does not confirm it ({flag}: {seen})",
            planned=calls, exchanges=exchanges,
        )  # fmt: skip

    def _report(self, request: ActionRequest, call: PlannedCall) -> ActionOutcome:
        sent = self._runner.send(call)
        if sent.status != 200:
            return self._failed(request, (call,), sent, "the instance refused the report")
        body = _json_object(sent)
        report_id = str(body.get("id", ""))
        if request.verb is Verb.DELETE_STATUSES:
            detail = (
                f"{len(request.target.status_ids)} statuses are in report {report_id} for the instance's "
                "moderators to delete (Mastodon's REST API lets only the author delete a status)"
            )
            return ActionOutcome(request.verb, request.target, ActionStatus.QUEUED, detail, report_id,
                                 (call,), sent.exchanges)  # fmt: skip
        if body.get("forwarded") is True:
            preview = self.flag_preview(request).decode()
            detail = (
                f"report {report_id} forwarded to {request.target.domain} as an ActivityPub Flag: {preview}"
            )
            return ActionOutcome(request.verb, request.target, ActionStatus.DONE, detail, report_id,
                                 (call,), sent.exchanges)  # fmt: skip
        return ActionOutcome(
            request.verb, request.target, ActionStatus.FAILED,
            f"report {report_id} was filed but the instance did not forward it to {request.target.domain} "
            f"(forwarded: {body.get('forwarded')!r})",
            report_id, (call,), sent.exchanges,
        )  # fmt: skip

    def _failed(
        self, request: ActionRequest, calls: tuple[PlannedCall, ...], sent: Sent, what: str
    ) -> ActionOutcome:
        return ActionOutcome(
            request.verb, request.target, ActionStatus.FAILED,
            f"{what} for account {request.target.account_id}: {_explain(sent)}",
            planned=calls, exchanges=sent.exchanges,
        )  # fmt: skip


def _json_object(sent: Sent) -> dict[str, object]:
    if sent.response is None:
        return {}
    try:
        value = json.loads(sent.response.content or b"null")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


HINTS = {
    401: "the token is not valid (revoked or mistyped)",
    403: "the token lacks an admin scope or the role to do this",
    404: "no such account on the instance",
    422: "the instance rejected the parameters",
    429: "rate-limited, and still after the retries",
}


def _explain(sent: Sent) -> str:
    if sent.response is None:
        last = sent.exchanges[-1].response if sent.exchanges else "no response"
        return f"not reachable ({last})"
    error = _json_object(sent).get("error")
    hint = HINTS.get(sent.status, "unexpected response")
    return f"HTTP {sent.status}, {hint}" + (f": {error}" if error else "")
