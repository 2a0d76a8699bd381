-- API keys may expire: a key past its expires_at is refused (401) and the refusal audited.
ALTER TABLE api_key ADD COLUMN expires_at timestamptz;
