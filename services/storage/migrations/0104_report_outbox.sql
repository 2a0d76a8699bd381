-- Scheduled reports through the notification outbox: the files made for a schedule's
-- period, and outbox rows that carry a report instead of an alert's transition.

-- One file per schedule entry, period, format and language, made once: a restarted
-- service finds it and queues nothing again, and every retry sends the same bytes.
CREATE TABLE report_file (
    id          bigserial PRIMARY KEY,
    schedule    text NOT NULL,          -- the schedule entry's id in the routing file
    report      text NOT NULL,          -- e.g. 'air-daily'
    period      text NOT NULL,          -- e.g. '2026-11-30', '2026-11', '2026'
    format      text NOT NULL CHECK (format IN ('json', 'csv', 'xlsx', 'pdf')),
    language    text NOT NULL CHECK (language IN ('zh', 'en')),
    filename    text NOT NULL,
    media_type  text NOT NULL,
    content     bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (schedule, period, format, language)
);

ALTER TABLE notification
    ADD COLUMN kind text NOT NULL DEFAULT 'alert' CHECK (kind IN ('alert', 'report')),
    ADD COLUMN files bigint[] NOT NULL DEFAULT '{}',   -- report_file ids to attach
    ALTER COLUMN alert_id DROP NOT NULL,
    ALTER COLUMN event_id DROP NOT NULL,
    DROP CONSTRAINT notification_transition_check,
    ADD CONSTRAINT notification_transition_check
        CHECK (transition IN ('firing', 'resolved', 'report')),
    ADD CONSTRAINT notification_kind_fields CHECK (
        (kind = 'alert' AND alert_id IS NOT NULL AND event_id IS NOT NULL
            AND transition IN ('firing', 'resolved'))
        OR (kind = 'report' AND alert_id IS NULL AND event_id IS NULL AND transition = 'report')
    );
