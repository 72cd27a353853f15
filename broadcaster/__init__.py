"""Loa: a broadcast scheduler for Vietnamese commune loudspeaker stations."""

__version__ = "0.1.0"
