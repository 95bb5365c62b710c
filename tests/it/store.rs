//! Postgres: the seed's schema, row-level security (in SQL and through the repositories), and favourites.
use sqlx::Row;
use tradechat::domain::Note;
use tradechat::server::store::chat_logs::insert_batch;
use tradechat::server::store::saved::{self, SavedError};
use tradechat::server::store::scoped::ScopedTx;
use tradechat::server::store::{conversations, profiles};

use crate::helpers::{create_user, fresh_pool, log_record, next_ids};

#[tokio::test]
async fn the_schema_has_the_seeds_columns_types_defaults_keys_and_indexes() {
    let pool = fresh_pool().await;
    // (table, column, type, max length, numeric precision/scale, nullable, default)
    type Expected =
        (&'static str, &'static str, &'static str, Option<i32>, Option<(i32, i32)>, &'static str, Option<&'static str>);
    let expected: [Expected; 20] = [
        ("profiles", "id", "uuid", None, None, "NO", None),
        ("profiles", "display_name", "character varying", Some(100), None, "YES", None),
        ("profiles", "created_at", "timestamp without time zone", None, None, "YES", Some("now()")),
        ("chat_logs", "id", "bigint", None, None, "NO", Some("nextval('chat_logs_id_seq'::regclass)")),
        ("chat_logs", "user_id", "uuid", None, None, "NO", None),
        ("chat_logs", "question", "text", None, None, "NO", None),
        ("chat_logs", "response", "text", None, None, "NO", None),
        ("chat_logs", "tools_used", "jsonb", None, None, "YES", Some("'[]'::jsonb")),
        ("chat_logs", "input_tokens", "integer", None, None, "YES", None),
        ("chat_logs", "output_tokens", "integer", None, None, "YES", None),
        ("chat_logs", "cost", "numeric", None, Some((10, 6)), "YES", None),
        ("chat_logs", "model", "character varying", Some(50), None, "YES", None),
        ("chat_logs", "created_at", "timestamp without time zone", None, None, "YES", Some("now()")),
        ("saved_chats", "id", "bigint", None, None, "NO", Some("nextval('saved_chats_id_seq'::regclass)")),
        ("saved_chats", "user_id", "uuid", None, None, "NO", None),
        ("saved_chats", "chat_log_id", "bigint", None, None, "YES", None),
        ("saved_chats", "question", "text", None, None, "YES", None),
        ("saved_chats", "response", "text", None, None, "YES", None),
        ("saved_chats", "note", "character varying", Some(500), None, "YES", None),
        ("saved_chats", "created_at", "timestamp without time zone", None, None, "YES", Some("now()")),
    ];
    for (table, column, data_type, length, numeric, nullable, default) in expected {
        let row = sqlx::query(
            "SELECT data_type, character_maximum_length, numeric_precision, numeric_scale, is_nullable, column_default
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 AND column_name = $2",
        )
        .bind(table)
        .bind(column)
        .fetch_optional(&pool)
        .await
        .expect("query")
        .unwrap_or_else(|| panic!("{table}.{column} is missing"));
        assert_eq!(row.get::<String, _>(0), data_type, "{table}.{column} type");
        assert_eq!(row.get::<Option<i32>, _>(1), length, "{table}.{column} length");
        if let Some((precision, scale)) = numeric {
            assert_eq!((row.get::<Option<i32>, _>(2), row.get::<Option<i32>, _>(3)), (Some(precision), Some(scale)));
        }
        assert_eq!(row.get::<String, _>(4), nullable, "{table}.{column} nullability");
        assert_eq!(row.get::<Option<String>, _>(5).as_deref(), default, "{table}.{column} default");
    }
    // The seed's indexes, by what they serve: an index led by each column (migration 9 folded
    // `idx_chat_logs_created` into `idx_chat_logs_created_cost` and extended `idx_chat_logs_user` for history pages).
    for (table, column) in [("chat_logs", "user_id"), ("chat_logs", "created_at"), ("saved_chats", "user_id")] {
        let leading: Vec<String> = sqlx::query_scalar(
            "SELECT i.relname::text FROM pg_index x
             JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
             WHERE t.relname = $1 AND a.attname = $2",
        )
        .bind(table)
        .bind(column)
        .fetch_all(&pool)
        .await
        .expect("query");
        assert!(!leading.is_empty(), "an index led by {table}.{column}");
    }
    let user_recent: String =
        sqlx::query_scalar("SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_chat_logs_user'")
            .fetch_one(&pool)
            .await
            .expect("indexdef");
    assert!(user_recent.contains("(user_id, created_at DESC, id DESC)"), "{user_recent}");
    // (table, column, referenced table)
    for (table, column, target) in [
        ("profiles", "id", "auth.users"),
        ("chat_logs", "user_id", "auth.users"),
        ("saved_chats", "user_id", "auth.users"),
        ("saved_chats", "chat_log_id", "chat_logs"),
    ] {
        let found: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_constraint c
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
             WHERE c.contype = 'f' AND c.conrelid = $1::regclass AND a.attname = $2 AND c.confrelid = $3::regclass)",
        )
        .bind(table)
        .bind(column)
        .bind(target)
        .fetch_one(&pool)
        .await
        .expect("query");
        assert!(found, "{table}.{column} references {target}");
    }
    for table in ["profiles", "conversations", "chat_logs", "saved_chats"] {
        let rls: bool = sqlx::query_scalar("SELECT relrowsecurity FROM pg_class WHERE oid = $1::regclass")
            .bind(table)
            .fetch_one(&pool)
            .await
            .expect("query");
        assert!(rls, "row-level security on {table}");
    }
    // The app's login role must not be able to bypass RLS by itself.
    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&pool)
            .await
            .expect("role");
    assert!(!superuser && !bypass, "the app logs in as a role that RLS applies to");
}

/// Two users with one conversation, one answer, one save and a profile each.
async fn two_users_with_data(
    pool: &sqlx::PgPool,
) -> (tradechat::server::auth::Identity, tradechat::server::auth::Identity, i64, i64, i64) {
    let a = create_user(pool, &format!("a-{}@example.com", uuid::Uuid::new_v4())).await;
    let b = create_user(pool, &format!("b-{}@example.com", uuid::Uuid::new_v4())).await;
    let ids = next_ids(pool, 2).await;
    let (mut ra, mut rb) =
        (log_record(ids[0], a.user_id, "A's question"), log_record(ids[1], b.user_id, "B's question"));
    ra.conversation_id = Some(uuid::Uuid::new_v4());
    rb.conversation_id = Some(uuid::Uuid::new_v4());
    let mut conn = pool.acquire().await.expect("conn");
    insert_batch(&mut conn, &[ra, rb]).await.expect("insert logs");
    let mut saved_b = 0;
    for (who, log_id) in [(&a, ids[0]), (&b, ids[1])] {
        let mut tx = ScopedTx::as_user(pool, who).await.expect("tx");
        let s = saved::save(&mut tx, log_id, None).await.expect("save own");
        profiles::ensure(&mut tx).await.expect("profile");
        tx.commit().await.expect("commit");
        saved_b = s.id;
    }
    (a, b, ids[0], ids[1], saved_b)
}

#[tokio::test]
async fn in_sql_as_authenticated_a_user_sees_and_changes_only_their_own_rows() {
    let pool = fresh_pool().await;
    let (a, b, _, b_log, _) = two_users_with_data(&pool).await;
    let mut tx = ScopedTx::as_user(&pool, &a).await.expect("tx");
    for (table, owner_column) in
        [("saved_chats", "user_id"), ("chat_logs", "user_id"), ("conversations", "user_id"), ("profiles", "id")]
    {
        let own: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE {owner_column} = $1"))
            .bind(a.user_id)
            .fetch_one(&mut *tx)
            .await
            .expect("own");
        assert_eq!(own, 1, "A sees their own {table} row (the policy grants it)");
        let others: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE {owner_column} <> $1"))
            .bind(a.user_id)
            .fetch_one(&mut *tx)
            .await
            .expect("others");
        assert_eq!(others, 0, "A sees none of B's {table} rows");
    }
    // Updates and deletes aimed at B's rows touch nothing.
    for sql in [
        "UPDATE saved_chats SET note = 'pwned' WHERE user_id = $1",
        "DELETE FROM saved_chats WHERE user_id = $1",
        "UPDATE conversations SET title = 'pwned' WHERE user_id = $1",
        "DELETE FROM conversations WHERE user_id = $1",
        "UPDATE profiles SET display_name = 'pwned' WHERE id = $1",
    ] {
        let affected = sqlx::query(sql).bind(b.user_id).execute(&mut *tx).await.expect(sql).rows_affected();
        assert_eq!(affected, 0, "{sql}");
    }
    // Chat logs are the server's to write: no UPDATE/DELETE for users at all.
    for sql in ["UPDATE chat_logs SET response = 'x'", "DELETE FROM chat_logs"] {
        let mut sp = sqlx::Connection::begin(&mut *tx).await.expect("savepoint");
        assert!(sqlx::query(sql).execute(&mut *sp).await.is_err(), "{sql} must be refused");
        sp.rollback().await.expect("rollback savepoint");
    }
    // A cannot save B's answer, nor plant a save in B's name.
    for (sql, user) in [
        ("INSERT INTO saved_chats (user_id, chat_log_id) VALUES ($1, $2)", a.user_id),
        ("INSERT INTO saved_chats (user_id, chat_log_id) VALUES ($1, $2)", b.user_id),
    ] {
        let mut sp = sqlx::Connection::begin(&mut *tx).await.expect("savepoint");
        let result = sqlx::query(sql).bind(user).bind(b_log).execute(&mut *sp).await;
        assert!(result.is_err(), "row-level security must refuse {sql} for user {user}");
        sp.rollback().await.expect("rollback savepoint");
    }
    drop(tx);

    // anon sees nothing at all.
    let mut anon = ScopedTx::as_anon(&pool).await.expect("anon");
    for table in ["saved_chats", "chat_logs", "conversations", "profiles"] {
        let mut sp = sqlx::Connection::begin(&mut *anon).await.expect("savepoint");
        let seen = sqlx::query_scalar::<_, i64>(&format!("SELECT count(*) FROM {table}")).fetch_one(&mut *sp).await;
        assert!(seen.is_err() || seen.ok() == Some(0), "anon must not read {table}");
        sp.rollback().await.expect("rollback");
    }
    drop(anon);

    // The service role sees everyone's rows (admin analytics).
    let mut service = ScopedTx::as_service_role(&pool).await.expect("service");
    let all: i64 = sqlx::query_scalar("SELECT count(*) FROM saved_chats").fetch_one(&mut *service).await.expect("all");
    assert_eq!(all, 2);
}

#[tokio::test]
async fn through_the_repositories_crafted_ids_find_nothing_of_another_user() {
    let pool = fresh_pool().await;
    let (a, _b, _, b_log, b_saved) = two_users_with_data(&pool).await;
    let mut tx = ScopedTx::as_user(&pool, &a).await.expect("tx");
    assert!(matches!(saved::save(&mut tx, b_log, None).await, Err(SavedError::NotFound)), "save B's answer");
    let note = Note::parse_optional("mine now").expect("note");
    assert!(matches!(saved::update_note(&mut tx, b_saved, note.as_ref()).await, Err(SavedError::NotFound)));
    assert!(matches!(saved::remove(&mut tx, b_saved).await, Err(SavedError::NotFound)));
    assert!(matches!(saved::remove_by_chat_log(&mut tx, b_log).await, Err(SavedError::NotFound)));
    let listed = saved::list(&mut tx, None, 0, 50).await.expect("list");
    assert!(listed.items.iter().all(|s| s.chat_log_id != Some(b_log)));
    let exchanges = conversations::search_exchanges(&mut tx, Some("question"), 0, 50).await.expect("search");
    assert_eq!(exchanges.items.len(), 1, "only A's own exchange matches");
    let recent = conversations::recent(&mut tx, 50).await.expect("recent");
    assert_eq!(recent.len(), 1);
    tx.commit().await.expect("commit");
}

#[tokio::test]
async fn favourites_save_once_note_search_page_and_unsave() {
    let pool = fresh_pool().await;
    let user = create_user(&pool, &format!("fav-{}@example.com", uuid::Uuid::new_v4())).await;
    let ids = next_ids(&pool, 3).await;
    let questions = ["NOVA last close", "Portfolio P&L this month", "VWAP of QBIT yesterday"];
    let records: Vec<_> = ids.iter().zip(questions).map(|(id, q)| log_record(*id, user.user_id, q)).collect();
    insert_batch(&mut pool.acquire().await.expect("conn"), &records).await.expect("insert");

    let mut tx = ScopedTx::as_user(&pool, &user).await.expect("tx");
    let note = Note::parse_optional("check again Friday").expect("note");
    let first = saved::save(&mut tx, ids[0], note.as_ref()).await.expect("save");
    assert_eq!(first.question, "NOVA last close");
    assert_eq!(first.response, "answer to NOVA last close", "the answer is copied");
    assert_eq!(first.note.as_deref(), Some("check again Friday"));
    let again = saved::save(&mut tx, ids[0], None).await.expect("save again");
    assert_eq!(again.id, first.id, "saving twice keeps one row");
    saved::save(&mut tx, ids[1], None).await.expect("save second");
    saved::save(&mut tx, ids[2], None).await.expect("save third");

    let all = saved::list(&mut tx, None, 0, 2).await.expect("page 0");
    assert_eq!(all.items.len(), 2);
    assert!(all.has_more);
    assert_eq!(all.items[0].chat_log_id, Some(ids[2]), "newest first");
    let rest = saved::list(&mut tx, None, 1, 2).await.expect("page 1");
    assert_eq!(rest.items.len(), 1);
    assert!(!rest.has_more);

    let found = saved::list(&mut tx, Some("portfolio"), 0, 10).await.expect("search");
    assert_eq!(found.items.iter().map(|s| s.chat_log_id).collect::<Vec<_>>(), vec![Some(ids[1])]);
    let by_note = saved::list(&mut tx, Some("friday"), 0, 10).await.expect("search note");
    assert_eq!(by_note.items.len(), 1);

    let edited = saved::update_note(&mut tx, first.id, Note::parse_optional("sold").expect("n").as_ref()).await;
    assert_eq!(edited.expect("edit").note.as_deref(), Some("sold"));
    let cleared = saved::update_note(&mut tx, first.id, None).await.expect("clear");
    assert_eq!(cleared.note, None);

    saved::remove(&mut tx, first.id).await.expect("unsave");
    saved::remove_by_chat_log(&mut tx, ids[1]).await.expect("unsave by answer");
    assert_eq!(saved::list(&mut tx, None, 0, 10).await.expect("list").items.len(), 1);
    tx.commit().await.expect("commit");

    // The database refuses a note over 500 characters even if a caller skipped `Note`.
    let mut tx = ScopedTx::as_user(&pool, &user).await.expect("tx");
    let too_long = "x".repeat(501);
    let result = sqlx::query("UPDATE saved_chats SET note = $1").bind(&too_long).execute(&mut *tx).await;
    assert!(result.is_err());
}

#[tokio::test]
async fn a_log_cannot_join_another_users_conversation() {
    let pool = fresh_pool().await;
    let a = create_user(&pool, &format!("ca-{}@example.com", uuid::Uuid::new_v4())).await;
    let b = create_user(&pool, &format!("cb-{}@example.com", uuid::Uuid::new_v4())).await;
    let ids = next_ids(&pool, 2).await;
    let conversation = uuid::Uuid::new_v4();
    let mut first = log_record(ids[0], a.user_id, "A starts it");
    first.conversation_id = Some(conversation);
    first.conversation_title = Some("A's conversation".into());
    let mut intruder = log_record(ids[1], b.user_id, "B tries to join");
    intruder.conversation_id = Some(conversation);
    let mut conn = pool.acquire().await.expect("conn");
    insert_batch(&mut conn, &[first]).await.expect("first");
    insert_batch(&mut conn, &[intruder]).await.expect("second");
    let rows: Vec<(i64, Option<uuid::Uuid>)> = sqlx::query_as("SELECT id, conversation_id FROM chat_logs ORDER BY id")
        .fetch_all(&mut *conn)
        .await
        .expect("rows");
    assert_eq!(rows, vec![(ids[0], Some(conversation)), (ids[1], None)]);
    let title: String = sqlx::query_scalar("SELECT title FROM conversations WHERE id = $1")
        .bind(conversation)
        .fetch_one(&mut *conn)
        .await
        .expect("t");
    assert_eq!(title, "A's conversation");
}
