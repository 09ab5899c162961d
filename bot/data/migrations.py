"""Numbered migrations: MIGRATIONS[n-1] takes a database from version n-1 to n.

Never edit a released migration; append a new one. Each runs in one transaction.
"""

from bot.data.dialect import Dialects

MIGRATIONS: list[tuple[str | Dialects, ...]] = [
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
    # 2: help requests, volunteers, consents, relay
    (
        """CREATE TABLE consents (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            purpose TEXT NOT NULL,             -- volunteer_contact | campaigns
            granted INTEGER NOT NULL,          -- 1 granted, 0 withdrawn; the newest row counts
            at TEXT NOT NULL
        )""",
        "CREATE INDEX consents_user ON consents(user_id, purpose, id)",
        """CREATE TABLE IF NOT EXISTS volunteers (
            user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
            display_name TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',  -- applying|pending|active|paused|rejected|removed
            available INTEGER NOT NULL DEFAULT 1,
            usual_hours TEXT,
            last_assigned_at TEXT,
            applied_at TEXT NOT NULL,
            decided_by INTEGER,
            decided_at TEXT
        )""",
        """CREATE TABLE volunteer_wards (
            user_id INTEGER NOT NULL REFERENCES volunteers(user_id) ON DELETE CASCADE,
            ward TEXT NOT NULL,
            PRIMARY KEY (user_id, ward)
        )""",
        """CREATE TABLE volunteer_topics (
            user_id INTEGER NOT NULL REFERENCES volunteers(user_id) ON DELETE CASCADE,
            topic TEXT NOT NULL,
            PRIMARY KEY (user_id, topic)
        )""",
        """CREATE TABLE help_requests (
            id INTEGER PRIMARY KEY,
            code TEXT NOT NULL UNIQUE,
            resident_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
            topic TEXT NOT NULL,
            guide_id TEXT,
            description TEXT,
            attachment_kind TEXT,              -- photo | voice, kept in the resident's own chat
            attachment_message_id INTEGER,
            ward TEXT,                         -- NULL: the resident is not sure
            mode TEXT NOT NULL,                -- chat | phone | in_person | home_visit
            phone TEXT,                        -- only with consent; erased with the personal data
            status TEXT NOT NULL DEFAULT 'open',  -- open | claimed | resolved | cancelled
            volunteer_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
            escalation INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            opened_at TEXT NOT NULL,           -- last time it became open (filed, released, reopened)
            claimed_at TEXT,
            resolved_at TEXT,
            closed_at TEXT,
            last_activity_at TEXT,
            reminded_at TEXT,
            rating INTEGER,
            rating_comment TEXT
        )""",
        "CREATE INDEX help_requests_status ON help_requests(status, opened_at)",
        "CREATE INDEX help_requests_resident ON help_requests(resident_id, id)",
        "CREATE INDEX help_requests_volunteer ON help_requests(volunteer_id, status)",
        """CREATE TABLE request_events (
            id INTEGER PRIMARY KEY,
            request_id INTEGER NOT NULL REFERENCES help_requests(id) ON DELETE CASCADE,
            actor_id INTEGER,                  -- NULL: the system (escalation)
            kind TEXT NOT NULL,
            detail TEXT,
            at TEXT NOT NULL
        )""",
        "CREATE INDEX request_events_request ON request_events(request_id, id)",
        """CREATE TABLE offers (
            request_id INTEGER NOT NULL REFERENCES help_requests(id) ON DELETE CASCADE,
            volunteer_id INTEGER NOT NULL,
            message_id INTEGER NOT NULL,       -- in the volunteer's private chat
            at TEXT NOT NULL,
            PRIMARY KEY (request_id, volunteer_id)
        )""",
        """CREATE TABLE request_drafts (
            user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
            step TEXT NOT NULL,                -- topic | description | ward | mode | contact | phone | confirm
            topic TEXT,
            guide_id TEXT,
            description TEXT,
            attachment_kind TEXT,
            attachment_message_id INTEGER,
            ward TEXT,
            ward_chosen INTEGER NOT NULL DEFAULT 0,
            mode TEXT,
            phone TEXT,
            updated_at TEXT NOT NULL
        )""",
        """CREATE TABLE awaiting (
            user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,                -- what the user's next message means: relay | comment | ...
            ref INTEGER,
            at TEXT NOT NULL
        )""",
        """CREATE TABLE relay_messages (
            chat_id INTEGER NOT NULL,          -- where the relayed copy landed
            message_id INTEGER NOT NULL,
            request_id INTEGER NOT NULL REFERENCES help_requests(id) ON DELETE CASCADE,
            at TEXT NOT NULL,
            PRIMARY KEY (chat_id, message_id)
        )""",
    ),
    # 3: admins' campaign broadcasts (snapshot of recipients, one row each) and the audit trail
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
    ),
    # 4: trust: a banned user is told once; retention finds closed requests by when they closed
    (
        "ALTER TABLE users ADD COLUMN ban_notified INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX help_requests_closed ON help_requests(status, closed_at)",
    ),
    # 5: the newest screen each person was shown (typed answers match it); a message held for "which request?"
    (
        """CREATE TABLE screens (
            user_id INTEGER PRIMARY KEY,       -- no foreign key: an admin from ADMIN_IDS may not have written yet
            message_id INTEGER NOT NULL,       -- the message in their chat that shows the choices
            choices TEXT NOT NULL,             -- JSON [[label, packed action], ...] in the order shown
            at TEXT NOT NULL
        )""",
        "ALTER TABLE awaiting ADD COLUMN unsent TEXT",  # JSON list of messages waiting for "which request?"
        # every photo, voice note or file sent with a request, JSON [[kind, message id], ...]; the first is
        # also in attachment_kind / attachment_message_id, which older rows have alone
        "ALTER TABLE request_drafts ADD COLUMN attachments TEXT",
        "ALTER TABLE help_requests ADD COLUMN attachments TEXT",
    ),
    # 6: which of a person's own messages were relayed, so that an edit of one follows as a correction
    (
        """CREATE TABLE relay_sources (
            chat_id INTEGER NOT NULL,          -- the sender's private chat
            message_id INTEGER NOT NULL,       -- their message (ids only, never the text)
            request_id INTEGER NOT NULL REFERENCES help_requests(id) ON DELETE CASCADE,
            at TEXT NOT NULL,
            PRIMARY KEY (chat_id, message_id)
        )""",
        "CREATE INDEX relay_sources_request ON relay_sources(request_id)",
    ),
    # 7: outcomes per ward and day (issue 16), the wards' pledges (targets), monthly thanks already sent
    (
        """CREATE TABLE outcomes (
            id INTEGER PRIMARY KEY,
            outcome TEXT NOT NULL,             -- an id from content/outcomes.toml
            ward TEXT,                         -- the request's ward, or the resident's; NULL = not known
            day TEXT NOT NULL,                 -- local date (Asia/Ho_Chi_Minh), YYYY-MM-DD
            source TEXT NOT NULL CHECK (source IN ('request', 'guide')),
            request_id INTEGER REFERENCES help_requests(id) ON DELETE SET NULL,
            guide_id TEXT,
            volunteer_id INTEGER,              -- who helped (request outcomes); NULL once they erased their data
            resident_id INTEGER,               -- who said "I did it" (guide outcomes); NULL once erased
            at TEXT NOT NULL
        )""",
        "CREATE UNIQUE INDEX outcomes_per_request ON outcomes(request_id, outcome) WHERE request_id IS NOT NULL",
        """CREATE UNIQUE INDEX outcomes_per_guide ON outcomes(guide_id, resident_id, outcome)
           WHERE resident_id IS NOT NULL""",
        "CREATE INDEX outcomes_day ON outcomes(day, ward)",
        """CREATE TABLE targets (
            id INTEGER PRIMARY KEY,
            ward TEXT NOT NULL,
            outcome TEXT NOT NULL,
            target INTEGER NOT NULL CHECK (target > 0),
            starts TEXT NOT NULL,              -- local dates, both included
            ends TEXT NOT NULL,
            created_by INTEGER,
            created_at TEXT NOT NULL,
            UNIQUE (ward, outcome, ends)
        )""",
        """CREATE TABLE thanks_sent (
            volunteer_id INTEGER NOT NULL,
            month TEXT NOT NULL,               -- YYYY-MM thanked for
            at TEXT NOT NULL,
            PRIMARY KEY (volunteer_id, month)
        )""",
    ),
    # 8: a person is one row with a surrogate id; each channel account is (channel, external id). Telegram users
    # keep their Telegram id as their surrogate id; a Zalo person gets one from ZALO_ID_BASE up (bot/data/accounts.py)
    (
        """CREATE TABLE accounts (
            channel TEXT NOT NULL,             -- 'telegram' or 'zalo'
            external_id TEXT NOT NULL,         -- the channel's own id for the person (Zalo: opaque text)
            user_id INTEGER NOT NULL UNIQUE,   -- users.id; no foreign key: a configured admin may not have written yet
            chat_id TEXT,                      -- where to write to them on that channel
            last_message_id INTEGER NOT NULL DEFAULT 0,  -- message ids in their chat as the core counts them (Zalo)
            created_at TEXT NOT NULL,
            PRIMARY KEY (channel, external_id)
        )""",
        """INSERT INTO accounts (channel, external_id, user_id, chat_id, created_at)
           SELECT 'telegram', CAST(id AS TEXT), id, CAST(id AS TEXT), created_at FROM users""",
        # a photo a Zalo person sent arrives as a URL: kept as Telegram keeps its photos, for the relay and
        # the request it belongs to; erased with the person's data and after the retention period
        """CREATE TABLE channel_media (
            user_id INTEGER NOT NULL,          -- whose chat (the sender)
            message_id INTEGER NOT NULL,       -- the message in their chat, as the core counts them
            kind TEXT NOT NULL,                -- photo
            url TEXT NOT NULL,                 -- never logged
            at TEXT NOT NULL,
            PRIMARY KEY (user_id, message_id)
        )""",
    ),
    # 9: the web dashboard (issue 13): one-time sign-in links (only a hash of each token is kept); campaign drafts
    # composed on the dashboard, kept until sent or deleted; indexes for its Today page (open requests of some
    # wards, oldest first), its Numbers page (requests filed since a day) and its audit log (newest first)
    (
        """CREATE TABLE dashboard_logins (
            token_hash TEXT PRIMARY KEY,       -- sha256 of the link's token, hex
            user_id INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT                       -- set once: a link works one time
        )""",
        "CREATE INDEX dashboard_logins_expires ON dashboard_logins(expires_at)",
        """CREATE TABLE campaign_drafts (
            id INTEGER PRIMARY KEY,
            admin_id INTEGER NOT NULL,         -- who saved it last
            texts TEXT NOT NULL,               -- JSON {language: text}
            audience TEXT NOT NULL,            -- "all", "volunteers", "ward:ID", "locale:vi"
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX help_requests_open_ward ON help_requests(status, ward, opened_at)",
        # the Numbers page (and /stats): requests filed, claimed, resolved since a day
        "CREATE INDEX help_requests_created ON help_requests(created_at, ward, status)",  # covers per ward
        "CREATE INDEX help_requests_claimed ON help_requests(claimed_at)",
        "CREATE INDEX help_requests_resolved ON help_requests(resolved_at)",
        "CREATE INDEX audit_events_at ON audit_events(at)",
    ),
    # 10: dashboard sessions held server-side (logout and a role lost end them at once; the cookie carries only a
    # random id, its hash is kept); campaign drafts keep formatting (entities per language) and a photo, and the
    # chat's /broadcast keeps its draft here too (one per admin's chat), so a restart loses none
    (
        """CREATE TABLE dashboard_sessions (
            token_hash TEXT PRIMARY KEY,       -- sha256 of the session id in the cookie, hex
            user_id INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        )""",
        "CREATE INDEX dashboard_sessions_user ON dashboard_sessions(user_id)",
        "ALTER TABLE campaign_drafts ADD COLUMN entities TEXT",  # JSON {language: [Telegram entity dicts]}
        "ALTER TABLE campaign_drafts ADD COLUMN photo TEXT",     # the channel's file id of the photo, if any
        "ALTER TABLE campaign_drafts ADD COLUMN chat_of INTEGER",  # the admin whose /broadcast it is; NULL: dashboard
        "CREATE UNIQUE INDEX campaign_drafts_chat ON campaign_drafts(chat_of) WHERE chat_of IS NOT NULL",
    ),
    # 11: a photo uploaded on the dashboard for a campaign, kept in the database (a restart between saving the draft
    # and sending loses nothing); Telegram's file id is kept after the first upload so the bytes go up once.
    # Campaign photos are the ward office's own pictures, not anyone's personal data: erasure leaves them.
    (
        """CREATE TABLE campaign_images (
            id INTEGER PRIMARY KEY,
            bytes BLOB NOT NULL,               -- the image as uploaded (JPEG, PNG or WebP, checked)
            content_type TEXT NOT NULL,        -- image/jpeg, image/png or image/webp
            telegram_file_id TEXT,             -- set after the first upload to Telegram; resent by it
            created_at TEXT NOT NULL
        )""",
        "ALTER TABLE campaign_drafts ADD COLUMN image_id INTEGER REFERENCES campaign_images(id)",
        "ALTER TABLE campaigns ADD COLUMN image_id INTEGER REFERENCES campaign_images(id)",
    ),
    # 12 (issue 17, campaigns across workers): each recipient is claimed by one sender before it is sent
    # (claimed_by: the sender's id, bot.data.campaigns.join); PostgreSQL hands out sender ids from a sequence
    # (never reused, so a dead sender's claims are never mistaken for a live one's); the pending rows of a
    # campaign by user id, which every claim reads. Self-contained: its place in the list does not matter.
    (
        "ALTER TABLE campaign_recipients ADD COLUMN claimed_by INTEGER",
        "CREATE INDEX campaign_recipients_pending ON campaign_recipients(campaign_id, user_id) "
        "WHERE status = 'pending'",
        Dialects(None, "CREATE SEQUENCE campaign_sender_ids AS integer MINVALUE 1 MAXVALUE 2147483647 CYCLE"),
    ),
    # 13: updates taken by the ingress of several workers (issue 17): a re-sent update (same channel and id) is
    # answered 200 and dropped; rows older than a week are pruned by the retention tick
    (
        """CREATE TABLE seen_updates (
            channel TEXT NOT NULL,             -- 'telegram' or 'zalo'
            update_id TEXT NOT NULL,           -- the channel's id of the update (Zalo: chat/message)
            received_at TEXT NOT NULL,
            PRIMARY KEY (channel, update_id)
        )""",
        "CREATE INDEX seen_updates_received ON seen_updates(received_at)",
    ),
    # 14: media links that work across processes (issue 17): the key that signs `/media/…` tokens, made once and
    # shared by every process (ingress, workers, a restart); the bytes the bot made for a Zalo link (a QR poster,
    # a chart, a one-time /mydata file), kept until they expire (MEDIA_TTL): pruned when new ones are added and by
    # the retention tick; a one-time row is deleted by its download
    (
        """CREATE TABLE media_keys (
            name TEXT PRIMARY KEY,             -- 'media': the HMAC key of media links
            secret BLOB NOT NULL               -- 32 random bytes, made by the first process that needed it
        )""",
        """CREATE TABLE media_blobs (
            id TEXT PRIMARY KEY,               -- random, named by the signed token
            bytes BLOB NOT NULL,
            content_type TEXT NOT NULL,
            filename TEXT,                     -- served as a download under this name; NULL: an image to show
            once INTEGER NOT NULL DEFAULT 0,   -- 1: the first download deletes it (a person's own data, an export)
            expires_at TEXT NOT NULL
        )""",
        "CREATE INDEX media_blobs_expires ON media_blobs(expires_at)",
    ),
]
