//! Client-side encryption of store objects. The store never sees plaintext or the key, and
//! deduplication still works because both the address and the encryption are deterministic
//! functions of the content under the key:
//!
//! - address = HMAC-SHA256(address key, SHA-256(plaintext)), hex;
//! - each object has its own AES-256-GCM key, HMAC-SHA256(content key, SHA-256(plaintext));
//! - the plaintext is sealed in chunks of [`CHUNK`] bytes, each with the nonce
//!   `chunk index (8 bytes, big-endian) ‖ last-chunk flag ‖ 0 0 0`, so chunks cannot be
//!   reordered, dropped or the object cut short without the open failing.
//!
//! A nonce repeats only under the same per-object key for the same chunk of the same content,
//! which encrypts to the same bytes: no (key, nonce) pair ever seals two different plaintexts.
//! The address and content keys are derived from the one master key in the key file; the
//! master key's fingerprint (also derived, never the key) goes into every manifest.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Plaintext bytes per sealed chunk.
pub const CHUNK: usize = 1 << 20;
/// What sealing adds to each chunk (the GCM tag).
pub const TAG: usize = 16;

/// Why a key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the encryption key file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the encryption key file {path} must hold 32 random bytes as 64 hex digits \
         (make one with `openssl rand -hex 32 > {path}`)"
    )]
    Format { path: String },
}

/// A chunk that did not open: wrong key, or the stored bytes were changed.
#[derive(Debug, thiserror::Error)]
#[error(
    "chunk {index} of the object does not decrypt: the object was changed in the store, or \
     the encryption key is not the one it was uploaded with"
)]
pub struct OpenError {
    pub index: u64,
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// The keys derived from one master key.
#[derive(Clone)]
pub struct Keys {
    address: [u8; 32],
    content: [u8; 32],
    fingerprint: String,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys {{ fingerprint: {} }}", self.fingerprint)
    }
}

impl Keys {
    /// Keys from a 32-byte master key.
    pub fn from_master(master: &[u8; 32]) -> Self {
        let fp = hmac(master, &[b"snapkeep key fingerprint v1"]);
        Keys {
            address: hmac(master, &[b"snapkeep address key v1"]),
            content: hmac(master, &[b"snapkeep content key v1"]),
            fingerprint: hex::encode(&fp[..8]),
        }
    }

    /// Reads a key file: 64 hex digits (surrounding whitespace ignored).
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: shown.clone(),
            source,
        })?;
        let bytes = hex::decode(text.trim()).map_err(|_| KeyError::Format {
            path: shown.clone(),
        })?;
        let master: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyError::Format { path: shown })?;
        Ok(Self::from_master(&master))
    }

    /// The key's fingerprint: 16 hex digits derived from it, safe to show and store.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The store address of content whose SHA-256 is `sha`.
    pub fn address(&self, sha: &[u8; 32]) -> String {
        hex::encode(hmac(&self.address, &[sha]))
    }

    /// The cipher of the object holding content whose SHA-256 is `sha`.
    pub fn object(&self, sha: &[u8; 32]) -> ObjectCipher {
        let key = hmac(&self.content, &[sha]);
        ObjectCipher {
            aead: Aes256Gcm::new_from_slice(&key).expect("32-byte key"),
        }
    }
}

/// Seals and opens the chunks of one object.
pub struct ObjectCipher {
    aead: Aes256Gcm,
}

fn nonce(index: u64, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&index.to_be_bytes());
    n[8] = u8::from(last);
    n
}

impl ObjectCipher {
    /// Seals chunk `index` (`last` for the object's final chunk).
    pub fn seal(&self, index: u64, last: bool, chunk: &[u8]) -> Vec<u8> {
        let n = nonce(index, last);
        self.aead
            .encrypt(
                Nonce::from_slice(&n),
                Payload {
                    msg: chunk,
                    aad: b"",
                },
            )
            .expect("AES-GCM sealing of at most 1 MiB cannot fail")
    }

    /// Opens chunk `index`.
    pub fn open(&self, index: u64, last: bool, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        let n = nonce(index, last);
        self.aead
            .decrypt(
                Nonce::from_slice(&n),
                Payload {
                    msg: sealed,
                    aad: b"",
                },
            )
            .map_err(|_| OpenError { index })
    }
}

/// Chunks of an object of `size` plaintext bytes (an empty object is one empty chunk).
pub fn chunks(size: u64) -> u64 {
    size.div_ceil(CHUNK as u64).max(1)
}

/// Stored size of an object of `size` plaintext bytes, sealed.
pub fn sealed_size(size: u64) -> u64 {
    size + TAG as u64 * chunks(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(byte: u8) -> Keys {
        Keys::from_master(&[byte; 32])
    }

    #[test]
    fn same_content_same_address_and_bytes_other_key_other_address() {
        let sha = [7u8; 32];
        let (a, b) = (keys(1), keys(2));
        assert_eq!(a.address(&sha), keys(1).address(&sha));
        assert_ne!(a.address(&sha), b.address(&sha));
        assert_ne!(
            a.address(&sha),
            hex::encode(sha),
            "the address hides the hash"
        );
        let sealed = a.object(&sha).seal(0, true, b"row data");
        assert_eq!(sealed, keys(1).object(&sha).seal(0, true, b"row data"));
        assert_eq!(sealed.len(), 8 + TAG);
        assert!(!sealed.windows(8).any(|w| w == b"row data"));
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint().len(), 16);
    }

    #[test]
    fn opening_needs_the_key_the_index_and_the_last_flag() {
        let sha = [3u8; 32];
        let c = keys(1).object(&sha);
        let sealed = c.seal(4, false, b"chunk four");
        assert_eq!(c.open(4, false, &sealed).expect("opens"), b"chunk four");
        assert!(c.open(5, false, &sealed).is_err(), "moved chunk");
        assert!(c.open(4, true, &sealed).is_err(), "cut short here");
        assert!(
            keys(2).object(&sha).open(4, false, &sealed).is_err(),
            "wrong key"
        );
        let mut flipped = sealed.clone();
        flipped[0] ^= 1;
        assert!(c.open(4, false, &flipped).is_err(), "changed byte");
    }

    #[test]
    fn sealed_sizes() {
        assert_eq!(sealed_size(0), 16);
        assert_eq!(sealed_size(1), 17);
        assert_eq!(sealed_size(CHUNK as u64), CHUNK as u64 + 16);
        assert_eq!(sealed_size(CHUNK as u64 + 1), CHUNK as u64 + 33);
    }

    #[test]
    fn key_files_are_64_hex_digits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = dir.path().join("good");
        std::fs::write(&good, format!("{}\n", "ab".repeat(32))).expect("write");
        assert_eq!(
            Keys::from_file(&good).expect("key").fingerprint(),
            Keys::from_master(&[0xab; 32]).fingerprint()
        );
        let short = dir.path().join("short");
        std::fs::write(&short, "abcd").expect("write");
        let e = Keys::from_file(&short).expect_err("short").to_string();
        assert!(e.contains("64 hex digits"), "{e}");
        let e = Keys::from_file(&dir.path().join("none"))
            .expect_err("missing")
            .to_string();
        assert!(e.contains("cannot read the encryption key file"), "{e}");
    }
}
