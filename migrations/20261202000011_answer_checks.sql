-- An answer's numbers checked against the rows its tool steps returned (api::AnswerChecks): each number's place in
-- the text and its verdict (a cell, a derivation from cells, or unverified), and the rows the verdicts cite. NULL
-- for answers that did not complete and for those logged before checks existed.
ALTER TABLE chat_logs ADD COLUMN IF NOT EXISTS checks jsonb;

-- Checks quote the answer's SQL and the rows it cited: deleting a conversation erases them with its other text.
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
