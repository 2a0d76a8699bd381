-- Broker accounts issued to devices registered through the API: the secret was shown once,
-- in the API's answer; only its hash (Mosquitto's PBKDF2-SHA512 form) is kept, for
-- `envmon broker config` to write into the broker's security file.
CREATE TABLE broker_account (
    username    text PRIMARY KEY,
    feed        text NOT NULL,
    password    text NOT NULL,      -- base64 PBKDF2-HMAC-SHA512 digest
    salt        text NOT NULL,      -- base64
    iterations  integer NOT NULL,
    issued_at   timestamptz NOT NULL DEFAULT now()
);
