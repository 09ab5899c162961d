"""The shape of the database as the store itself reports it: tables, columns, indexes and constraints.

Used to check that every earlier version migrates to the same schema as a fresh database, on both stores.
"""

from __future__ import annotations

from bot.data import Database


async def describe(db: Database) -> list[tuple]:
    """Sorted (kind, name, definition) rows; equal lists mean equal schemas on that store."""
    if db.dialect == "sqlite":
        rows = await db.fetchall("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
                                 "ORDER BY name")
        return [tuple(r) for r in rows]
    columns = await db.fetchall(
        """SELECT 'column', table_name || '.' || column_name,
                  data_type || ' ' || is_nullable || ' ' || COALESCE(column_default, '') || ' ' || is_identity
           FROM information_schema.columns WHERE table_schema = 'public'""")
    indexes = await db.fetchall("SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
    constraints = await db.fetchall(
        """SELECT 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid)
           FROM pg_constraint WHERE connamespace = 'public'::regnamespace""")
    return sorted(tuple(r) for r in [*columns, *indexes, *constraints])
