"""Claimflow sandbox service."""
