"""Contracts and infrastructure shared by the services: events, Kafka and database plumbing, settings, auth."""
