//! Passwords (argon2id) and tokens (HS256 JWTs with expiry). Pure apart from the clock,
//! which callers pass in as `now`.
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::error::Msg;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    // Argon2::default() is argon2id, v19, with the OWASP-recommended memory and passes.
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash password: {e}"))
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Who is calling: what the token says, checked.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub region: String,
    /// Root-to-region path of codes; staff see cases whose region path starts with it.
    pub region_path: String,
    pub org: String,
    pub lang: String,
    /// A facility user's facility codes (one, or a hospital group's several), read from the
    /// database on every request like the roles; empty for everyone else.
    #[serde(default)]
    pub facilities: Vec<String>,
    /// The server-side session this principal signed in with; every request checks it.
    #[serde(skip)]
    pub session_id: String,
}

impl Principal {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The first of `allowed` this user holds, or 403.
    pub fn require_any(&self, allowed: &[Role]) -> Result<Role, AppError> {
        allowed
            .iter()
            .copied()
            .find(|r| self.has(*r))
            .ok_or_else(|| {
                let names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
                AppError::Forbidden(Msg::new("forbidden-roles").text("roles", names.join(", ")))
            })
    }

    pub fn is_staff(&self) -> bool {
        self.roles.iter().any(|r| r.is_staff())
    }

    /// A facility's own user: scoped to `facilities`, never to a region.
    pub fn is_facility(&self) -> bool {
        self.roles.iter().any(|r| r.is_facility())
    }

    /// Whether this facility user speaks for the facility with this code.
    pub fn speaks_for(&self, facility_code: &str) -> bool {
        self.is_facility() && self.facilities.iter().any(|c| c == facility_code)
    }

    pub fn covers_region(&self, path: &str) -> bool {
        crate::store::regions::path_within(path, &self.region_path)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct TokenClaims {
    sub: String,
    exp: i64,
    iat: i64,
    name: String,
    display: String,
    roles: Vec<Role>,
    region: String,
    region_path: String,
    org: String,
    lang: String,
    /// The session id; a token without one opens nothing.
    #[serde(default)]
    sid: String,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_seconds: i64,
}

impl JwtKeys {
    /// Builds the keys and signs and verifies a probe token, so that a misconfigured crypto
    /// backend fails at start-up instead of on the first login.
    pub fn new(secret: &str, ttl_minutes: i64) -> anyhow::Result<JwtKeys> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        let keys = JwtKeys {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            ttl_seconds: ttl_minutes * 60,
        };
        let probe = Principal {
            user_id: 0,
            username: "self-test".into(),
            display_name: String::new(),
            roles: vec![],
            region: String::new(),
            region_path: String::new(),
            org: String::new(),
            lang: "zh-CN".into(),
            facilities: Vec::new(),
            session_id: String::new(),
        };
        let now = chrono::Utc::now().timestamp();
        let token = keys.issue(&probe, now)?;
        keys.verify(&token)
            .map_err(|e| anyhow::anyhow!("JWT self-test failed: {e}"))?;
        Ok(keys)
    }

    pub fn ttl_seconds(&self) -> i64 {
        self.ttl_seconds
    }

    pub fn issue(&self, p: &Principal, now: i64) -> anyhow::Result<String> {
        self.issue_with_expiry(p, now, now + self.ttl_seconds)
    }

    pub fn issue_with_expiry(&self, p: &Principal, now: i64, exp: i64) -> anyhow::Result<String> {
        let claims = TokenClaims {
            sub: p.user_id.to_string(),
            exp,
            iat: now,
            name: p.username.clone(),
            display: p.display_name.clone(),
            roles: p.roles.clone(),
            region: p.region.clone(),
            region_path: p.region_path.clone(),
            org: p.org.clone(),
            lang: p.lang.clone(),
            sid: p.session_id.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| anyhow::anyhow!("cannot sign token: {e}"))
    }

    /// Accepts only HS256 tokens with our signature and an `exp` in the future. What the
    /// token claims is then checked against its session (`service::auth::current`).
    pub fn verify(&self, token: &str) -> Result<Principal, AppError> {
        let data = jsonwebtoken::decode::<TokenClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| {
                AppError::Unauthorized(Msg::new("auth-token-invalid").text("detail", e.to_string()))
            })?;
        let c = data.claims;
        let user_id = c
            .sub
            .parse()
            .map_err(|_| AppError::Unauthorized(Msg::new("auth-token-subject")))?;
        Ok(Principal {
            user_id,
            username: c.name,
            display_name: c.display,
            roles: c.roles,
            region: c.region,
            region_path: c.region_path,
            org: c.org,
            lang: c.lang,
            facilities: Vec::new(),
            session_id: c.sid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal() -> Principal {
        Principal {
            user_id: 5,
            username: "r".into(),
            display_name: "R".into(),
            roles: vec![Role::Reviewer],
            region: "330300".into(),
            region_path: "330000/330300".into(),
            org: "agency".into(),
            lang: "zh-CN".into(),
            facilities: Vec::new(),
            session_id: "s1".into(),
        }
    }

    #[test]
    fn passwords_are_argon2id_and_verify() {
        let h = hash_password("s3cret-pass").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "s3cret-pass"));
        assert!(!verify_password(&h, "wrong"));
        assert!(!verify_password("not a hash", "s3cret-pass"));
    }

    #[test]
    fn rejects_expired_tampered_and_unsigned_tokens() {
        let keys = JwtKeys::new("0123456789abcdef0123456789abcdef", 60).unwrap();
        let now = chrono::Utc::now().timestamp();
        let good = keys.issue(&principal(), now).unwrap();
        assert_eq!(keys.verify(&good).unwrap().user_id, 5);
        let expired = keys
            .issue_with_expiry(&principal(), now - 100, now - 1)
            .unwrap();
        assert!(keys.verify(&expired).is_err());
        let mut parts: Vec<String> = good.split('.').map(String::from).collect();
        parts[2] = parts[2].chars().rev().collect();
        assert!(keys.verify(&parts.join(".")).is_err());
        // alg: none, with the same claims and no signature.
        use base64::Engine;
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"alg":"none","typ":"JWT"}"#);
        let none = format!("{header}.{}.", good.split('.').nth(1).unwrap());
        assert!(keys.verify(&none).is_err());
        let other = JwtKeys::new("another-secret-another-secret-0000", 60).unwrap();
        assert!(other.verify(&good).is_err());
    }
}
