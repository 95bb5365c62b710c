-- What a saved-answer alert found, as data: per changed answer, its question and each checked number that no longer
-- holds, so the page words it in the reader's language. `message` keeps the English text (the webhook's).
ALTER TABLE alerts
    ADD COLUMN details JSONB NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(details) = 'array');
