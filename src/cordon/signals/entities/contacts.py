"""E-mail, phone, price and messenger-handle normalisers (each returns None to reject a candidate).

Phone numbers: only international forms are taken from free text (``+CC ...`` or ``00CC ...``), because a
bare run of digits is far more often an order number, a date or a price than a phone number. The value is
E.164-like: ``+`` and 8 to 15 digits, no leading zero after the ``+``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from cordon.signals.entities.urls import normalise_host

CURRENCY_SYMBOLS: dict[str, str] = {
    "$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₿": "BTC",
    "₽": "RUB",
    "₹": "INR",
}
FIAT_CODES = frozenset({"USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "RUB", "INR"})
CRYPTO_CODES = frozenset({"BTC", "ETH", "XMR", "LTC", "USDT", "USDC"})
_CODE_ALIASES = {"BUCKS": "USD", "DOLLARS": "USD", "DOLLAR": "USD", "EURO": "EUR", "EUROS": "EUR"}
_MAX_AMOUNT = Decimal(10) ** 12


def normalise_email(raw: str) -> str | None:
    """Lower-cased address whose domain is under a known public suffix."""
    local, _, domain = raw.rpartition("@")
    if not local or len(local) > 64 or local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    host = normalise_host(domain)
    return f"{local.lower()}@{host}" if host else None


def normalise_phone(raw: str) -> str | None:
    """``+44 (20) 7946-0958`` -> ``+442079460958``; None unless 8-15 digits after an international prefix."""
    digits = "".join(ch for ch in raw if ch.isdigit())
    stripped = raw.lstrip()
    if stripped.startswith("00"):
        digits = digits[2:]
    elif not stripped.startswith("+"):
        return None
    if not 8 <= len(digits) <= 15 or digits[0] == "0":
        return None
    return f"+{digits}"


def normalise_price(amount: str, currency: str) -> str | None:
    """``("25", "$")`` -> ``USD:25.00``; fiat to cents, crypto to its significant decimals (``BTC:0.001``)."""
    code = CURRENCY_SYMBOLS.get(currency) or currency.upper()
    code = _CODE_ALIASES.get(code, code)
    if code not in FIAT_CODES and code not in CRYPTO_CODES:
        return None
    try:
        value = Decimal(amount.replace(",", ""))
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0 or value >= _MAX_AMOUNT:
        return None
    if code in FIAT_CODES:
        text = str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    else:
        text = format(value.normalize(), "f")
    return f"{code}:{text}"


_LABELS: dict[str, str] = {
    "kik": "kik",
    "snapchat": "snap",
    "snap": "snap",
    "sc": "snap",
    "whatsapp": "whatsapp",
    "wa": "whatsapp",
    "session": "session",
    "telegram": "tg",
    "tg": "tg",
}


def normalise_handle(label: str, handle: str) -> tuple[str, str] | None:
    """``("Kik", "@Some.Name")`` -> ``("messenger", "kik:some.name")``; telegram -> ``("telegram", "tg:x")``."""
    platform = _LABELS.get(label.lower())
    handle = handle.strip().lstrip("@").rstrip(".,;:!?")
    if platform is None or not handle:
        return None
    if platform == "whatsapp":
        phone = normalise_phone(handle if handle.startswith(("+", "00")) else "+" + handle)
        return ("messenger", f"whatsapp:{phone}") if phone else None
    if platform == "session":
        ok = len(handle) == 66 and handle[:2] == "05" and all(c in "0123456789abcdefABCDEF" for c in handle)
        return ("messenger", f"session:{handle.lower()}") if ok else None
    name = handle.lower()
    if not name.isascii() or not name.replace("_", "").replace(".", "").replace("-", "").isalnum():
        return None
    if platform == "tg":
        ok = 4 <= len(name) <= 32 and "." not in name and "-" not in name
        return ("telegram", f"tg:{name}") if ok else None
    if not 2 <= len(name) <= 32 or name.isdigit():
        return None
    return "messenger", f"{platform}:{name}"
