"""The exceptions lambdaops raises at its API boundary.

Everything a user can get wrong is reported as a subclass of a builtin they
would already catch (``ValueError``, ``LookupError``), naming the culprit.
"""

from __future__ import annotations


class LambdaopsError(Exception):
    """Base class for every error lambdaops raises on purpose."""


class ConfigError(LambdaopsError, ValueError):
    """A configuration value (argument or environment variable) is invalid."""


class UsageError(LambdaopsError):
    """A mistake in what the ``lambdaops`` command was asked to do: one line, exit code 2."""
