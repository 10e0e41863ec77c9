"""The storage in PostgreSQL (HELPDESK_DATABASE_URL): see README.md beside this file."""

from .store import PostgresStorage

__all__ = ["PostgresStorage"]
