"""Claimflow intake service."""
