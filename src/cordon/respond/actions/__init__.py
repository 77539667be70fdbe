"""Actions on platforms through adapters: Mastodon's admin API, signed webhooks, dry runs."""

from cordon.respond.actions.base import (
    ActionAdapter,
    ActionOutcome,
    ActionRefusedError,
    ActionRequest,
    ActionStatus,
    Exchange,
    NotApplicableError,
    PlannedCall,
    Target,
    Verb,
)
from cordon.respond.actions.dry_run import DryRunAdapter
from cordon.respond.actions.mastodon import MastodonAdminAdapter
from cordon.respond.actions.webhook import WebhookAdapter, verify_webhook

__all__ = [
    "ActionAdapter",
    "ActionOutcome",
    "ActionRefusedError",
    "ActionRequest",
    "ActionStatus",
    "DryRunAdapter",
    "Exchange",
    "MastodonAdminAdapter",
    "NotApplicableError",
    "PlannedCall",
    "Target",
    "Verb",
    "WebhookAdapter",
    "verify_webhook",
]
