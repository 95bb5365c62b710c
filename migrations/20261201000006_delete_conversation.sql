-- Deleting a conversation: it leaves the user's sidebar, history, search and the model's context, and the text of
-- its questions, answers, errors and tool inputs is erased. What the cost figures need stays in chat_logs (tokens,
-- cost, model, status, durations, tool names), and the rollups, which were counted at insert, are unchanged.
-- The user's saved answers from it stay: they are copies (saved_chats.question/response) and become standalone.
ALTER TABLE chat_logs ADD COLUMN deleted_at TIMESTAMP;

DROP POLICY "Users can read own chat logs" ON chat_logs;
CREATE POLICY "Users can read own chat logs" ON chat_logs
    FOR SELECT TO authenticated USING (auth.uid() = user_id AND deleted_at IS NULL);

-- Runs with the owner's rights (chat_logs are written by the server only), for the caller's own conversation:
-- auth.uid() comes from the verified claims set in the transaction. False when it is not theirs.
CREATE FUNCTION tradechat_delete_conversation(target UUID) RETURNS BOOLEAN
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
       SET deleted_at = now(), question = '', response = '', error = NULL,
           tools_used = (SELECT coalesce(jsonb_agg(step - 'input'), '[]'::jsonb)
                         FROM jsonb_array_elements(coalesce(tools_used, '[]'::jsonb)) AS step)
     WHERE conversation_id = target AND user_id = caller;
    UPDATE chat_logs SET conversation_id = NULL WHERE conversation_id = target AND user_id = caller;
    DELETE FROM conversations WHERE id = target AND user_id = caller;
    RETURN true;
END
$$;
REVOKE ALL ON FUNCTION tradechat_delete_conversation(UUID) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tradechat_delete_conversation(UUID) TO authenticated;
