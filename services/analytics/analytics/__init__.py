"""Claimflow analytics service."""
