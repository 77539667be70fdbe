"""The exception tree of cordon.

Every error names the record, the field and the fix::

    CordonError
    ├── ConfigError                 a setting or command-line value is wrong
    ├── InputError                  foreign input cannot be used
    │   ├── UnknownFormatError      a file whose format no connector reads
    │   └── RecordError             one record is bad (file, line, record id, field, reason)
    │       └── MediaError          a media item is missing, oversize, unreadable or not fetched in time
    ├── StoreError                  a store cannot be opened, read or written
    ├── SignalError                 hashing or matching failed
    │   ├── HashError               a media file cannot be decoded or hashed
    │   ├── BankError               a hash bank file or entry is bad
    │   └── CanaryError             the matcher no longer detects the canary: it is not working
    └── ResponseError               review, evidence, action or report refused or failed
"""

from __future__ import annotations


class CordonError(Exception):
    """Root of every error cordon raises on purpose."""


class ConfigError(CordonError):
    """A setting or command-line value is wrong."""


class InputError(CordonError):
    """Foreign input cannot be used."""


class UnknownFormatError(InputError):
    """No connector reads this file or directory."""


class RecordError(InputError):
    """One record of an input is bad; the rest of the batch goes on.

    The message names the file, the line, the record id (when known), the field and the reason.
    """

    def __init__(
        self,
        reason: str,
        *,
        source: str = "",
        line: int | None = None,
        record_id: str | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = reason
        self.source = source
        self.line = line
        self.record_id = record_id
        self.field = field
        super().__init__(self.describe())

    def describe(self) -> str:
        where = self.source or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        parts = [where]
        if self.record_id:
            parts.append(f"record {self.record_id}")
        if self.field:
            parts.append(f"field '{self.field}'")
        return ", ".join(parts) + f": {self.reason}"


class MediaError(RecordError):
    """A media item is missing, oversize, unreadable or was not fetched in time."""


class StoreError(CordonError):
    """A store cannot be opened, read or written."""


class SignalError(CordonError):
    """Hashing or matching failed."""


class HashError(SignalError):
    """A media file cannot be decoded or hashed."""


class BankError(SignalError):
    """A hash bank file or one of its entries is bad."""


class CanaryError(SignalError):
    """The matcher no longer detects the canary: matching is not working."""


class ResponseError(CordonError):
    """Review, evidence, action or report refused or failed."""
