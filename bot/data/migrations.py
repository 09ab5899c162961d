"""Numbered migrations: MIGRATIONS[n-1] takes a database from version n-1 to n.

Never edit a released migration; append a new one. Each runs in one transaction.
"""

MIGRATIONS: list[tuple[str, ...]] = [
    # 1: residents, guide usage and searches
    (
        """CREATE TABLE users (
            id INTEGER PRIMARY KEY,            -- the channel's user id (Telegram user id)
            first_name TEXT,
            username TEXT,
            locale TEXT,                       -- NULL until chosen: the default applies
            ward TEXT,
            is_admin INTEGER NOT NULL DEFAULT 0,  -- promoted in chat; ADMIN_IDS are admins too
            subscribed INTEGER NOT NULL DEFAULT 1,
            reachable INTEGER NOT NULL DEFAULT 1,
            banned INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL
        )""",
        """CREATE TABLE guide_views (
            id INTEGER PRIMARY KEY,
            guide_id TEXT NOT NULL,
            user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
            at TEXT NOT NULL
        )""",
        "CREATE INDEX guide_views_guide ON guide_views(guide_id)",
        """CREATE TABLE guide_feedback (
            guide_id TEXT NOT NULL,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            helpful INTEGER NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (guide_id, user_id)
        )""",
        """CREATE TABLE search_log (
            id INTEGER PRIMARY KEY,
            query TEXT NOT NULL,                -- normalised (folded), never the raw text
            results INTEGER NOT NULL,
            at TEXT NOT NULL
        )""",
        "CREATE INDEX search_log_empty ON search_log(results, query)",
    ),
]
