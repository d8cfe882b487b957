"""Errors a user can cause. The CLI prints them as one line and exits non-zero."""


class MedloomError(Exception):
    """A problem with the user's input or config, explained in one line."""


class ConfigError(MedloomError):
    """A config file that is missing, unparsable, or has a wrong key or type."""


class AccountingError(MedloomError):
    """A run whose counts do not add up: some record was lost."""


class ValidationFailed(MedloomError):
    """An output that failed its validation suite."""
