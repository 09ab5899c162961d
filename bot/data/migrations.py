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
    # 2: admins' campaign broadcasts (snapshot of recipients, one row each), audit trail, volunteers stub
    (
        """CREATE TABLE campaigns (
            id INTEGER PRIMARY KEY,
            admin_id INTEGER NOT NULL,
            text TEXT NOT NULL,                 -- as typed; formatting kept as Telegram entities
            entities TEXT NOT NULL DEFAULT '[]',  -- JSON list of MessageEntity dicts
            photo TEXT,                         -- a file_id, sent with the text as its caption
            audience_kind TEXT NOT NULL CHECK (audience_kind IN ('all', 'ward', 'locale', 'volunteers')),
            audience_value TEXT,
            texts TEXT,                         -- JSON {locale: {"text", "entities"}}; NULL = one text for all
            status TEXT NOT NULL DEFAULT 'draft'
                CHECK (status IN ('draft', 'scheduled', 'sending', 'paused', 'cancelled', 'done')),
            scheduled_at TEXT,
            created_at TEXT NOT NULL,
            started_at TEXT,
            finished_at TEXT,
            total INTEGER NOT NULL DEFAULT 0,
            sent INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            blocked INTEGER NOT NULL DEFAULT 0,
            progress_chat_id INTEGER,
            progress_message_id INTEGER
        )""",
        "CREATE INDEX campaigns_status ON campaigns(status, scheduled_at)",
        """CREATE TABLE campaign_recipients (
            campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            locale TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sent', 'blocked', 'failed', 'skipped')),
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            sent_at TEXT,
            PRIMARY KEY (campaign_id, user_id)
        )""",
        "CREATE INDEX campaign_recipients_status ON campaign_recipients(campaign_id, status)",
        """CREATE TABLE audit_events (
            id INTEGER PRIMARY KEY,
            actor_id INTEGER,
            kind TEXT NOT NULL,
            detail TEXT,
            at TEXT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS volunteers (
            user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
            display_name TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            available INTEGER NOT NULL DEFAULT 1,
            usual_hours TEXT,
            last_assigned_at TEXT,
            applied_at TEXT NOT NULL,
            decided_by INTEGER,
            decided_at TEXT
        )""",
    ),
]
