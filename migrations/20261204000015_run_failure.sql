-- Why a run failed, as data (`api::reasons::RunFailure`), beside `error`'s English text: the conversation page words
-- it in the reader's language after a reload too. NULL for runs that did not fail, and for those stored before.
ALTER TABLE chat_logs ADD COLUMN failure JSONB CHECK (failure IS NULL OR jsonb_typeof(failure) IN ('object', 'string'));

-- Deleting a conversation erases the failure with the error text (a provider's message may quote the question).
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
       SET deleted_at = now(), question = '', response = '', error = NULL, failure = NULL, checks = NULL,
           tools_used = (SELECT coalesce(jsonb_agg(step - 'input'), '[]'::jsonb)
                         FROM jsonb_array_elements(coalesce(tools_used, '[]'::jsonb)) AS step)
     WHERE conversation_id = target AND user_id = caller;
    UPDATE chat_logs SET conversation_id = NULL WHERE conversation_id = target AND user_id = caller;
    DELETE FROM conversations WHERE id = target AND user_id = caller;
    RETURN true;
END
$$;
