#!/bin/sh
# Roles and schemas for docker-compose (the native stack does the same in deploy/stack.py).
set -e
for s in intake coding submission remittance analytics; do
  psql -v ON_ERROR_STOP=1 -U postgres -d claimflow <<SQL
CREATE ROLE ${s}_owner LOGIN PASSWORD '${s}-owner-local';
CREATE ROLE ${s}_app LOGIN PASSWORD '${s}-app-local';
CREATE ROLE ${s}_relay LOGIN PASSWORD '${s}-relay-local';
CREATE SCHEMA ${s} AUTHORIZATION ${s}_owner;
GRANT USAGE ON SCHEMA ${s} TO ${s}_app, ${s}_relay;
ALTER DEFAULT PRIVILEGES FOR ROLE ${s}_owner IN SCHEMA ${s} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${s}_app;
ALTER DEFAULT PRIVILEGES FOR ROLE ${s}_owner IN SCHEMA ${s} GRANT USAGE, SELECT ON SEQUENCES TO ${s}_app;
SQL
done
psql -v ON_ERROR_STOP=1 -U postgres -d claimflow -c "REVOKE ALL ON SCHEMA public FROM PUBLIC"
