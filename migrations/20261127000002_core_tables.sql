-- The seed's tables exactly (profiles, chat_logs, saved_chats: columns, types, defaults, foreign keys, indexes),
-- plus what the product needs: conversations, and on chat_logs the conversation, run status, error text,
-- cache tokens and duration. Row-level security on every table; the policies below are what protects the data.

CREATE TABLE profiles (
    id UUID REFERENCES auth.users PRIMARY KEY,
    display_name VARCHAR(100),
    created_at TIMESTAMP DEFAULT NOW()
);

CREATE TABLE conversations (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID REFERENCES auth.users NOT NULL,
    title VARCHAR(200),
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMP NOT NULL DEFAULT NOW()
);
CREATE INDEX idx_conversations_user_updated ON conversations (user_id, updated_at DESC);

CREATE TABLE chat_logs (
    id BIGSERIAL PRIMARY KEY,
    user_id UUID REFERENCES auth.users NOT NULL,

    -- Request/Response
    question TEXT NOT NULL,
    response TEXT NOT NULL,

    -- Tools: [{"name": "...", "input": {...}, "duration_ms": 123, "ok": true, "rows": 10}]
    tools_used JSONB DEFAULT '[]',

    -- Usage & Cost
    input_tokens INTEGER,
    output_tokens INTEGER,
    cost DECIMAL(10, 6),

    -- Metadata
    model VARCHAR(50),
    created_at TIMESTAMP DEFAULT NOW(),

    -- Added for the product
    conversation_id UUID REFERENCES conversations (id) ON DELETE SET NULL,
    status VARCHAR(16) NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'error', 'cancelled')),
    error TEXT,
    cache_creation_tokens INTEGER,
    cache_read_tokens INTEGER,
    duration_ms INTEGER
);

CREATE INDEX idx_chat_logs_user ON chat_logs(user_id);
CREATE INDEX idx_chat_logs_created ON chat_logs(created_at DESC);
CREATE INDEX idx_chat_logs_conversation ON chat_logs (conversation_id, id);
CREATE INDEX idx_chat_logs_search ON chat_logs
    USING gin (to_tsvector('english', question || ' ' || response));

CREATE TABLE saved_chats (
    id BIGSERIAL PRIMARY KEY,
    user_id UUID REFERENCES auth.users NOT NULL,
    chat_log_id BIGINT REFERENCES chat_logs(id),

    -- Or standalone save (copy of data)
    question TEXT,
    response TEXT,

    note VARCHAR(500),  -- user's note
    created_at TIMESTAMP DEFAULT NOW()
);

CREATE INDEX idx_saved_chats_user ON saved_chats(user_id);
-- Saving the same answer twice keeps one row (a ⭐ is idempotent).
CREATE UNIQUE INDEX saved_chats_user_chat_log_key ON saved_chats (user_id, chat_log_id);

-- RLS: users can only see their own
ALTER TABLE profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE conversations ENABLE ROW LEVEL SECURITY;
ALTER TABLE chat_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE saved_chats ENABLE ROW LEVEL SECURITY;

-- The seed's policy, with a WITH CHECK that also keeps a save pointing at its owner's own chat log.
CREATE POLICY "Users can manage own saves" ON saved_chats
    FOR ALL TO authenticated
    USING (auth.uid() = user_id)
    WITH CHECK (
        auth.uid() = user_id
        AND (chat_log_id IS NULL
             OR EXISTS (SELECT 1 FROM chat_logs c WHERE c.id = chat_log_id AND c.user_id = auth.uid()))
    );

-- Chat logs and conversations are written by the server; their owner reads them (and may rename or delete a
-- conversation).
CREATE POLICY "Users can read own chat logs" ON chat_logs
    FOR SELECT TO authenticated USING (auth.uid() = user_id);
CREATE POLICY "Users can read own conversations" ON conversations
    FOR SELECT TO authenticated USING (auth.uid() = user_id);
CREATE POLICY "Users can rename own conversations" ON conversations
    FOR UPDATE TO authenticated USING (auth.uid() = user_id) WITH CHECK (auth.uid() = user_id);
CREATE POLICY "Users can delete own conversations" ON conversations
    FOR DELETE TO authenticated USING (auth.uid() = user_id);

CREATE POLICY "Users can read own profile" ON profiles
    FOR SELECT TO authenticated USING (auth.uid() = id);
CREATE POLICY "Users can create own profile" ON profiles
    FOR INSERT TO authenticated WITH CHECK (auth.uid() = id);
CREATE POLICY "Users can update own profile" ON profiles
    FOR UPDATE TO authenticated USING (auth.uid() = id) WITH CHECK (auth.uid() = id);

-- service_role bypasses RLS on Supabase; these make a plain Postgres (where it cannot) behave the same.
CREATE POLICY "Service role has full access" ON profiles FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY "Service role has full access" ON conversations FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY "Service role has full access" ON chat_logs FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY "Service role has full access" ON saved_chats FOR ALL TO service_role USING (true) WITH CHECK (true);

-- Privileges: the policies only narrow what these allow. `anon` gets nothing.
REVOKE ALL ON profiles, conversations, chat_logs, saved_chats FROM anon;
GRANT SELECT, INSERT, UPDATE (display_name) ON profiles TO authenticated;
GRANT SELECT, DELETE, UPDATE (title, updated_at) ON conversations TO authenticated;
GRANT SELECT ON chat_logs TO authenticated;
GRANT SELECT, INSERT, DELETE, UPDATE (note) ON saved_chats TO authenticated;
GRANT USAGE ON SEQUENCE saved_chats_id_seq TO authenticated;
GRANT ALL ON profiles, conversations, chat_logs, saved_chats TO service_role;
GRANT USAGE, SELECT ON SEQUENCE chat_logs_id_seq, saved_chats_id_seq TO service_role;
