"""Claimflow coding service."""
