//! Access-token verification vectors: HS256, ES256 and RS256 via a JWKS served over HTTP, and every way a token
//! must fail.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use tradechat::server::auth::jwks::JwksCache;
use tradechat::server::auth::verify::{TokenVerifier, VerifyError};

const RSA1: &str = include_str!("fixtures/rsa1.pem");
const RSA1_PUBLIC: &str = include_str!("fixtures/rsa1.pub.pem");
const RSA2: &str = include_str!("fixtures/rsa2.pem");
const EC1: &str = include_str!("fixtures/ec1.pem");
const SECRET: &[u8] = b"super-secret-jwt-token-with-at-least-32-characters";
const ISSUER: &str = "https://project.supabase.co/auth/v1";

fn rsa_jwk(pem: &str, kid: &str) -> Value {
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::PublicKeyParts;
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(pem).expect("rsa key");
    json!({"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
           "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()), "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be())})
}

fn ec_jwk(pem: &str, kid: &str) -> Value {
    use p256::pkcs8::DecodePrivateKey;
    let key = p256::SecretKey::from_pkcs8_pem(pem).expect("ec key");
    let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&key.public_key(), false);
    json!({"kty": "EC", "kid": kid, "alg": "ES256", "crv": "P-256", "use": "sig",
           "x": URL_SAFE_NO_PAD.encode(point.x().expect("x")), "y": URL_SAFE_NO_PAD.encode(point.y().expect("y"))})
}

fn claims(overrides: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut c = json!({"sub": uuid::Uuid::new_v4().to_string(), "aud": "authenticated", "role": "authenticated",
        "email": "t@example.com", "iss": ISSUER, "iat": now, "exp": now + 600, "session_id": uuid::Uuid::new_v4()});
    if let (Value::Object(base), Value::Object(extra)) = (&mut c, overrides) {
        base.extend(extra);
    }
    c
}

fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    encode(&header, claims, key).expect("sign")
}

/// A JWKS endpoint whose key set the test can swap, counting fetches.
struct JwksServer {
    url: String,
    keys: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
}

async fn jwks_server(keys: Value) -> JwksServer {
    let keys = Arc::new(Mutex::new(keys));
    let fetches = Arc::new(AtomicUsize::new(0));
    let state = (Arc::clone(&keys), Arc::clone(&fetches));
    let app = axum::Router::new()
        .route(
            "/auth/v1/.well-known/jwks.json",
            get(|State((keys, fetches)): State<(Arc<Mutex<Value>>, Arc<AtomicUsize>)>| async move {
                fetches.fetch_add(1, Ordering::SeqCst);
                Json(json!({ "keys": keys.lock().expect("lock").clone() }))
            }),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/auth/v1/.well-known/jwks.json", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    JwksServer { url, keys, fetches }
}

#[tokio::test]
async fn valid_tokens_of_each_kind_verify_and_bad_ones_are_refused() {
    let server = jwks_server(json!([rsa_jwk(RSA1, "rsa-1"), ec_jwk(EC1, "ec-1")])).await;
    let jwks = Arc::new(JwksCache::new(server.url.clone(), reqwest::Client::new()));
    let verifier = TokenVerifier::new(Some(SECRET), Some(jwks), Some(ISSUER.into()));
    let hs = EncodingKey::from_secret(SECRET);
    let rs = EncodingKey::from_rsa_pem(RSA1.as_bytes()).expect("rsa");
    let es = EncodingKey::from_ec_pem(EC1.as_bytes()).expect("ec");
    let c = claims(json!({}));

    for token in [
        sign(Algorithm::HS256, None, &hs, &c),
        sign(Algorithm::RS256, Some("rsa-1"), &rs, &c),
        sign(Algorithm::ES256, Some("ec-1"), &es, &c),
    ] {
        let identity = verifier.verify(&token).await.expect("valid token");
        assert_eq!(identity.user_id.to_string(), c["sub"].as_str().expect("sub"));
        assert_eq!(identity.email.as_deref(), Some("t@example.com"));
    }

    let now = chrono::Utc::now().timestamp();
    type Expect = fn(&VerifyError) -> bool;
    let refused: Vec<(&str, String, Expect)> = vec![
        ("expired", sign(Algorithm::HS256, None, &hs, &claims(json!({"exp": now - 60}))), |e| {
            *e == VerifyError::Expired
        }),
        ("not yet valid", sign(Algorithm::HS256, None, &hs, &claims(json!({"nbf": now + 300}))), |e| {
            matches!(e, VerifyError::Invalid(_))
        }),
        ("wrong aud", sign(Algorithm::HS256, None, &hs, &claims(json!({"aud": "anon"}))), |e| {
            matches!(e, VerifyError::Invalid(_))
        }),
        ("wrong iss", sign(Algorithm::HS256, None, &hs, &claims(json!({"iss": "https://evil/auth/v1"}))), |e| {
            matches!(e, VerifyError::Invalid(_))
        }),
        ("service role", sign(Algorithm::HS256, None, &hs, &claims(json!({"role": "service_role"}))), |e| {
            *e == VerifyError::NotAUser
        }),
        ("unknown kid", sign(Algorithm::RS256, Some("nope"), &rs, &c), |e| *e == VerifyError::UnknownKey),
        ("RS256 claiming the EC key", sign(Algorithm::RS256, Some("ec-1"), &rs, &c), |e| {
            *e == VerifyError::AlgorithmMismatch
        }),
        (
            "signed by another RSA key",
            sign(Algorithm::RS256, Some("rsa-1"), &EncodingKey::from_rsa_pem(RSA2.as_bytes()).expect("rsa2"), &c),
            |e| matches!(e, VerifyError::Invalid(_)),
        ),
        (
            "HS256 with the RSA public key as secret (algorithm confusion)",
            sign(Algorithm::HS256, Some("rsa-1"), &EncodingKey::from_secret(RSA1_PUBLIC.as_bytes()), &c),
            |e| matches!(e, VerifyError::Invalid(_)),
        ),
    ];
    for (what, token, expected) in refused {
        let err = verifier.verify(&token).await.expect_err(what);
        assert!(expected(&err), "{what}: got {err:?}");
    }

    // alg: none, hand-built.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(c.to_string())
    );
    assert_eq!(verifier.verify(&none).await.expect_err("none"), VerifyError::Malformed);

    // A tampered payload keeps the old signature.
    let good = sign(Algorithm::ES256, Some("ec-1"), &es, &c);
    let parts: Vec<&str> = good.split('.').collect();
    let tampered_claims = claims(json!({"sub": uuid::Uuid::new_v4().to_string()}));
    let tampered = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(tampered_claims.to_string()), parts[2]);
    assert!(matches!(verifier.verify(&tampered).await, Err(VerifyError::Invalid(_))));

    // Without a configured secret, HS256 is refused outright.
    let no_secret = TokenVerifier::new(None, None, Some(ISSUER.into()));
    assert_eq!(
        no_secret.verify(&sign(Algorithm::HS256, None, &hs, &c)).await.expect_err("no secret"),
        VerifyError::NoSharedSecret
    );
}

#[tokio::test]
async fn unknown_kids_cause_at_most_one_refetch_per_interval() {
    let server = jwks_server(json!([ec_jwk(EC1, "ec-1")])).await;
    let jwks = Arc::new(JwksCache::new(server.url.clone(), reqwest::Client::new()));
    let verifier = TokenVerifier::new(None, Some(jwks), Some(ISSUER.into()));
    let es = EncodingKey::from_ec_pem(EC1.as_bytes()).expect("ec");
    verifier.verify(&sign(Algorithm::ES256, Some("ec-1"), &es, &claims(json!({})))).await.expect("valid");
    assert_eq!(server.fetches.load(Ordering::SeqCst), 1);
    for i in 0..25 {
        let forged = sign(Algorithm::ES256, Some(&format!("forged-{i}")), &es, &claims(json!({})));
        assert_eq!(verifier.verify(&forged).await.expect_err("unknown"), VerifyError::UnknownKey);
    }
    assert_eq!(server.fetches.load(Ordering::SeqCst), 1, "forged kids within 30 s cause no refetch storm");
}

#[tokio::test]
async fn a_rotated_jwks_is_picked_up_and_a_removed_key_rejected() {
    // One cache throughout, with a short refresh interval instead of ten minutes.
    let refresh_after = Duration::from_millis(1_500);
    let server = jwks_server(json!([rsa_jwk(RSA1, "old")])).await;
    let jwks = Arc::new(JwksCache::with_intervals(
        server.url.clone(),
        reqwest::Client::new(),
        refresh_after,
        Duration::from_millis(50),
    ));
    let verifier = TokenVerifier::new(None, Some(jwks), Some(ISSUER.into()));
    let old = EncodingKey::from_rsa_pem(RSA1.as_bytes()).expect("rsa1");
    let new = EncodingKey::from_rsa_pem(RSA2.as_bytes()).expect("rsa2");
    let c = claims(json!({}));
    let old_token = sign(Algorithm::RS256, Some("old"), &old, &c);
    let new_token = sign(Algorithm::RS256, Some("new"), &new, &c);
    verifier.verify(&old_token).await.expect("old key valid");

    // Rotation: the new key joins; a token signed with it triggers one refetch and verifies.
    *server.keys.lock().expect("lock") = json!([rsa_jwk(RSA1, "old"), rsa_jwk(RSA2, "new")]);
    tokio::time::sleep(Duration::from_millis(60)).await;
    verifier.verify(&new_token).await.expect("new key picked up");
    let fetches = server.fetches.load(Ordering::SeqCst);
    assert_eq!(fetches, 2, "the unknown kid caused one refetch");

    // The old key is removed at the issuer. Until the cache is due, it still holds (and uses) the old key.
    *server.keys.lock().expect("lock") = json!([rsa_jwk(RSA2, "new")]);
    verifier.verify(&old_token).await.expect("cached keys are used until the refresh interval");
    assert_eq!(server.fetches.load(Ordering::SeqCst), fetches, "no fetch while the keys are fresh");

    // Once the interval has passed, the same cache refetches and drops the removed key.
    tokio::time::sleep(refresh_after + Duration::from_millis(100)).await;
    assert_eq!(verifier.verify(&old_token).await.expect_err("removed"), VerifyError::UnknownKey);
    assert_eq!(server.fetches.load(Ordering::SeqCst), fetches + 1, "the stale set was refetched");
    verifier.verify(&new_token).await.expect("new still valid");
}

#[tokio::test]
async fn a_hanging_jwks_fetch_delays_nobody_whose_key_is_cached() {
    use tokio::sync::Notify;
    let (release, arrived) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let fetches = Arc::new(AtomicUsize::new(0));
    let state = (Arc::clone(&release), Arc::clone(&arrived), Arc::clone(&fetches));
    // The first fetch answers at once; later ones hang until released.
    let app = axum::Router::new()
        .route(
            "/jwks.json",
            get(|State((release, arrived, fetches)): State<(Arc<Notify>, Arc<Notify>, Arc<AtomicUsize>)>| async move {
                if fetches.fetch_add(1, Ordering::SeqCst) > 0 {
                    arrived.notify_one();
                    release.notified().await;
                }
                Json(json!({ "keys": [rsa_jwk(RSA1, "rsa-1")] }))
            }),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/jwks.json", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    // Keys always count as stale, and refetches are never rate-limited: every verification wants a fetch.
    let jwks = Arc::new(JwksCache::with_intervals(url, reqwest::Client::new(), Duration::ZERO, Duration::ZERO));
    let verifier = TokenVerifier::new(None, Some(jwks), Some(ISSUER.into()));
    let rs = EncodingKey::from_rsa_pem(RSA1.as_bytes()).expect("rsa");
    let known = sign(Algorithm::RS256, Some("rsa-1"), &rs, &claims(json!({})));
    verifier.verify(&known).await.expect("first fetch");

    let unknown = sign(Algorithm::RS256, Some("rsa-new"), &rs, &claims(json!({})));
    let stuck = tokio::spawn({
        let verifier = verifier.clone();
        async move { verifier.verify(&unknown).await }
    });
    arrived.notified().await;
    // The fetch hangs; a token whose key is cached verifies meanwhile (a liveness bound, not a timing).
    let meanwhile = tokio::time::timeout(Duration::from_secs(5), verifier.verify(&known)).await;
    assert!(matches!(meanwhile, Ok(Ok(_))), "blocked behind the hanging fetch: {meanwhile:?}");
    release.notify_one();
    assert_eq!(stuck.await.expect("task").expect_err("still unknown"), VerifyError::UnknownKey);
}
