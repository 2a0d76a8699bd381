-- Rule evaluation state, alerts with their history, and the notification outbox.

-- One row per (rule, subject): how far evaluation has got (measurement time) and the
-- state machine, so a restarted service neither repeats nor forgets a transition.
CREATE TABLE rule_state (
    rule_id        text NOT NULL,
    subject        text NOT NULL,
    cursor         timestamptz NOT NULL,
    phase          text NOT NULL CHECK (phase IN ('ok', 'pending', 'firing')),
    breach_since   timestamptz,
    breach_streak  integer NOT NULL DEFAULT 0,
    clear_since    timestamptz,
    clear_streak   integer NOT NULL DEFAULT 0,
    alert_id       bigint,
    rearmed_at     timestamptz,     -- an operator cleared the alert: holds count from here
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rule_id, subject)
);

CREATE TABLE alert (
    id               bigserial PRIMARY KEY,
    rule_id          text NOT NULL,
    subject          text NOT NULL,
    subject_name_zh  text NOT NULL,
    subject_name_en  text NOT NULL,
    area             text,
    feed             text NOT NULL,
    severity         text NOT NULL,
    state            text NOT NULL
        CHECK (state IN ('pending', 'firing', 'acknowledged', 'resolved')),
    value            double precision,
    evidence         jsonb NOT NULL DEFAULT '{}',
    window_start     timestamptz NOT NULL,
    window_end       timestamptz NOT NULL,
    started_at       timestamptz NOT NULL,      -- measurement time the breach began
    fired_at         timestamptz,               -- measurement time the hold was met
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    ack_comment      text,
    resolved_at      timestamptz,
    resolved_by      text,                      -- NULL: cleared by the rule itself
    resolve_comment  text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- At most one open alert per rule and subject: a continuing breach updates it.
CREATE UNIQUE INDEX alert_open_idx ON alert (rule_id, subject) WHERE state <> 'resolved';
CREATE INDEX alert_state_idx ON alert (state, severity);
CREATE INDEX alert_started_idx ON alert (started_at);

CREATE TABLE alert_event (
    id          bigserial PRIMARY KEY,
    alert_id    bigint NOT NULL REFERENCES alert (id),
    transition  text NOT NULL,     -- pending, firing, acknowledged, resolved, discarded, rearmed
    at          timestamptz NOT NULL,
    actor       text,              -- NULL: the rule service
    detail      jsonb NOT NULL DEFAULT '{}',
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_event_alert_idx ON alert_event (alert_id, id);

-- One row per alert transition, receiver and channel. The idempotency key is sent
-- with the message so a receiver can drop a repeat; rows of one rule, area, receiver
-- and transition waiting together are sent as one grouped message (batch_id).
CREATE TABLE notification (
    id               bigserial PRIMARY KEY,
    alert_id         bigint NOT NULL REFERENCES alert (id),
    event_id         bigint NOT NULL REFERENCES alert_event (id),
    rule_id          text NOT NULL,
    transition       text NOT NULL CHECK (transition IN ('firing', 'resolved')),
    receiver         text NOT NULL,
    channel          integer,          -- index in the receiver's channel list; NULL: none
    area             text,
    idempotency_key  text NOT NULL UNIQUE,
    notice           jsonb NOT NULL,
    state            text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sent', 'failed', 'no_channel', 'silenced')),
    batch_id         bigint,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz
);
CREATE INDEX notification_due_idx ON notification (next_attempt_at) WHERE state = 'pending';
CREATE SEQUENCE notification_batch_seq;

-- Maintenance windows: transitions of a silenced device (or of any subject of a silenced
-- area) are still recorded, but their notifications are kept as 'silenced', not sent.
CREATE TABLE silence (
    id          bigserial PRIMARY KEY,
    device_id   text,
    area        text,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    created_by  text NOT NULL,
    comment     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (device_id IS NOT NULL OR area IS NOT NULL),
    CHECK (ends_at > starts_at)
);
CREATE INDEX silence_ends_idx ON silence (ends_at);

-- The hourly (real-time) AQI of each station, with the HJ 633 edition used.
CREATE TABLE air_aqi_hourly (
    device_id          text NOT NULL,
    hour               timestamptz NOT NULL,
    aqi                integer NOT NULL,
    level              integer NOT NULL,
    category_zh        text NOT NULL,
    category_en        text NOT NULL,
    colour             text NOT NULL,
    primary_pollutants text[] NOT NULL,
    iaqi               jsonb NOT NULL,
    concentrations     jsonb NOT NULL,
    edition            text NOT NULL,
    computed_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, hour)
);

-- When the rule engine first ran on this database (service clock): silence rules wait
-- one period after it before judging, so devices have had the time to report.
CREATE TABLE rule_engine (
    id           integer PRIMARY KEY CHECK (id = 1),
    started_at   timestamptz NOT NULL,
    last_pass_s  double precision,      -- how long the latest evaluation pass took
    last_pass_at timestamptz
);
