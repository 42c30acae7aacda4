"""Messages a library logs, caught while it reads a file."""

from __future__ import annotations

import logging


class CapturedLog(logging.Handler):
    """Collects the messages a library logs at WARNING or above while in a ``with`` block,
    instead of letting them print: the caller turns them into its one message, or passes
    on those that do not stop it."""

    def __init__(self, name: str):
        super().__init__(logging.WARNING)
        self._logger = logging.getLogger(name)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())

    def __enter__(self):
        self._logger.addHandler(self)
        self._propagate, self._logger.propagate = self._logger.propagate, False
        return self.messages

    def __exit__(self, *exc):
        self._logger.removeHandler(self)
        self._logger.propagate = self._propagate
