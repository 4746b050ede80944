//! Account numbers at rest: AES-256-GCM under a key derived from `account_key` (SHA-256 of
//! the configured secret), a fresh random nonce per value, stored as hex(nonce ‖ ciphertext).
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use sha2::{Digest, Sha256};

pub struct AccountCipher {
    cipher: Aes256Gcm,
}

const NONCE_BYTES: usize = 12;

impl AccountCipher {
    pub fn from_secret(secret: &str) -> AccountCipher {
        let key = Sha256::digest(secret.as_bytes());
        AccountCipher {
            cipher: Aes256Gcm::new(&key),
        }
    }

    pub fn seal(&self, plain: &str) -> String {
        let nonce_bytes: [u8; NONCE_BYTES] = rand::random();
        let nonce = Nonce::from(nonce_bytes);
        let sealed = self
            .cipher
            .encrypt(&nonce, plain.as_bytes())
            .expect("AES-GCM encrypts any input of this size");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        hex::encode(out)
    }

    /// The plain value, or an error when the value was sealed under another key or altered.
    pub fn open(&self, sealed: &str) -> anyhow::Result<String> {
        let bytes = hex::decode(sealed)?;
        anyhow::ensure!(
            bytes.len() > NONCE_BYTES,
            "a sealed account number is too short"
        );
        let (nonce, body) = bytes.split_at(NONCE_BYTES);
        let plain = self
            .cipher
            .decrypt(&Nonce::from(<[u8; NONCE_BYTES]>::try_from(nonce)?), body)
            .map_err(|_| anyhow::anyhow!("an account number does not open under this account_key: the key changed or the value was altered"))?;
        Ok(String::from_utf8(plain)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_numbers_open_only_under_their_key_and_never_repeat() {
        let c = AccountCipher::from_secret("a-secret-of-enough-length-for-the-test");
        let a = c.seal("6222021234567894");
        let b = c.seal("6222021234567894");
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!a.contains("6222"));
        assert_eq!(c.open(&a).unwrap(), "6222021234567894");
        assert!(AccountCipher::from_secret("another").open(&a).is_err());
        let mut tampered = hex::decode(&a).unwrap();
        *tampered.last_mut().unwrap() ^= 1;
        let tampered = hex::encode(tampered);
        assert!(c.open(&tampered).is_err());
    }
}
