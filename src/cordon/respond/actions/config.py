"""Which adapter acts, from settings: secrets are read from the environment (named in the settings), never
from a settings file or the command line."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cordon.errors import ConfigError
from cordon.respond.actions.base import ActionAdapter
from cordon.respond.actions.dry_run import DryRunAdapter
from cordon.respond.actions.mastodon import MastodonAdminAdapter
from cordon.respond.actions.webhook import WebhookAdapter

KINDS = ("dry-run", "mastodon", "webhook")


class AdapterSettings(msgspec.Struct, frozen=True, kw_only=True):
    kind: str = "dry-run"  # dry-run | mastodon | webhook
    url: str = ""  # the Mastodon instance, or the webhook receiver
    token_env: str = "CORDON_MASTODON_TOKEN"  # environment variable holding the Mastodon admin token
    secret_env: str = "CORDON_WEBHOOK_SECRET"  # environment variable holding the webhook's whsec_ secret
    ed25519_key: str = ""  # PEM file of an Ed25519 key that also signs webhooks (v1a)
    notify_account: bool = True  # Mastodon: e-mail the account its statement of reasons
    report_category: str = "legal"  # Mastodon report category for removals and forwarded reports


def make_adapter(settings: AdapterSettings, environ: Mapping[str, str] | None = None) -> ActionAdapter:
    env = os.environ if environ is None else environ
    if settings.kind == "dry-run":
        return DryRunAdapter()
    if settings.kind == "mastodon":
        token = env.get(settings.token_env, "")
        if not token:
            raise ConfigError(f"the Mastodon adapter needs the admin token in ${settings.token_env}")
        return MastodonAdminAdapter(
            settings.url, token, notify_account=settings.notify_account,
            report_category=settings.report_category,
        )  # fmt: skip
    if settings.kind == "webhook":
        secret = env.get(settings.secret_env) or None
        key = _load_key(Path(settings.ed25519_key)) if settings.ed25519_key else None
        return WebhookAdapter(settings.url, secret=secret, private_key=key)
    raise ConfigError(f"action adapter {settings.kind!r}: choose one of {', '.join(KINDS)}")


def _load_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"webhook signing key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"webhook signing key {path}: not an Ed25519 private key")
    return key
