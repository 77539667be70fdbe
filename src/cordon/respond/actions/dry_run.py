"""Dry runs: the calls a real run would send, planned by the real adapter, and nothing sent.

`DryRunAdapter(inner)` asks `inner` for its plan (the same checks: an id that is not numeric, a verb that
does not apply to the target) and returns it as the outcome. With no inner adapter (no platform configured),
it records what would be done in words.
"""

from __future__ import annotations

from cordon.respond.actions.base import (
    ActionAdapter,
    ActionOutcome,
    ActionRefusedError,
    ActionRequest,
    ActionStatus,
    NotApplicableError,
    PlannedCall,
    Verb,
)


class DryRunAdapter:
    def __init__(self, inner: ActionAdapter | None = None) -> None:
        self.inner = inner

    @property
    def name(self) -> str:
        return self.inner.name if self.inner is not None else "dry-run"

    def supports(self, verb: Verb) -> bool:
        return self.inner.supports(verb) if self.inner is not None else True

    def plan(self, request: ActionRequest) -> tuple[PlannedCall, ...]:
        return self.inner.plan(request) if self.inner is not None else ()

    def perform(self, request: ActionRequest) -> ActionOutcome:
        try:
            calls = self.plan(request)
        except NotApplicableError as exc:
            return ActionOutcome(request.verb, request.target, ActionStatus.SKIPPED, str(exc))
        except ActionRefusedError as exc:
            return ActionOutcome(request.verb, request.target, ActionStatus.FAILED, str(exc))
        if calls:
            detail = "would send: " + "; ".join(c.describe() for c in calls)
        else:
            detail = f"would {request.verb.value} {request.target.key} (no platform adapter configured)"
        return ActionOutcome(request.verb, request.target, ActionStatus.DRY_RUN, detail, planned=calls)

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()
