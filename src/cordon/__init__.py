"""cordon: find and dismantle the account networks that distribute CSAM on social platforms."""

__version__ = "0.1.0"
