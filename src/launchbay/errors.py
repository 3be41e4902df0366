"""The error type users see as one line."""


class LaunchbayError(Exception):
    """An error with a message that tells the user what is wrong and where, in one line."""
