-- SQL a user edited on a query step of their answer and ran in place (Edit SQL): kept, so the step shows it after a
-- reload, and the model is told with the next question that the user changed it. One per step (the latest).
CREATE TABLE step_edits (
    chat_log_id BIGINT NOT NULL REFERENCES chat_logs ON DELETE CASCADE,
    step INTEGER NOT NULL CHECK (step >= 0),
    user_id UUID NOT NULL DEFAULT auth.uid() REFERENCES auth.users ON DELETE CASCADE,
    sql TEXT NOT NULL CHECK (length(sql) BETWEEN 1 AND 100000),
    edited_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (chat_log_id, step)
);
ALTER TABLE step_edits ENABLE ROW LEVEL SECURITY;
-- Only on one's own answers: the log must be the caller's, and the row is theirs.
CREATE POLICY "Users can manage edits of own answers" ON step_edits
    FOR ALL TO authenticated
    USING (user_id = auth.uid())
    WITH CHECK (user_id = auth.uid()
                AND EXISTS (SELECT 1 FROM chat_logs c WHERE c.id = chat_log_id AND c.user_id = auth.uid()));
CREATE POLICY "Service role has full access" ON step_edits FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON step_edits FROM anon;
GRANT SELECT, INSERT, UPDATE, DELETE ON step_edits TO authenticated;
GRANT ALL ON step_edits TO service_role;

-- Deleting a conversation erases the SQL its steps were edited to, with its other text.
CREATE OR REPLACE FUNCTION tradechat_delete_conversation(target UUID) RETURNS BOOLEAN
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    caller UUID := auth.uid();
BEGIN
    IF caller IS NULL OR NOT EXISTS (SELECT 1 FROM conversations WHERE id = target AND user_id = caller) THEN
        RETURN false;
    END IF;
    UPDATE saved_chats SET chat_log_id = NULL
     WHERE user_id = caller AND chat_log_id IN (SELECT id FROM chat_logs WHERE conversation_id = target);
    DELETE FROM step_edits
     WHERE chat_log_id IN (SELECT id FROM chat_logs WHERE conversation_id = target AND user_id = caller);
    UPDATE chat_logs
       SET deleted_at = now(), question = '', response = '', error = NULL, checks = NULL,
           tools_used = (SELECT coalesce(jsonb_agg(step - 'input'), '[]'::jsonb)
                         FROM jsonb_array_elements(coalesce(tools_used, '[]'::jsonb)) AS step)
     WHERE conversation_id = target AND user_id = caller;
    UPDATE chat_logs SET conversation_id = NULL WHERE conversation_id = target AND user_id = caller;
    DELETE FROM conversations WHERE id = target AND user_id = caller;
    RETURN true;
END
$$;
