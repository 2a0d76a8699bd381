-- API keys (only a hash is kept) and the audit trail of every write and every denial.

CREATE TABLE api_key (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    role        text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    key_hash    text NOT NULL UNIQUE,      -- sha256 of the key, hex
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE api_audit (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    who       text,                        -- the key's name; NULL: anonymous
    role      text,
    method    text NOT NULL,
    path      text NOT NULL,
    status    integer NOT NULL,
    before    jsonb,
    after     jsonb
);
CREATE INDEX api_audit_at_idx ON api_audit (at);
