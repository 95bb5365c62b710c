//! The GoTrue client against the built-in provider over HTTP, brute-force limits, enumeration resistance, and
//! sessions through the app's own server functions and cookies.
use serde_json::Value;
use tradechat::server::auth::gotrue::{GoTrue, GoTrueError};

use crate::helpers::{AppOptions, TestApp, TestUser, page_text, spawn_app, spawn_app_with, status_and_json};

fn gotrue(app: &TestApp) -> GoTrue {
    GoTrue::new(&app.base_url, "anon")
}

fn email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// The newest outbox email to `to`: (link, code).
async fn outbox(app: &TestApp, to: &str) -> (String, String) {
    let mails: Vec<Value> =
        app.client.get(app.url("/dev/outbox.json")).send().await.expect("outbox").json().await.expect("json");
    let mail = mails.iter().find(|m| m["to"] == to).unwrap_or_else(|| panic!("no email to {to} in {mails:?}"));
    (mail["link"].as_str().expect("link").to_owned(), mail["code"].as_str().expect("code").to_owned())
}

fn token_hash(link: &str) -> String {
    let query = link.split_once('?').expect("query").1;
    query.split('&').find_map(|kv| kv.strip_prefix("token_hash=")).expect("token_hash").to_owned()
}

#[tokio::test]
async fn sign_up_sign_in_refresh_rotation_reuse_detection_and_logout() {
    let app = spawn_app().await;
    let client = gotrue(&app);
    let address = email();
    let signed_up = client.sign_up(&address, "correct horse battery").await.expect("sign up");
    assert_eq!(signed_up.email.as_deref(), Some(address.as_str()));
    let duplicate = client.sign_up(&address, "another password").await.expect_err("duplicate");
    assert!(matches!(duplicate, GoTrueError::Rejected { status: 422, .. }), "{duplicate:?}");
    let weak = client.sign_up(&email(), "short").await.expect_err("weak");
    assert!(matches!(&weak, GoTrueError::Rejected { message, .. } if message.contains("at least 8")), "{weak:?}");

    let session = client.sign_in_password(&address, "correct horse battery").await.expect("sign in");
    let identity = app.state.auth.verifier.verify(&session.access_token).await.expect("token verifies");
    assert_eq!(identity.user_id, signed_up.user_id);

    // Rotation: each refresh spends the token and returns a new one.
    let first = client.refresh(&session.refresh_token).await.expect("refresh");
    assert_ne!(first.refresh_token, session.refresh_token);
    // Asking again right away with the spent token (a concurrent refresh) returns the same child, not an error.
    let again = client.refresh(&session.refresh_token).await.expect("immediate replay within the window");
    assert_eq!(again.refresh_token, first.refresh_token);
    let second = client.refresh(&first.refresh_token).await.expect("refresh the child");
    // Now the original token is two generations old: replaying it is reuse, and revokes the whole session.
    let reuse = client.refresh(&session.refresh_token).await.expect_err("reuse");
    assert!(matches!(&reuse, GoTrueError::Rejected { message, .. } if message.contains("Already Used")), "{reuse:?}");
    let revoked = client.refresh(&second.refresh_token).await.expect_err("session revoked");
    assert!(matches!(revoked, GoTrueError::Rejected { status: 400, .. }));

    // Logout revokes the session of the token.
    let fresh = client.sign_in_password(&address, "correct horse battery").await.expect("sign in again");
    client.logout(&fresh.access_token).await.expect("logout");
    assert!(client.refresh(&fresh.refresh_token).await.is_err(), "refresh after logout fails");
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_end_in_one_lineage() {
    let app = spawn_app().await;
    let client = gotrue(&app);
    let address = email();
    client.sign_up(&address, "correct horse battery").await.expect("sign up");
    let session = client.sign_in_password(&address, "correct horse battery").await.expect("sign in");
    let refreshes = (0..5).map(|_| client.refresh(&session.refresh_token));
    let results = futures_join_all(refreshes).await;
    let tokens: std::collections::HashSet<_> =
        results.into_iter().map(|r| r.expect("no errors").refresh_token).collect();
    assert_eq!(tokens.len(), 1, "every concurrent refresh got the same new token");
}

/// Polls all futures concurrently on this task and collects their outputs in order.
async fn futures_join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in pinned.iter_mut().zip(results.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    results.into_iter().flatten().collect()
}

#[tokio::test]
async fn magic_links_and_codes_work_once_and_a_new_one_kills_the_old() {
    let app = spawn_app().await;
    let client = gotrue(&app);
    let address = email();
    client.send_otp(&address, &app.url("/auth/confirm")).await.expect("send");
    let (link, code) = outbox(&app, &address).await;
    assert!(link.starts_with(&app.url("/auth/confirm?token_hash=")), "{link}");
    assert_eq!(code.len(), 6);

    // A new email invalidates the first link and code.
    client.send_otp(&address, &app.url("/auth/confirm")).await.expect("send again");
    let (link2, code2) = outbox(&app, &address).await;
    assert_ne!(link, link2);
    assert!(client.verify_token_hash(&token_hash(&link)).await.is_err(), "the old link is dead");
    if code != code2 {
        assert!(client.verify_code(&address, &code).await.is_err(), "the old code is dead");
    }

    let via_link = client.verify_token_hash(&token_hash(&link2)).await.expect("link signs in");
    assert_eq!(via_link.email.as_deref(), Some(address.as_str()));
    assert!(client.verify_token_hash(&token_hash(&link2)).await.is_err(), "a link works once");
    assert!(client.verify_code(&address, &code2).await.is_err(), "using the link spent the code too");

    client.send_otp(&address, &app.url("/auth/confirm")).await.expect("send a third");
    let (_, code3) = outbox(&app, &address).await;
    let via_code = client.verify_code(&address, &code3).await.expect("code signs in");
    assert_eq!(via_code.user_id, via_link.user_id);
    assert!(client.verify_code(&address, &code3).await.is_err(), "a code works once");
}

#[tokio::test]
async fn the_sixth_wrong_password_or_code_is_refused_and_unknown_emails_look_the_same() {
    let app = spawn_app().await;
    let client = gotrue(&app);
    let known = email();
    client.sign_up(&known, "correct horse battery").await.expect("sign up");
    let unknown = email();
    for address in [&known, &unknown] {
        for attempt in 1..=5 {
            let e = client.sign_in_password(address, "wrong password!").await.expect_err("wrong");
            assert_eq!(
                e,
                GoTrueError::Rejected { status: 400, message: "Invalid login credentials".into() },
                "attempt {attempt} for {address}"
            );
        }
        let sixth = client.sign_in_password(address, "correct horse battery").await.expect_err("6th refused");
        assert!(matches!(sixth, GoTrueError::RateLimited(_)), "{sixth:?}");
    }

    // Codes: five wrong tries kill the code, the right one included.
    let address = email();
    client.send_otp(&address, &app.url("/auth/confirm")).await.expect("send");
    let (_, code) = outbox(&app, &address).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let e = client.verify_code(&address, wrong).await.expect_err("wrong code");
        assert!(matches!(e, GoTrueError::Rejected { status: 403, .. }), "{e:?}");
    }
    assert!(client.verify_code(&address, &code).await.is_err(), "the code is dead after 5 wrong tries");

    // The same answer for a link request to an address with no account.
    let raw = |address: String| {
        let app_url = app.url("/auth/v1/otp");
        let http = app.client.clone();
        async move {
            let r = http.post(app_url).json(&serde_json::json!({"email": address})).send().await.expect("otp");
            (r.status().as_u16(), r.text().await.expect("body"))
        }
    };
    assert_eq!(raw(known.clone()).await, raw(email()).await);
}

#[tokio::test]
async fn parallel_wrong_passwords_are_counted_before_they_are_checked() {
    let app = spawn_app().await;
    let client = gotrue(&app);
    let address = email();
    client.sign_up(&address, "correct horse battery").await.expect("sign up");
    let guesses: Vec<String> = (0..10).map(|i| format!("wrong password {i}")).collect();
    let results = futures_join_all(guesses.iter().map(|p| client.sign_in_password(&address, p))).await;
    let evaluated = results.iter().filter(|r| matches!(r, Err(GoTrueError::Rejected { status: 400, .. }))).count();
    let refused = results.iter().filter(|r| matches!(r, Err(GoTrueError::RateLimited(_)))).count();
    assert_eq!((evaluated, refused), (5, 5), "10 parallel guesses: 5 checked, the rest refused: {results:?}");
    let after = client.sign_in_password(&address, "correct horse battery").await.expect_err("still limited");
    assert!(matches!(after, GoTrueError::RateLimited(_)), "the right password is refused within the window: {after:?}");
}

#[tokio::test]
async fn the_outbox_is_only_served_to_requests_that_started_on_this_host() {
    let app = spawn_app().await;
    for path in ["/dev/outbox.json", "/dev/outbox"] {
        let local = app.client.get(app.url(path)).send().await.expect("outbox");
        assert_eq!(local.status(), 200, "{path} from loopback");
        let proxied = [
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-host", "tradechat.example"),
            ("x-real-ip", "203.0.113.9"),
            ("forwarded", "for=203.0.113.9;proto=https"),
            ("x-forwarded-proto", "https"),
            ("host", "tradechat.example"),
        ];
        for (name, value) in proxied {
            let response = app.client.get(app.url(path)).header(name, value).send().await.expect("outbox");
            assert_eq!(response.status(), 404, "{path} with {name}: {value}");
        }
    }
}

/// A tiny cookie jar: remembers `Set-Cookie` values and sends them back.
#[derive(Default)]
struct Jar(std::collections::BTreeMap<String, String>);

impl Jar {
    fn absorb(&mut self, response: &reqwest::Response) {
        for v in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let text = v.to_str().expect("ascii");
            let pair = text.split(';').next().expect("pair");
            let (name, value) = pair.split_once('=').expect("name=value");
            if value.is_empty() || text.contains("Max-Age=0") {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }
}

/// Calls the server function at `path` with the jar's cookies, and keeps the cookies it sets (a browser's session,
/// where a [`TestUser`] keeps one fixed `Cookie` header).
async fn call(app: &TestApp, jar: &mut Jar, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = TestUser::with_cookie(app, jar.header()).post_form(path, form).await;
    jar.absorb(&response);
    status_and_json(response).await
}

#[tokio::test]
async fn server_functions_keep_the_session_in_httponly_cookies_and_refuse_signed_out_callers() {
    let app = spawn_app().await;
    let mut jar = Jar::default();
    let address = email();

    let (status, body) = call(&app, &mut jar, "/api/saved/list", &[("page", "0")]).await;
    assert_eq!(status, 401, "signed out: {body}");
    assert_eq!(body, serde_json::json!("Unauthorized"));

    let (status, user) = call(
        &app,
        &mut jar,
        "/api/auth/sign_in",
        &[("email", &address), ("password", "correct horse battery"), ("create", "true")],
    )
    .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["email"], address.as_str());
    assert!(jar.0.contains_key("tc-access") && jar.0.contains_key("tc-refresh"));

    let (status, me) = call(&app, &mut jar, "/api/auth/me", &[]).await;
    assert_eq!((status, me["email"].as_str()), (200, Some(address.as_str())));
    let (status, page) = call(&app, &mut jar, "/api/saved/list", &[("page", "0")]).await;
    assert_eq!(status, 200, "{page}");

    let (status, named) = call(&app, &mut jar, "/api/profile/display_name", &[("name", "  Ada  ")]).await;
    assert_eq!((status, named["display_name"].as_str()), (200, Some("Ada")));
    let too_long = "n".repeat(101);
    let (status, _) = call(&app, &mut jar, "/api/profile/display_name", &[("name", &too_long)]).await;
    assert_eq!(status, 400);

    // An expired access cookie is refreshed transparently from the refresh cookie.
    jar.0.insert("tc-access".into(), "expired.or.garbage".into());
    let (status, me) = call(&app, &mut jar, "/api/auth/me", &[]).await;
    assert_eq!((status, me["email"].as_str()), (200, Some(address.as_str())));
    assert_ne!(jar.0.get("tc-access").map(String::as_str), Some("expired.or.garbage"), "a new access cookie was set");

    // A cross-site form post is refused before it reaches the function.
    let cross = app
        .client
        .post(app.url("/api/auth/sign_out"))
        .header(reqwest::header::COOKIE, jar.header())
        .header("Origin", "https://evil.example")
        .send()
        .await
        .expect("request");
    assert_eq!(cross.status(), 403);

    let (status, _) = call(&app, &mut jar, "/api/auth/sign_out", &[]).await;
    assert_eq!(status, 200);
    assert!(jar.0.is_empty(), "sign-out clears both cookies");
    let (status, me) = call(&app, &mut jar, "/api/auth/me", &[]).await;
    assert_eq!((status, me), (200, Value::Null));
}

/// A client that does not follow redirects.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

#[tokio::test]
async fn opening_an_emailed_link_spends_nothing_and_continuing_signs_in_on_post_to_this_site_only() {
    let app = spawn_app().await;
    let address = email();
    gotrue(&app).send_otp(&address, &app.url("/auth/confirm")).await.expect("send");
    let (link, _) = outbox(&app, &address).await;
    let hash = token_hash(&link);

    // Opening the link (as a mail scanner would, twice) shows "Continue as …" and signs nobody in.
    for _ in 0..2 {
        let page = no_redirects().get(&link).send().await.expect("open the link");
        assert_eq!(page.status(), 200);
        assert!(page.headers().get_all("set-cookie").iter().next().is_none(), "no session from a GET");
        let html = page_text(&page.text().await.expect("html"));
        assert!(html.contains(&format!("Continue as {address}")), "{html}");
    }

    // A page elsewhere posting the link's form is refused (login CSRF).
    let cross_site = no_redirects()
        .post(app.url("/api/auth/confirm"))
        .header("origin", "https://evil.example")
        .form(&[("token_hash", hash.as_str())])
        .send()
        .await
        .expect("cross-site post");
    assert_eq!(cross_site.status(), 403);

    // "Continue", as a plain form: signed in, and sent on only to a path of this site (a TAB would make browsers
    // leave it).
    let evil_next = "/\t/evil.example";
    let continued = no_redirects()
        .post(app.url("/api/auth/confirm"))
        .header("accept", "text/html")
        .header("referer", &link)
        .form(&[("token_hash", hash.as_str()), ("next", evil_next)])
        .send()
        .await
        .expect("continue");
    assert_eq!(continued.status(), 302);
    assert_eq!(continued.headers()["location"], "/", "no open redirect");
    assert!(
        continued.headers().get_all("set-cookie").iter().any(|c| c.to_str().is_ok_and(|c| c.starts_with("tc-access=")))
    );

    // Spent: opening it again lands on /login, which says why.
    let again = no_redirects().get(&link).header("accept", "text/html").send().await.expect("again");
    assert_eq!(again.status(), 302);
    let location = again.headers()["location"].to_str().expect("location").to_owned();
    assert!(location.starts_with("/login?") && location.contains("error=link_used"), "{location}");
    let login = app.client.get(app.url(&location)).send().await.expect("login").text().await.expect("html");
    assert!(login.contains("already been used"), "{login}");
    // And a link that was never sent is called invalid.
    let unknown = no_redirects()
        .get(app.url("/auth/confirm?token_hash=nope&type=email"))
        .header("accept", "text/html")
        .send()
        .await
        .expect("unknown");
    assert!(unknown.headers()["location"].to_str().expect("location").contains("error=link_invalid"));
}

#[tokio::test]
async fn continuing_with_a_good_link_goes_on_to_next_for_the_app_too() {
    let app = spawn_app().await;
    let address = email();
    gotrue(&app).send_otp(&address, &app.url("/auth/confirm")).await.expect("send");
    let (link, _) = outbox(&app, &address).await;
    // The hydrated app's call (JSON): the redirect is a header the app's router follows.
    let continued = no_redirects()
        .post(app.url("/api/auth/confirm"))
        .form(&[("token_hash", token_hash(&link).as_str()), ("next", "/saved?q=NOVA")])
        .send()
        .await
        .expect("continue");
    assert_eq!(continued.status(), 200);
    assert_eq!(continued.headers()["location"], "/saved?q=NOVA");
    assert!(continued.headers().contains_key("serverfnredirect"));
}

/// What `/api/auth/methods` says to a request with `headers`.
async fn methods(app: &TestApp, headers: &[(&str, &str)]) -> Value {
    let mut request = app.client.post(app.url("/api/auth/methods"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("methods").json().await.expect("json")
}

#[tokio::test]
async fn the_sign_in_forms_point_to_the_outbox_only_for_local_development_without_smtp() {
    // ./scripts/run: no SMTP, DEV_OUTBOX on, a visitor on this machine.
    let local = spawn_app().await;
    assert_eq!(methods(&local, &[]).await, serde_json::json!({"email": true, "outbox": "/dev/outbox"}));
    // The same server seen through a proxy is not local: no hint.
    let proxied = methods(&local, &[("x-forwarded-for", "203.0.113.9")]).await;
    assert_eq!(proxied, serde_json::json!({"email": true, "outbox": null}));

    // With SMTP configured, emails really go out: no outbox, no hint (and /dev/outbox is gone).
    let smtp = AppOptions { env: vec![("SMTP_URL".into(), "smtp://127.0.0.1:2525".into())], ..AppOptions::default() };
    let with_smtp = spawn_app_with(smtp).await;
    assert_eq!(methods(&with_smtp, &[]).await, serde_json::json!({"email": true, "outbox": null}));
    assert_eq!(with_smtp.client.get(with_smtp.url("/dev/outbox")).send().await.expect("outbox").status(), 404);

    // Neither SMTP nor DEV_OUTBOX (a production start without a mail server): links and codes are refused with
    // a message saying what to do, and nothing is kept anywhere.
    let bare =
        spawn_app_with(AppOptions { env: vec![("DEV_OUTBOX".into(), "0".into())], ..AppOptions::default() }).await;
    assert_eq!(methods(&bare, &[]).await, serde_json::json!({"email": false, "outbox": null}));
    let refused = bare
        .client
        .post(bare.url("/api/auth/send_email"))
        .form(&[("email", email())])
        .send()
        .await
        .expect("send_email");
    assert_eq!(refused.status(), 400);
    let body = refused.text().await.expect("body");
    assert!(body.contains("sign in with a password") && body.contains("SMTP_URL"), "{body}");
    assert_eq!(bare.client.get(bare.url("/dev/outbox.json")).send().await.expect("outbox").status(), 404);
}

#[tokio::test]
async fn a_plain_form_asking_for_an_email_goes_on_to_login_which_says_where_it_went() {
    let app = spawn_app().await;
    let address = email();
    let response = no_redirects()
        .post(app.url("/api/auth/send_email"))
        .header("accept", "text/html")
        .header("referer", app.url("/history"))
        .form(&[("email", address.as_str()), ("method", "code"), ("next", "/history")])
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().expect("location").to_owned();
    assert!(location.starts_with("/login?next=%2Fhistory") && location.contains("sent=code"), "{location}");
    let page = page_text(&app.client.get(app.url(&location)).send().await.expect("login").text().await.expect("html"));
    assert!(page.contains(&format!("we sent a 6-digit code (and a sign-in link) to {address}")), "{page}");
    assert!(page.contains("href=\"/dev/outbox\""), "the outbox hint links to it: {page}");
}

#[tokio::test]
async fn a_signed_in_user_sets_a_new_password_and_the_old_one_stops_working() {
    let app = spawn_app().await;
    let address = email();
    let user = TestUser::sign_up(&app, &address).await;
    let (status, body) = user.server_fn("auth/password", &[("password", "short")]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["Invalid"]["SignIn"]["WeakPassword"]["min"], 8, "{body}");
    let (status, _) = user.server_fn("auth/password", &[("password", "a much better passphrase")]).await;
    assert_eq!(status, 200);
    let client = gotrue(&app);
    assert!(client.sign_in_password(&address, "correct horse battery").await.is_err());
    client.sign_in_password(&address, "a much better passphrase").await.expect("new password works");
    let mut signed_out = Jar::default();
    let (status, _) = call(&app, &mut signed_out, "/api/auth/password", &[("password", "whatever123")]).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn sign_out_with_an_expired_access_cookie_revokes_the_session() {
    use base64::Engine as _;
    const SECRET: &str = "a-test-signing-secret-of-at-least-32-characters";
    let options = AppOptions { env: vec![("AUTH_JWT_SECRET".into(), SECRET.into())], ..AppOptions::default() };
    let app = spawn_app_with(options).await;
    let mut jar = Jar::default();
    let address = email();
    let (status, _) = call(
        &app,
        &mut jar,
        "/api/auth/sign_in",
        &[("email", &address), ("password", "correct horse battery"), ("create", "true")],
    )
    .await;
    assert_eq!(status, 200);

    // The access cookie expires: the same claims, properly signed, an hour in the past.
    let payload = jar.0["tc-access"].split('.').nth(1).expect("payload").to_owned();
    let mut claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64"))
            .expect("claims");
    let now = chrono::Utc::now().timestamp();
    claims["iat"] = (now - 7200).into();
    claims["exp"] = (now - 3600).into();
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("sign");
    assert!(app.state.auth.verifier.verify(&expired).await.is_err(), "the token is expired");
    jar.0.insert("tc-access".into(), expired.clone());
    let refresh = jar.0["tc-refresh"].clone();

    let (status, _) = call(&app, &mut jar, "/api/auth/sign_out", &[]).await;
    assert_eq!(status, 200);
    assert!(jar.0.is_empty(), "sign-out clears both cookies");
    // Revoked at the provider: the refresh token no longer refreshes (not even into the child the middleware made
    // from it on the way in).
    let refused = gotrue(&app).refresh(&refresh).await.expect_err("session revoked");
    assert!(matches!(refused, GoTrueError::Rejected { status: 400, .. }), "{refused:?}");
    // Replaying the old cookies at the app signs nobody in either.
    let mut replay = Jar::default();
    replay.0.insert("tc-access".into(), expired);
    replay.0.insert("tc-refresh".into(), refresh);
    let (status, me) = call(&app, &mut replay, "/api/auth/me", &[]).await;
    assert_eq!((status, me), (200, Value::Null));
}

/// Asks for a sign-in email for a fresh address through the app's server function, with extra request headers.
async fn send_email_with(app: &TestApp, headers: &[(&str, &str)]) -> u16 {
    let mut request = app.client.post(app.url("/api/auth/send_email")).form(&[("email", email())]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("send_email").status().as_u16()
}

/// Emails a client address may ask for per hour (`limits::EMAILS_PER_IP`).
const EMAILS_PER_IP: usize = 20;

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_address_has_its_own_budget_through_the_app() {
    // The test client (127.0.0.1) plays the trusted proxy: the address it forwards is the client's.
    let options = AppOptions { env: vec![("TRUSTED_PROXIES".into(), "127.0.0.1".into())], ..AppOptions::default() };
    let app = spawn_app_with(options).await;
    let first = [("x-forwarded-for", "203.0.113.1")];
    for i in 0..EMAILS_PER_IP {
        assert_eq!(send_email_with(&app, &first).await, 200, "email {i} from the first address");
    }
    assert_eq!(send_email_with(&app, &first).await, 429, "the first address has used its budget");
    // Headers that look like an internal caller's change nothing: the key stays the forwarded address.
    let spoofed = [
        ("x-forwarded-for", "203.0.113.1"),
        ("x-tradechat-client-ip", "203.0.113.77"),
        ("x-tradechat-internal", "guess"),
        ("x-real-ip", "203.0.113.78"),
    ];
    assert_eq!(send_email_with(&app, &spoofed).await, 429, "spoofed headers are ignored");
    // Another user's address still has its whole budget (the app used to call its own /auth/v1 over loopback, so
    // every user shared one).
    assert_eq!(send_email_with(&app, &[("x-forwarded-for", "203.0.113.2")]).await, 200, "second address");
}

#[tokio::test]
async fn without_a_trusted_proxy_forwarded_addresses_are_ignored_on_both_paths() {
    let app = spawn_app().await;
    for i in 0..EMAILS_PER_IP {
        let forged = format!("198.51.100.{i}");
        assert_eq!(send_email_with(&app, &[("x-forwarded-for", forged.as_str())]).await, 200, "email {i}");
    }
    let forged = [
        ("x-forwarded-for", "198.51.100.200"),
        ("x-tradechat-client-ip", "198.51.100.201"),
        ("x-tradechat-internal", "guess"),
    ];
    assert_eq!(send_email_with(&app, &forged).await, 429, "one peer, one budget, whatever it claims");
    // The same peer straight at the provider's /auth/v1 shares that budget.
    let mut direct = app.client.post(app.url("/auth/v1/otp")).json(&serde_json::json!({ "email": email() }));
    for (name, value) in forged {
        direct = direct.header(name, value);
    }
    assert_eq!(direct.send().await.expect("otp").status(), 429);
}

/// `GET /auth/v1/user` with `token`: (status, body).
async fn user_of(app: &TestApp, token: &str) -> (u16, Value) {
    let response = app.client.get(app.url("/auth/v1/user")).bearer_auth(token).send().await.expect("user");
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_password_set_before_the_address_was_proven_dies_at_the_owners_first_link() {
    let app = spawn_app().await;
    let client = gotrue(&app);
    let address = email();
    // Someone registers the owner's address first, with a password of their own, and keeps the session.
    let squatter = client.sign_up(&address, "the squatter's password").await.expect("sign up");
    let (status, user) = user_of(&app, &squatter.access_token).await;
    assert_eq!((status, &user["email_confirmed_at"]), (200, &Value::Null), "a password proves nothing: {user}");

    // The owner signs in with an emailed link: the address is proven now.
    client.send_otp(&address, &app.url("/auth/confirm")).await.expect("send");
    let (link, _) = outbox(&app, &address).await;
    let owner = client.verify_token_hash(&token_hash(&link)).await.expect("owner signs in");
    assert_eq!(owner.user_id, squatter.user_id, "the same account");
    let (status, user) = user_of(&app, &owner.access_token).await;
    assert_eq!(status, 200);
    assert!(user["email_confirmed_at"].is_string(), "{user}");

    // The squatter's password, session and (still unexpired) access token no longer open or change the account.
    let refused = client.sign_in_password(&address, "the squatter's password").await.expect_err("password cleared");
    assert_eq!(refused, GoTrueError::Rejected { status: 400, message: "Invalid login credentials".into() });
    assert!(client.refresh(&squatter.refresh_token).await.is_err(), "the squatter's session is revoked");
    let change = client.set_password(&squatter.access_token, "a new squatter password").await.expect_err("revoked");
    assert!(matches!(change, GoTrueError::Rejected { status: 403, .. }), "{change:?}");
    assert_eq!(user_of(&app, &squatter.access_token).await.0, 403);

    // The owner sets a password of their own; a later link does not clear it again.
    client.set_password(&owner.access_token, "the owner's passphrase").await.expect("owner sets a password");
    client.send_otp(&address, &app.url("/auth/confirm")).await.expect("send again");
    let (_, code) = outbox(&app, &address).await;
    let again = client.verify_code(&address, &code).await.expect("code");
    client.sign_in_password(&address, "the owner's passphrase").await.expect("the owner's password stays");
    assert!(client.refresh(&owner.refresh_token).await.is_ok(), "and so do the owner's sessions");
    assert_eq!(again.user_id, owner.user_id);
}

/// A real SMTP server (aiosmtpd, installed by `scripts/bootstrap`) that stores each message it accepts, decoded
/// by Python's `email` package, as a JSON line: `{from, to, subject, body}`.
struct SmtpServer {
    child: std::process::Child,
    url: String,
    mails: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    async fn start() -> Self {
        let python = std::env::var("TRADECHAT_SMTPD_PYTHON")
            .expect("TRADECHAT_SMTPD_PYTHON: run the tests through ./scripts/test (or source scripts/env.sh after scripts/bootstrap)");
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(
            dir.path().join("store.py"),
            r#"import email, email.policy, json

class Store:
    def __init__(self, path):
        self.path = path

    @classmethod
    def from_cli(cls, parser, *args):
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = msg.get_body(("plain",)).get_content()
        with open(self.path, "a") as f:
            f.write(json.dumps({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                                "subject": str(msg["subject"]), "body": body}) + "\n")
        return "250 Message accepted for delivery"
"#,
        )
        .expect("handler");
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
        let mails = dir.path().join("mails.jsonl");
        let child = std::process::Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "store.Store"])
            .arg(&mails)
            .env("PYTHONPATH", dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting aiosmtpd with {python}: {e}"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(std::time::Instant::now() < deadline, "aiosmtpd did not start");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Self { child, url: format!("smtp://127.0.0.1:{port}"), mails, _dir: dir }
    }

    /// The messages received so far.
    fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.mails)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("stored message"))
            .collect()
    }

    /// Waits for the `n`-th message.
    async fn nth(&self, n: usize) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(mail) = self.received().into_iter().nth(n) {
                return mail;
            }
            assert!(std::time::Instant::now() < deadline, "no message {n} arrived");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sign-in link and the 6-digit code in an email body.
fn link_and_code(body: &str) -> (String, String) {
    let link = body.split_whitespace().find(|w| w.starts_with("http")).expect("a link").to_owned();
    let code = body.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).expect("a 6-digit code").to_owned();
    (link, code)
}

#[tokio::test]
async fn sign_in_links_and_codes_arrive_through_a_real_smtp_server() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(AppOptions {
        env: vec![
            ("SMTP_URL".into(), smtp.url.clone()),
            ("SMTP_FROM".into(), "tradechat <sign-in@tradechat.test>".into()),
        ],
        ..AppOptions::default()
    })
    .await;
    // With SMTP set, nothing goes to the outbox.
    assert_eq!(app.client.get(app.url("/dev/outbox.json")).send().await.expect("outbox").status(), 404);
    let client = gotrue(&app);
    let address = email();

    client.send_otp(&address, &app.url("/auth/confirm")).await.expect("send a link");
    let mail = smtp.nth(0).await;
    assert_eq!(mail["from"], "sign-in@tradechat.test");
    assert_eq!(mail["to"], serde_json::json!([address]));
    let (link, _) = link_and_code(mail["body"].as_str().expect("body"));
    assert!(link.starts_with(&app.url("/auth/confirm?token_hash=")), "{link}");
    let via_link = client.verify_token_hash(&token_hash(&link)).await.expect("the mailed link signs in");
    assert_eq!(via_link.email.as_deref(), Some(address.as_str()));

    client.send_otp(&address, &app.url("/auth/confirm")).await.expect("send a code");
    let mail = smtp.nth(1).await;
    let (_, code) = link_and_code(mail["body"].as_str().expect("body"));
    let via_code = client.verify_code(&address, &code).await.expect("the mailed code signs in");
    assert_eq!(via_code.user_id, via_link.user_id);
}
