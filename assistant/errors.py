"""Errors raised by the assistant package."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class of every error the assistant package raises on purpose."""


class EmptyQuestion(AssistantError):
    """The question is empty or only whitespace."""


class SettingsError(AssistantError):
    """A setting (environment variable or flag) has a value that cannot be used."""


class ScopeError(AssistantError):
    """A date or source filter that cannot match (unknown source, empty date range)."""


class WatchError(AssistantError):
    """A watch that cannot be added, found or removed."""


class WatchNotFound(WatchError):
    """No watch has the id given."""


class TooManyWatches(WatchError):
    """The data home holds NEWSQA_WATCH__MAX_WATCHES watches already."""
