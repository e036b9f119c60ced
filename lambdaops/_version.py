"""The package version, in a module of its own: importable below ``lambdaops`` itself."""

__version__ = "0.1.0"
