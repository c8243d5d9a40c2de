"""Claimflow submission service."""
