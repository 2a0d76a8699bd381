-- The operator console: people who sign in with a password, their sessions, and the
-- acknowledge links of notifications, each usable once.

-- A person's account (a key holder needs none: a key signs in as itself). Only a scrypt
-- hash of the password is kept.
CREATE TABLE console_user (
    name           text PRIMARY KEY,
    role           text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    password_hash  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    disabled_at    timestamptz
);

-- A signed-in browser: the cookie holds a random token, the table its SHA-256; the CSRF
-- token is sent back by the page's scripts on every write.
CREATE TABLE console_session (
    token_hash   text PRIMARY KEY,
    who          text NOT NULL,
    role         text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    via          text NOT NULL CHECK (via IN ('password', 'key')),
    csrf         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz
);
CREATE INDEX console_session_expires_idx ON console_session (expires_at);

-- An acknowledge link, once used: the notification it was sent in is its nonce.
CREATE TABLE ack_link_use (
    notification_id  bigint PRIMARY KEY REFERENCES notification (id),
    alert_id         bigint NOT NULL REFERENCES alert (id),
    receiver         text NOT NULL,
    used_at          timestamptz NOT NULL DEFAULT now(),
    address          text
);
