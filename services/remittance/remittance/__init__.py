"""Claimflow remittance service."""
