-- Sessions, as every request checks them: a signed-out, reuse-revoked or superseded session is refused on every
-- route within seconds (see server::auth::sessions), in both auth modes, by reading `auth.sessions` — GoTrue's own
-- table on Supabase (it deletes a session at sign-out), and on a plain Postgres a view over the built-in auth's
-- sessions that shows only live ones.
--
-- The built-in auth also keeps how a session signed in (`password`, `otp`), so its refreshed access tokens keep
-- saying so in `amr`, as GoTrue's do: an address in ADMIN_EMAILS counts only for sessions started by an emailed
-- link or code.
ALTER TABLE tradechat_auth.sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password';
CREATE INDEX ON tradechat_auth.sessions (revoked_at) WHERE revoked_at IS NOT NULL;

DO $$
BEGIN
  IF to_regclass('auth.sessions') IS NULL THEN
    CREATE VIEW auth.sessions AS
      SELECT id, user_id, created_at, created_at AS updated_at, NULL::timestamptz AS not_after
      FROM tradechat_auth.sessions WHERE revoked_at IS NULL;
  END IF;
END
$$;
