-- Saved answers that stay alive: the last re-run of a saved answer on current data (api::RerunReport: each step's
-- rows compared with what the answer was based on, and whether each checked number still holds), and an optional
-- schedule (daily or weekly) that the instances work through (next_rerun_at, claimed with SKIP LOCKED).
ALTER TABLE saved_chats
    ADD COLUMN last_rerun JSONB,
    ADD COLUMN rerun_every TEXT CHECK (rerun_every IN ('daily', 'weekly')),
    ADD COLUMN next_rerun_at TIMESTAMPTZ;
CREATE INDEX saved_chats_due ON saved_chats (next_rerun_at) WHERE next_rerun_at IS NOT NULL;
-- The server writes them as the user (row-level security decides which rows); users have no other new rights.
GRANT UPDATE (last_rerun, rerun_every, next_rerun_at) ON saved_chats TO authenticated;

-- A scheduled re-run whose checked numbers no longer hold raises an alert for the answer's owner.
ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check
    CHECK (kind IN ('budget_80', 'budget_100', 'user_daily_spend', 'total_daily_spend', 'saved_changed'));
