"""Horde: an open server for the AI Horde API v2."""

__version__ = "0.1.0"
