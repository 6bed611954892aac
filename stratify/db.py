"""Database helpers shared by the apps that write or read with SQL of their own: which backend
this is, and the few SQL spellings that differ between PostgreSQL and SQLite."""

from django.db import connection


def is_postgres() -> bool:
    """True on PostgreSQL (COPY, DISTINCT ON, advisory locks...); False on SQLite, the embedded default."""
    return connection.vendor == "postgresql"


def distinct_from(a: str, b: str) -> str:
    """`a` and `b` differ, NULLs compared as values (SQLite spells IS DISTINCT FROM as IS NOT)."""
    return f"{a} IS DISTINCT FROM {b}" if is_postgres() else f"{a} IS NOT {b}"
