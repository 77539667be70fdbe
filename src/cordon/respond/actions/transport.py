"""Sending planned calls over httpx: retries that cannot double an action, rate limits, transcripts.

- 429 and 503 mean the request was not processed: wait (Retry-After, or the X-RateLimit-Reset time that
  Mastodon sends, capped at `max_wait`) and send again;
- 502 and 504 and transport errors are retried only for idempotent calls (a report could be filed twice);
- when a response says the rate-limit window is spent (X-RateLimit-Remaining: 0), the next call waits for
  its reset instead of being refused;
- the transcript keeps the method, URL, the body sent and the first EXCERPT characters of the response,
  never the Authorization header.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from cordon.respond.actions.base import Exchange, PlannedCall

EXCERPT = 2000
RETRY_ANYWAY = frozenset({429, 503})
RETRY_IDEMPOTENT = frozenset({502, 504})
Sleep = Callable[[float], None]


@dataclass(frozen=True, slots=True)
class Sent:
    """The last response of a call (None when the transport failed every attempt) and every exchange."""

    response: httpx.Response | None
    exchanges: tuple[Exchange, ...]

    @property
    def status(self) -> int:
        return self.response.status_code if self.response is not None else 0


@dataclass
class HttpRunner:
    client: httpx.Client
    headers: Mapping[str, str] = field(default_factory=dict)  # credentials: sent, never transcribed
    max_attempts: int = 4
    max_wait: float = 120.0
    backoff: float = 1.0
    sleep: Sleep = time.sleep
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    _not_before: datetime | None = None

    def send(self, call: PlannedCall) -> Sent:
        exchanges: list[Exchange] = []
        response: httpx.Response | None = None
        for attempt in range(1, self.max_attempts + 1):
            self._wait_for_window()
            started = time.perf_counter()
            at = self.clock()
            try:
                response = self.client.request(
                    call.method, call.url, headers=self._headers(call), content=_content(call)
                )
            except httpx.TransportError as exc:
                exchanges.append(_exchange(call, at, started, attempt, 0, f"{type(exc).__name__}: {exc}"))
                response = None
                # a connect error never reached the server; anything else may have
                if attempt < self.max_attempts and (call.idempotent or isinstance(exc, httpx.ConnectError)):
                    self.sleep(self.backoff * 2 ** (attempt - 1))
                    continue
                break
            exchanges.append(
                _exchange(call, at, started, attempt, response.status_code, response.text[:EXCERPT])
            )
            self._note_window(response)
            retry = response.status_code in RETRY_ANYWAY or (
                call.idempotent and response.status_code in RETRY_IDEMPOTENT
            )
            if not retry or attempt == self.max_attempts:
                break
            self.sleep(self._retry_delay(response, attempt))
        return Sent(response, tuple(exchanges))

    def _headers(self, call: PlannedCall) -> dict[str, str]:
        headers = dict(self.headers)
        headers.update(call.headers)
        if call.form:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif call.body:
            headers["Content-Type"] = "application/json"
        return headers

    def _retry_delay(self, response: httpx.Response, attempt: int) -> float:
        wait = _retry_after(response, self.clock()) or self._until_reset(response)
        if wait is None:
            wait = self.backoff * 2 ** (attempt - 1)
        return min(max(wait, 0.0), self.max_wait)

    def _until_reset(self, response: httpx.Response) -> float | None:
        reset = _reset_time(response)
        return (reset - self.clock()).total_seconds() if reset else None

    def _note_window(self, response: httpx.Response) -> None:
        if response.headers.get("x-ratelimit-remaining", "").strip() == "0":
            self._not_before = _reset_time(response)

    def _wait_for_window(self) -> None:
        if self._not_before is None:
            return
        wait = (self._not_before - self.clock()).total_seconds()
        self._not_before = None
        if wait > 0:
            self.sleep(min(wait, self.max_wait))


def _content(call: PlannedCall) -> bytes | None:
    if call.form:
        return httpx.QueryParams(list(call.form)).__str__().encode()
    return call.body or None


def _exchange(
    call: PlannedCall, at: datetime, started: float, attempt: int, status: int, text: str
) -> Exchange:
    sent = str(httpx.QueryParams(list(call.form))) if call.form else call.body.decode("utf-8", "replace")
    elapsed = round((time.perf_counter() - started) * 1000, 2)
    return Exchange(call.method, call.url, sent, status, text, at, elapsed, attempt)


def _retry_after(response: httpx.Response, now: datetime) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return (parsedate_to_datetime(value) - now).total_seconds()
    except (TypeError, ValueError):
        return None


def _reset_time(response: httpx.Response) -> datetime | None:
    """Mastodon's X-RateLimit-Reset is an ISO 8601 time."""
    value = response.headers.get("x-ratelimit-reset", "").strip()
    if not value:
        return None
    try:
        reset = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return reset if reset.tzinfo else reset.replace(tzinfo=UTC)
