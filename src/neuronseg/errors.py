"""The one exception type that reaches the user as a message instead of a traceback."""


class NeuronsegError(Exception):
    """Bad input or a refused operation, explained in plain words.

    The CLI prints the message and exits with status 2; library callers can catch it.
    """
