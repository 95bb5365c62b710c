-- Private tables of the built-in, GoTrue-compatible auth (used when SUPABASE_URL is unset). They live in their own
-- schema so they never collide with Supabase's `auth` schema; users themselves are `auth.users` in both modes.
CREATE SCHEMA IF NOT EXISTS tradechat_auth;
REVOKE ALL ON SCHEMA tradechat_auth FROM PUBLIC;

CREATE TABLE tradechat_auth.sessions (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at TIMESTAMPTZ
);
CREATE INDEX ON tradechat_auth.sessions (user_id);

-- Refresh tokens are stored as SHA-256 hashes. A child token is derived from its parent (HMAC with the server
-- secret), so a replay of the parent within the reuse window can be answered with the same child.
CREATE TABLE tradechat_auth.refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id UUID NOT NULL REFERENCES tradechat_auth.sessions (id) ON DELETE CASCADE,
    parent_hash TEXT,
    revoked BOOLEAN NOT NULL DEFAULT false,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ON tradechat_auth.refresh_tokens (session_id);
CREATE INDEX ON tradechat_auth.refresh_tokens (parent_hash);

-- Magic links and email codes: hashed, single use, expiring, with a wrong-attempt counter.
CREATE TABLE tradechat_auth.one_time_tokens (
    id BIGSERIAL PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('magiclink', 'email_code')),
    token_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    used_at TIMESTAMPTZ
);
CREATE INDEX ON tradechat_auth.one_time_tokens (token_hash);
CREATE INDEX ON tradechat_auth.one_time_tokens (user_id, kind);

-- Fixed-window counters for rate limits (per email, per IP), shared by every server instance.
CREATE TABLE tradechat_auth.rate_limits (
    key TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);
