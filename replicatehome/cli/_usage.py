"""The one error of the command line itself, apart from the SDK's."""

__all__ = ["UsageError"]


class UsageError(Exception):
    """The command line asks for something that cannot be done; exit status 2."""
