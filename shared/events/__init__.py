"""Versioned event contracts: the envelope, the v1 payloads and the catalogue of topics."""
