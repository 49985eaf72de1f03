"""Persistence: SQLAlchemy tables, Alembic migrations, the hash-chained audit log.

SQLite (WAL) by default, PostgreSQL by URL. Every command is one transaction
(``Store.transaction()``): state, events, audit entries and outbox rows commit
together or not at all.
"""

from hanoinet.store.db import Store, open_store, schema_store

__all__ = ["Store", "open_store", "schema_store"]
