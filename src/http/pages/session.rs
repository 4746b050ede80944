//! Browser sessions and CSRF. The session cookie carries the same JWT as the API's bearer
//! token (HttpOnly, SameSite=Strict, Secure when the request came over TLS), so instances
//! share sessions exactly as they share API tokens. Every form carries a CSRF token:
//! signed in, an HMAC of the session token under the server's secret; on the sign-in form,
//! an HMAC of a random nonce kept in its own cookie (a forged cookie cannot be matched
//! without the secret).
use actix_web::cookie::{time::Duration, Cookie, SameSite};
use actix_web::HttpRequest;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub use crate::http::auth::SESSION_COOKIE;
pub const NONCE_COOKIE: &str = "claimflow_login_nonce";
pub const LANG_COOKIE: &str = "claimflow_lang";
/// The form field every POST form carries.
pub const CSRF_FIELD: &str = "_csrf";

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, purpose: &str, value: &str) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    m.update(purpose.as_bytes());
    m.update(b"\0");
    m.update(value.as_bytes());
    m
}

/// The CSRF token of a form shown to the holder of `session`.
pub fn csrf_token(secret: &str, session: &str) -> String {
    hex::encode(mac(secret, "csrf", session).finalize().into_bytes())
}

/// Whether a submitted token belongs to this session (constant time).
pub fn csrf_ok(secret: &str, session: &str, submitted: &str) -> bool {
    hex::decode(submitted)
        .is_ok_and(|bytes| mac(secret, "csrf", session).verify_slice(&bytes).is_ok())
}

/// The sign-in form's token, from the nonce in its cookie.
pub fn login_token(secret: &str, nonce: &str) -> String {
    hex::encode(mac(secret, "login", nonce).finalize().into_bytes())
}

pub fn login_token_ok(secret: &str, nonce: &str, submitted: &str) -> bool {
    hex::decode(submitted)
        .is_ok_and(|bytes| mac(secret, "login", nonce).verify_slice(&bytes).is_ok())
}

pub fn new_nonce() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// True when the request reached us (or the TLS-terminating proxy) over HTTPS.
/// Whether the browser reached us over TLS: the public URL is https, or a configured
/// trusted proxy says so in `X-Forwarded-Proto`. A client's own header is not believed, so
/// it cannot make the cookie lose or gain its Secure flag.
pub fn over_tls(req: &HttpRequest) -> bool {
    let Some(state) = req.app_data::<crate::http::State>() else {
        return false;
    };
    let config = &state.config;
    if config.mail.public_base_url.starts_with("https://") {
        return true;
    }
    let from_proxy = req
        .peer_addr()
        .is_some_and(|peer| config.trusted_proxies.contains(&peer.ip()));
    from_proxy
        && req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            == Some("https")
}

fn cookie(name: &'static str, value: String, secure: bool, max_age: Duration) -> Cookie<'static> {
    Cookie::build(name, value)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path("/")
        .max_age(max_age)
        .finish()
}

pub fn session_cookie(token: String, secure: bool, ttl_minutes: i64) -> Cookie<'static> {
    cookie(
        SESSION_COOKIE,
        token,
        secure,
        Duration::minutes(ttl_minutes),
    )
}

pub fn nonce_cookie(nonce: String, secure: bool) -> Cookie<'static> {
    cookie(NONCE_COOKIE, nonce, secure, Duration::minutes(30))
}

/// The language choice outlives sessions (a year); it is not a secret, but HttpOnly anyway.
pub fn lang_cookie(lang: &str, secure: bool) -> Cookie<'static> {
    cookie(LANG_COOKIE, lang.to_string(), secure, Duration::days(365))
}

/// A cookie that tells the browser to forget `name`.
pub fn removal(name: &'static str) -> Cookie<'static> {
    let mut c = Cookie::build(name, "").path("/").finish();
    c.make_removal();
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "test-secret-test-secret-test-secret-42";

    #[test]
    fn a_session_token_matches_only_its_session() {
        let t = csrf_token(SECRET, "session-a");
        assert!(csrf_ok(SECRET, "session-a", &t));
        assert!(!csrf_ok(SECRET, "session-b", &t));
        assert!(!csrf_ok(
            "another-secret-another-secret-000",
            "session-a",
            &t
        ));
        assert!(!csrf_ok(SECRET, "session-a", "not hex"));
        assert!(!csrf_ok(SECRET, "session-a", ""));
    }

    #[test]
    fn the_login_token_is_bound_to_its_nonce_and_purpose() {
        let nonce = new_nonce();
        let t = login_token(SECRET, &nonce);
        assert!(login_token_ok(SECRET, &nonce, &t));
        assert!(!login_token_ok(SECRET, &new_nonce(), &t));
        // A session CSRF token is not a login token for the same value, and back.
        assert!(!csrf_ok(SECRET, &nonce, &t));
    }

    #[test]
    fn the_session_cookie_is_http_only_strict_and_secure_over_tls() {
        let c = session_cookie("tok".into(), true, 60);
        assert_eq!(c.http_only(), Some(true));
        assert_eq!(c.same_site(), Some(SameSite::Strict));
        assert_eq!(c.secure(), Some(true));
        assert_eq!(
            session_cookie("tok".into(), false, 60).secure(),
            Some(false)
        );
    }
}
