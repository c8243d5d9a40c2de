"""Contracts and infrastructure shared by the Claimflow services: events, Kafka and database plumbing, settings, auth, observability."""
