"""Bluelamp: find cybercrime in DNS traffic and threat feeds, attribute it, act on it."""

__version__ = "0.1.0"
