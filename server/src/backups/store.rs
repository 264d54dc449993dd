//! One backup store: a local directory or an S3-compatible bucket reached through the
//! `object_store` crate, laid out so that it describes itself:
//!
//! - `objects/<first two hex digits>/<address>`: one object per distinct file content,
//!   addressed by the SHA-256 of the content (or, encrypted, by a keyed hash of it);
//! - `manifests/<node>/<kind>/<id>.json`: one per uploaded snapshot or backup batch, written
//!   after every object it names is in the store and verified, so a manifest's presence means
//!   its upload is complete.
//!
//! Uploads stream from the file with bounded memory (multipart above one part), several at a
//! time, under an optional bandwidth limit; downloads and verification stream too.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt as _;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::crypto::{self, CHUNK, Keys};
use super::manifest::Manifest;

/// `[[stores]]` in the configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    pub name: String,
    pub kind: StoreKind,
    /// Local stores: the directory (created when missing).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// S3: `http(s)://host:port` of the service (https when the endpoint is).
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub bucket: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    /// S3: `https://endpoint/bucket/key` requests instead of `https://bucket.endpoint/key`.
    #[serde(default)]
    pub path_style: bool,
    /// S3: environment variables holding the keys (default `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`).
    #[serde(default)]
    pub access_key_id_env: Option<String>,
    #[serde(default)]
    pub secret_access_key_env: Option<String>,
    /// S3: a file holding the secret access key instead of the environment.
    #[serde(default)]
    pub secret_access_key_file: Option<PathBuf>,
    /// 64 hex digits: the key objects and manifests are encrypted with before they leave.
    #[serde(default)]
    pub encryption_key_file: Option<PathBuf>,
    /// S3 stores must be encrypted unless this is `false`; local stores when a key is set.
    #[serde(default)]
    pub encrypt: Option<bool>,
    /// Objects uploaded at once (default 4).
    #[serde(default = "default_parallel")]
    pub parallel_uploads: usize,
    /// Upload bandwidth limit in bytes per second (none by default).
    #[serde(default)]
    pub max_bytes_per_sec: Option<u64>,
    /// Give up on a failing request after this long, retrying with backoff (default 30 s).
    #[serde(default = "default_retry")]
    pub retry_timeout_secs: u64,
}

fn default_parallel() -> usize {
    4
}

fn default_retry() -> u64 {
    30
}

/// Where a store keeps its objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Local,
    S3,
}

/// The store used when none is configured: `<state dir>/store`.
pub fn default_local(state_dir: &Path) -> StoreConfig {
    StoreConfig {
        name: "local".into(),
        kind: StoreKind::Local,
        path: Some(state_dir.join("store")),
        endpoint: None,
        bucket: None,
        region: None,
        path_style: false,
        access_key_id_env: None,
        secret_access_key_env: None,
        secret_access_key_file: None,
        encryption_key_file: None,
        encrypt: None,
        parallel_uploads: default_parallel(),
        max_bytes_per_sec: None,
        retry_timeout_secs: default_retry(),
    }
}

impl StoreConfig {
    /// Whether objects are encrypted before they leave.
    pub fn encrypted(&self) -> bool {
        match (self.encrypt, self.kind) {
            (Some(e), _) => e,
            (None, StoreKind::S3) => true,
            (None, StoreKind::Local) => self.encryption_key_file.is_some(),
        }
    }

    /// Checks what can be checked without reaching the store.
    pub fn check(&self) -> Result<(), String> {
        let n = &self.name;
        if n.is_empty()
            || n.len() > 64
            || !n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "store name `{n}` must be 1-64 letters, digits, `-` or `_`"
            ));
        }
        match self.kind {
            StoreKind::Local if self.path.is_none() => {
                return Err(format!("store `{n}`: a local store needs `path`"));
            }
            StoreKind::S3 if self.endpoint.is_none() || self.bucket.is_none() => {
                return Err(format!(
                    "store `{n}`: an s3 store needs `endpoint` and `bucket`"
                ));
            }
            _ => {}
        }
        if self.encrypted() && self.encryption_key_file.is_none() {
            return Err(format!(
                "store `{n}` is encrypted (S3 stores are, by default) but has no \
                 `encryption_key_file`: make one with `openssl rand -hex 32 > FILE` and keep a \
                 copy somewhere safe (a lost key means lost backups), or set `encrypt = false`"
            ));
        }
        if self.parallel_uploads == 0 || self.parallel_uploads > 64 {
            return Err(format!("store `{n}`: `parallel_uploads` must be 1-64"));
        }
        Ok(())
    }
}

/// What went wrong with a store, naming the store and what was being done.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store `{store}`: {what}: {source}")]
    Backend {
        store: String,
        what: String,
        #[source]
        source: object_store::Error,
    },
    #[error("store `{store}`: object {address} is missing from the store")]
    Missing { store: String, address: String },
    #[error("store `{store}`: object {address} is corrupt: {detail}")]
    Corrupt {
        store: String,
        address: String,
        detail: String,
    },
    #[error("store `{store}`: {source}")]
    Key {
        store: String,
        #[source]
        source: crypto::KeyError,
    },
    #[error(
        "store `{store}`: {what} was encrypted with key {theirs}, but this store's key is {ours}; \
         configure the key it was made with"
    )]
    WrongKey {
        store: String,
        what: String,
        theirs: String,
        ours: String,
    },
    #[error("store `{store}`: {path}: {source}")]
    Io {
        store: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("store `{store}`: {message}")]
    Invalid { store: String, message: String },
}

/// A file now in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub address: String,
    /// Bytes this upload sent (0 when the store had the content already).
    pub sent: u64,
}

/// Shares an upload bandwidth limit between concurrent uploads.
#[derive(Debug)]
struct Limiter {
    bytes_per_sec: u64,
    next_free: std::sync::Mutex<Instant>,
}

impl Limiter {
    async fn take(&self, n: usize) {
        let wait = {
            let mut next = self
                .next_free
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = Instant::now();
            let start = (*next).max(now);
            *next = start + Duration::from_secs_f64(n as f64 / self.bytes_per_sec as f64);
            start - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// An opened store.
#[derive(Clone)]
pub struct Store {
    pub config: StoreConfig,
    inner: Arc<dyn ObjectStore>,
    keys: Option<Keys>,
    limiter: Option<Arc<Limiter>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store {{ {} }}", self.location())
    }
}

/// Multipart part size; also the largest object sent in one request.
const PART: usize = 8 << 20;
/// A header that starts every encrypted manifest.
const SEALED_MAGIC: &str = "SNAPKEEP-SEALED-1";

impl Store {
    /// Opens a store from its configuration (reads the key file, builds the client; nothing
    /// is sent yet: see [`Store::test_connection`]).
    pub fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        let invalid = |message: String| StoreError::Invalid {
            store: config.name.clone(),
            message,
        };
        config.check().map_err(&invalid)?;
        let keys = match (&config.encryption_key_file, config.encrypted()) {
            (Some(path), true) => {
                Some(Keys::from_file(path).map_err(|source| StoreError::Key {
                    store: config.name.clone(),
                    source,
                })?)
            }
            _ => None,
        };
        let backend = |what: &str, source| StoreError::Backend {
            store: config.name.clone(),
            what: what.to_string(),
            source,
        };
        let inner: Arc<dyn ObjectStore> = match config.kind {
            StoreKind::Local => {
                let path = config.path.clone().unwrap_or_default();
                std::fs::create_dir_all(&path).map_err(|source| StoreError::Io {
                    store: config.name.clone(),
                    path: path.display().to_string(),
                    source,
                })?;
                Arc::new(
                    object_store::local::LocalFileSystem::new_with_prefix(&path)
                        .map_err(|e| backend("cannot open the directory", e))?,
                )
            }
            StoreKind::S3 => {
                let endpoint = config.endpoint.clone().unwrap_or_default();
                let key_env = config
                    .access_key_id_env
                    .as_deref()
                    .unwrap_or("AWS_ACCESS_KEY_ID");
                let secret_env = config
                    .secret_access_key_env
                    .as_deref()
                    .unwrap_or("AWS_SECRET_ACCESS_KEY");
                let key_id = std::env::var(key_env).map_err(|_| {
                    invalid(format!(
                        "the access key id is read from the environment variable {key_env}, which is not set"
                    ))
                })?;
                let secret = match &config.secret_access_key_file {
                    Some(path) => std::fs::read_to_string(path)
                        .map(|s| s.trim().to_string())
                        .map_err(|e| {
                            invalid(format!(
                                "cannot read the secret access key file {}: {e}",
                                path.display()
                            ))
                        })?,
                    None => std::env::var(secret_env).map_err(|_| {
                        invalid(format!(
                            "the secret access key is read from the environment variable {secret_env}, which is not set"
                        ))
                    })?,
                };
                let retry = object_store::RetryConfig {
                    backoff: object_store::BackoffConfig::default(),
                    max_retries: 5,
                    retry_timeout: Duration::from_secs(config.retry_timeout_secs.max(1)),
                };
                let s3 = object_store::aws::AmazonS3Builder::new()
                    .with_endpoint(endpoint.trim_end_matches('/'))
                    .with_allow_http(endpoint.starts_with("http://"))
                    .with_bucket_name(config.bucket.clone().unwrap_or_default())
                    .with_region(config.region.clone().unwrap_or_else(|| "us-east-1".into()))
                    .with_virtual_hosted_style_request(!config.path_style)
                    .with_access_key_id(key_id)
                    .with_secret_access_key(secret)
                    .with_retry(retry)
                    // Every object is hashed by Snapkeep and read back to check it; signing
                    // each body would hash every byte once more.
                    .with_unsigned_payload(true)
                    .build()
                    .map_err(|e| backend("invalid S3 settings", e))?;
                Arc::new(s3)
            }
        };
        let limiter = config.max_bytes_per_sec.filter(|b| *b > 0).map(|b| {
            Arc::new(Limiter {
                bytes_per_sec: b,
                next_free: std::sync::Mutex::new(Instant::now()),
            })
        });
        Ok(Store {
            config: config.clone(),
            inner,
            keys,
            limiter,
        })
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Where the store is, for people: a directory or `endpoint/bucket`.
    pub fn location(&self) -> String {
        match self.config.kind {
            StoreKind::Local => self
                .config
                .path
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            StoreKind::S3 => format!(
                "{}/{}",
                self.config
                    .endpoint
                    .as_deref()
                    .unwrap_or_default()
                    .trim_end_matches('/'),
                self.config.bucket.as_deref().unwrap_or_default()
            ),
        }
    }

    /// The encryption key's fingerprint, when the store is encrypted.
    pub fn key_fingerprint(&self) -> Option<&str> {
        self.keys.as_ref().map(Keys::fingerprint)
    }

    fn err(&self, what: impl Into<String>) -> impl FnOnce(object_store::Error) -> StoreError {
        let (store, what) = (self.config.name.clone(), what.into());
        move |source| StoreError::Backend {
            store,
            what,
            source,
        }
    }

    /// The address of content whose SHA-256 is `sha`.
    pub fn address(&self, sha: &[u8; 32]) -> String {
        match &self.keys {
            Some(k) => k.address(sha),
            None => hex::encode(sha),
        }
    }

    /// Bytes the store holds for `size` bytes of content.
    pub fn stored_size(&self, size: u64) -> u64 {
        if self.keys.is_some() {
            crypto::sealed_size(size)
        } else {
            size
        }
    }

    fn object_path(address: &str) -> ObjectPath {
        let fan = address.get(..2).unwrap_or("00");
        ObjectPath::from(format!("objects/{fan}/{address}"))
    }

    /// Writes, reads back and deletes a small object: the keys, the bucket and the network
    /// all work. The error is the service's own words.
    pub async fn test_connection(&self) -> Result<(), StoreError> {
        let mut nonce = [0u8; 8];
        getrandom::getrandom(&mut nonce).map_err(|e| StoreError::Invalid {
            store: self.config.name.clone(),
            message: format!("no randomness: {e}"),
        })?;
        let path = ObjectPath::from(format!("probe/{}", hex::encode(nonce)));
        self.inner
            .put(&path, PutPayload::from_static(b"snapkeep connection test"))
            .await
            .map_err(self.err("cannot write a test object"))?;
        self.inner
            .head(&path)
            .await
            .map_err(self.err("cannot read the test object back"))?;
        self.inner
            .delete(&path)
            .await
            .map_err(self.err("cannot delete the test object"))?;
        Ok(())
    }

    /// The stored size of an object, `None` when it is not in the store.
    pub async fn object_size(&self, address: &str) -> Result<Option<u64>, StoreError> {
        match self.inner.head(&Self::object_path(address)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err(format!("cannot look up object {address}"))(e)),
        }
    }

    /// Uploads `size` bytes of `file` whose SHA-256 is `sha` (as hashed before), unless the
    /// store has an object of that content and size already. The file is read again while it
    /// is sent and must hash the same.
    pub async fn put_file(
        &self,
        mut file: tokio::fs::File,
        size: u64,
        sha: &[u8; 32],
    ) -> Result<Stored, StoreError> {
        let address = self.address(sha);
        let stored = self.stored_size(size);
        if self.object_size(&address).await? == Some(stored) {
            return Ok(Stored { address, sent: 0 });
        }
        let path = Self::object_path(&address);
        let cipher = self.keys.as_ref().map(|k| k.object(sha));
        let chunks = crypto::chunks(size);
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; CHUNK];
        let io = |e| StoreError::Io {
            store: self.config.name.clone(),
            path: format!("the file for object {address}"),
            source: e,
        };
        // Reads the next piece (CHUNK bytes, fewer at the end) and seals it when encrypted.
        let mut read = 0u64;
        let mut index = 0u64;
        let mut next = async |buf: &mut Vec<u8>| -> Result<Option<Vec<u8>>, StoreError> {
            if index >= chunks {
                return Ok(None);
            }
            let want = (size - read).min(CHUNK as u64) as usize;
            file.read_exact(&mut buf[..want]).await.map_err(io)?;
            hasher.update(&buf[..want]);
            read += want as u64;
            let piece = match &cipher {
                Some(c) => c.seal(index, index + 1 == chunks, &buf[..want]),
                None => buf[..want].to_vec(),
            };
            index += 1;
            Ok(Some(piece))
        };
        if stored as usize <= PART {
            let mut body = Vec::with_capacity(stored as usize);
            while let Some(piece) = next(&mut buf).await? {
                body.extend_from_slice(&piece);
            }
            self.same_content(&address, hasher, sha, &mut file).await?;
            if let Some(l) = &self.limiter {
                l.take(body.len()).await;
            }
            self.inner
                .put(&path, PutPayload::from(body))
                .await
                .map_err(self.err(format!("cannot upload object {address}")))?;
        } else {
            let upload = self
                .inner
                .put_multipart(&path)
                .await
                .map_err(self.err(format!("cannot start the upload of object {address}")))?;
            let mut w = WriteMultipart::new_with_chunk_size(upload, PART);
            let sent = async {
                while let Some(piece) = next(&mut buf).await? {
                    w.wait_for_capacity(2)
                        .await
                        .map_err(self.err(format!("cannot upload object {address}")))?;
                    if let Some(l) = &self.limiter {
                        l.take(piece.len()).await;
                    }
                    w.put(Bytes::from(piece));
                }
                Ok::<(), StoreError>(())
            }
            .await;
            let checked = match sent {
                Ok(()) => self.same_content(&address, hasher, sha, &mut file).await,
                Err(e) => Err(e),
            };
            if let Err(e) = checked {
                let _ = w.abort().await;
                return Err(e);
            }
            w.finish()
                .await
                .map_err(self.err(format!("cannot finish the upload of object {address}")))?;
        }
        Ok(Stored {
            address,
            sent: stored,
        })
    }

    /// The bytes just read hash to `sha` and the file has nothing more.
    async fn same_content(
        &self,
        address: &str,
        hasher: Sha256,
        sha: &[u8; 32],
        file: &mut tokio::fs::File,
    ) -> Result<(), StoreError> {
        let mut extra = [0u8; 1];
        let longer = file.read(&mut extra).await.unwrap_or(0) > 0;
        if longer || hasher.finalize().as_slice() != sha {
            return Err(StoreError::Invalid {
                store: self.config.name.clone(),
                message: format!(
                    "the file for object {address} changed while it was uploaded; it was not stored"
                ),
            });
        }
        Ok(())
    }

    /// Reads an object back, opens it when encrypted, and checks its content: `size` bytes
    /// hashing to `sha`. Each piece of content is written to `sink` (when given) as it is
    /// checked chunk by chunk (the whole-content hash can only be checked at the end).
    async fn read_object(
        &self,
        address: &str,
        size: u64,
        sha: &[u8; 32],
        mut sink: Option<(&mut (dyn tokio::io::AsyncWrite + Send + Unpin), &Path)>,
    ) -> Result<(), StoreError> {
        let corrupt = |detail: String| StoreError::Corrupt {
            store: self.config.name.clone(),
            address: address.to_string(),
            detail,
        };
        let got = match self.inner.get(&Self::object_path(address)).await {
            Ok(g) => g,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(StoreError::Missing {
                    store: self.config.name.clone(),
                    address: address.to_string(),
                });
            }
            Err(e) => return Err(self.err(format!("cannot read object {address}"))(e)),
        };
        let stored = self.stored_size(size);
        if got.meta.size != stored {
            return Err(corrupt(format!(
                "it holds {} bytes where {stored} were stored",
                got.meta.size
            )));
        }
        let cipher = self.keys.as_ref().map(|k| k.object(sha));
        let piece = if cipher.is_some() {
            CHUNK + crypto::TAG
        } else {
            CHUNK
        };
        let chunks = crypto::chunks(size);
        let mut hasher = Sha256::new();
        let mut pending: Vec<u8> = Vec::with_capacity(piece);
        let mut index = 0u64;
        let mut stream = got.into_stream();
        loop {
            let next = stream.next().await;
            let done = next.is_none();
            if let Some(bytes) = next {
                let bytes = bytes.map_err(self.err(format!("cannot read object {address}")))?;
                pending.extend_from_slice(&bytes);
            }
            while pending.len() >= piece || (done && !pending.is_empty()) {
                let take = pending.len().min(piece);
                let part: Vec<u8> = pending.drain(..take).collect();
                let plain = match &cipher {
                    Some(c) => c
                        .open(index, index + 1 == chunks, &part)
                        .map_err(|e| corrupt(e.to_string()))?,
                    None => part,
                };
                hasher.update(&plain);
                if let Some((out, path)) = sink.as_mut() {
                    out.write_all(&plain)
                        .await
                        .map_err(|source| StoreError::Io {
                            store: self.config.name.clone(),
                            path: path.display().to_string(),
                            source,
                        })?;
                }
                index += 1;
            }
            if done {
                break;
            }
        }
        if cipher.is_some() && index != chunks {
            return Err(corrupt(format!(
                "{index} chunks where {chunks} were stored"
            )));
        }
        if hasher.finalize().as_slice() != sha {
            return Err(corrupt(
                "its content does not hash to what was uploaded".to_string(),
            ));
        }
        Ok(())
    }

    /// Re-reads an object and checks that it holds the content that was uploaded.
    pub async fn verify(&self, address: &str, size: u64, sha: &[u8; 32]) -> Result<(), StoreError> {
        self.read_object(address, size, sha, None).await
    }

    /// Reads a small object's content (a `schema.cql`) into memory, checked as
    /// [`Store::verify`] does; refuses objects larger than `max` bytes.
    pub async fn read_small(
        &self,
        address: &str,
        size: u64,
        sha: &[u8; 32],
        max: u64,
    ) -> Result<Vec<u8>, StoreError> {
        if size > max {
            return Err(StoreError::Corrupt {
                store: self.config.name.clone(),
                address: address.to_string(),
                detail: format!("it holds {size} bytes, more than the {max} expected"),
            });
        }
        let mut out: Vec<u8> = Vec::with_capacity(size as usize);
        self.read_object(address, size, sha, Some((&mut out, Path::new(address))))
            .await?;
        Ok(out)
    }

    /// Downloads an object's content into `dest` (created new; removed again on any error),
    /// checked as [`Store::verify`] does.
    pub async fn download(
        &self,
        address: &str,
        size: u64,
        sha: &[u8; 32],
        dest: &Path,
    ) -> Result<(), StoreError> {
        let io = |source| StoreError::Io {
            store: self.config.name.clone(),
            path: dest.display().to_string(),
            source,
        };
        let mut out = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dest)
            .await
            .map_err(io)?;
        let written = async {
            self.read_object(address, size, sha, Some((&mut out, dest)))
                .await?;
            out.sync_all().await.map_err(io)
        }
        .await;
        if written.is_err() {
            let _ = tokio::fs::remove_file(dest).await;
        }
        written
    }

    /// Deletes an object (gone already is fine).
    pub async fn delete_object(&self, address: &str) -> Result<(), StoreError> {
        match self.inner.delete(&Self::object_path(address)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err(format!("cannot delete object {address}"))(e)),
        }
    }

    /// Where a manifest goes.
    pub fn manifest_key(node: &str, kind: &str, id: &str) -> String {
        format!("manifests/{node}/{kind}/{id}.json")
    }

    /// Writes a manifest (sealed when the store is encrypted). Call it only once every object
    /// it names is stored and verified.
    pub async fn put_manifest(&self, m: &Manifest) -> Result<String, StoreError> {
        let key = Self::manifest_key(&m.node, &m.kind, &m.id);
        let json = serde_json::to_vec(m).map_err(|e| StoreError::Invalid {
            store: self.config.name.clone(),
            message: format!("cannot write the manifest: {e}"),
        })?;
        let body = match &self.keys {
            Some(k) => {
                let mut salt = [0u8; 32];
                getrandom::getrandom(&mut salt).map_err(|e| StoreError::Invalid {
                    store: self.config.name.clone(),
                    message: format!("no randomness: {e}"),
                })?;
                let cipher = k.object(&salt);
                let mut out = format!("{SEALED_MAGIC} {} {}\n", k.fingerprint(), hex::encode(salt))
                    .into_bytes();
                let chunks = crypto::chunks(json.len() as u64);
                for (i, c) in json.chunks(CHUNK).enumerate() {
                    out.extend(cipher.seal(i as u64, i as u64 + 1 == chunks, c));
                }
                if json.is_empty() {
                    out.extend(cipher.seal(0, true, b""));
                }
                out
            }
            None => json,
        };
        self.inner
            .put(&ObjectPath::from(key.clone()), PutPayload::from(body))
            .await
            .map_err(self.err(format!("cannot write manifest {key}")))?;
        Ok(key)
    }

    /// Reads a manifest (opening it when sealed).
    pub async fn get_manifest(&self, key: &str) -> Result<Manifest, StoreError> {
        let bytes = self
            .inner
            .get(&ObjectPath::from(key))
            .await
            .map_err(self.err(format!("cannot read manifest {key}")))?
            .bytes()
            .await
            .map_err(self.err(format!("cannot read manifest {key}")))?;
        let bad = |detail: String| StoreError::Corrupt {
            store: self.config.name.clone(),
            address: key.to_string(),
            detail,
        };
        let json: Vec<u8> = if bytes.starts_with(SEALED_MAGIC.as_bytes()) {
            let nl = bytes
                .iter()
                .position(|b| *b == b'\n')
                .ok_or_else(|| bad("no header line".into()))?;
            let header = std::str::from_utf8(&bytes[..nl]).map_err(|_| bad("bad header".into()))?;
            let mut parts = header.split(' ').skip(1);
            let (fp, salt) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let Some(k) = &self.keys else {
                return Err(StoreError::WrongKey {
                    store: self.config.name.clone(),
                    what: format!("manifest {key}"),
                    theirs: fp.to_string(),
                    ours: "none (the store is configured without encryption)".into(),
                });
            };
            if fp != k.fingerprint() {
                return Err(StoreError::WrongKey {
                    store: self.config.name.clone(),
                    what: format!("manifest {key}"),
                    theirs: fp.to_string(),
                    ours: k.fingerprint().to_string(),
                });
            }
            let salt: [u8; 32] = hex::decode(salt)
                .ok()
                .and_then(|s| s.try_into().ok())
                .ok_or_else(|| bad("bad salt".into()))?;
            let cipher = k.object(&salt);
            let body = &bytes[nl + 1..];
            let sealed_chunk = CHUNK + crypto::TAG;
            let n = body.len().div_ceil(sealed_chunk).max(1);
            let mut out = Vec::with_capacity(body.len());
            for (i, c) in body.chunks(sealed_chunk).enumerate() {
                out.extend(
                    cipher
                        .open(i as u64, i + 1 == n, c)
                        .map_err(|e| bad(e.to_string()))?,
                );
            }
            out
        } else {
            bytes.to_vec()
        };
        serde_json::from_slice(&json).map_err(|e| bad(format!("not a Snapkeep manifest: {e}")))
    }

    /// Whether a manifest is in the store.
    pub async fn has_manifest(&self, key: &str) -> Result<bool, StoreError> {
        match self.inner.head(&ObjectPath::from(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.err(format!("cannot look up manifest {key}"))(e)),
        }
    }

    /// Every manifest key in the store.
    pub async fn manifest_keys(&self) -> Result<Vec<String>, StoreError> {
        let prefix = ObjectPath::from("manifests");
        let mut out = Vec::new();
        let mut list = self.inner.list(Some(&prefix));
        while let Some(meta) = list.next().await {
            let meta = meta.map_err(self.err("cannot list the manifests"))?;
            let key = meta.location.to_string();
            if key.ends_with(".json") {
                out.push(key);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Deletes a manifest.
    pub async fn delete_manifest(&self, key: &str) -> Result<(), StoreError> {
        match self.inner.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err(format!("cannot delete manifest {key}"))(e)),
        }
    }

    /// Every object address in the store with its stored size.
    pub async fn objects(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let prefix = ObjectPath::from("objects");
        let mut out = Vec::new();
        let mut list = self.inner.list(Some(&prefix));
        while let Some(meta) = list.next().await {
            let meta = meta.map_err(self.err("cannot list the objects"))?;
            if let Some(name) = meta.location.filename() {
                out.push((name.to_string(), meta.size));
            }
        }
        Ok(out)
    }
}

/// SHA-256 and length of a file, read on a blocking thread; the file is handed back at its
/// start for the upload.
pub async fn hash_file(file: std::fs::File) -> std::io::Result<([u8; 32], u64, std::fs::File)> {
    tokio::task::spawn_blocking(move || {
        use std::io::{Read as _, Seek as _};
        let mut file = file;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; CHUNK];
        let mut len = 0u64;
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            len += n as u64;
        }
        file.rewind()?;
        Ok((hasher.finalize().into(), len, file))
    })
    .await
    .unwrap_or_else(|e| {
        Err(std::io::Error::other(format!(
            "the hashing task failed: {e}"
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backups::manifest::{ManifestFile, ManifestTable};

    fn local(dir: &Path, key: Option<&Path>) -> Store {
        let mut c = default_local(dir);
        c.encryption_key_file = key.map(Path::to_path_buf);
        Store::open(&c).expect("open")
    }

    async fn put(store: &Store, path: &Path) -> ([u8; 32], u64, Stored) {
        let f = std::fs::File::open(path).expect("open");
        let (sha, len, f) = hash_file(f).await.expect("hash");
        let stored = store
            .put_file(tokio::fs::File::from_std(f), len, &sha)
            .await
            .expect("put");
        (sha, len, stored)
    }

    async fn round_trip(key: bool) {
        let dir = tempfile::tempdir().expect("tempdir");
        let key_file = dir.path().join("key");
        std::fs::write(&key_file, "11".repeat(32)).expect("key");
        let store = local(&dir.path().join("s"), key.then_some(key_file.as_path()));
        for size in [0usize, 5, CHUNK, CHUNK + 7, PART + 3 * CHUNK + 1] {
            let src = dir.path().join(format!("f{size}"));
            let content: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            std::fs::write(&src, &content).expect("write");
            let (sha, len, first) = put(&store, &src).await;
            assert_eq!(first.sent, store.stored_size(size as u64));
            assert_eq!(put(&store, &src).await.2.sent, 0, "sent once");
            store
                .verify(&first.address, len, &sha)
                .await
                .expect("verify");
            let back = dir.path().join(format!("back{size}"));
            store
                .download(&first.address, len, &sha, &back)
                .await
                .expect("download");
            assert_eq!(std::fs::read(&back).expect("read"), content);
            // Corrupt the stored object: verify names it; a download leaves nothing.
            let obj = dir
                .path()
                .join("s/store/objects")
                .join(&first.address[..2])
                .join(&first.address);
            let mut bytes = std::fs::read(&obj).expect("object");
            let at = bytes.len() / 2;
            if bytes.is_empty() {
                bytes.push(1);
            } else {
                bytes[at] ^= 0x40;
            }
            std::fs::write(&obj, &bytes).expect("corrupt");
            let e = store
                .verify(&first.address, len, &sha)
                .await
                .expect_err("corrupt");
            assert!(e.to_string().contains(&first.address), "{e}");
            let again = dir.path().join(format!("again{size}"));
            assert!(
                store
                    .download(&first.address, len, &sha, &again)
                    .await
                    .is_err()
            );
            assert!(!again.exists());
            std::fs::remove_file(&obj).expect("delete");
            let e = store
                .verify(&first.address, len, &sha)
                .await
                .expect_err("missing");
            assert!(matches!(e, StoreError::Missing { .. }), "{e}");
        }
    }

    #[tokio::test]
    async fn files_round_trip_once_each_plain() {
        round_trip(false).await;
    }

    #[tokio::test]
    async fn files_round_trip_once_each_encrypted() {
        round_trip(true).await;
    }

    #[tokio::test]
    async fn encrypted_objects_and_manifests_hold_no_plaintext_and_need_the_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key_file = dir.path().join("key");
        std::fs::write(&key_file, "22".repeat(32)).expect("key");
        let store = local(&dir.path().join("s"), Some(&key_file));
        let src = dir.path().join("rows");
        std::fs::write(
            &src,
            "customer alice@example.com ordered 3 widgets".repeat(100),
        )
        .expect("write");
        let (sha, len, stored) = put(&store, &src).await;
        let m = Manifest {
            format: 1,
            kind: "snapshot".into(),
            id: "nightly".into(),
            node: "node1".into(),
            host_id: None,
            created_at: 1,
            key_fingerprint: store.key_fingerprint().map(str::to_string),
            schema_version: None,
            tables: vec![ManifestTable {
                keyspace: "shop".into(),
                table: "customers_alice".into(),
                table_id: "0123456789abcdef0123456789abcdef".into(),
                files: vec![ManifestFile {
                    name: "nb-1-big-Data.db".into(),
                    size: len,
                    sha256: hex::encode(sha),
                    address: stored.address.clone(),
                }],
            }],
        };
        let key = store.put_manifest(&m).await.expect("manifest");
        assert_eq!(store.get_manifest(&key).await.expect("read"), m);
        for entry in walk(&dir.path().join("s")) {
            let bytes = std::fs::read(&entry).expect("read");
            for needle in [
                &b"alice"[..],
                b"widgets",
                b"customers_alice",
                sha.as_slice(),
            ] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "{} holds plaintext",
                    entry.display()
                );
            }
        }
        std::fs::write(&key_file, "33".repeat(32)).expect("other key");
        let other = local(&dir.path().join("s"), Some(&key_file));
        let e = other.get_manifest(&key).await.expect_err("wrong key");
        assert!(
            matches!(e, StoreError::WrongKey { .. })
                && e.to_string().contains("encrypted with key"),
            "{e}"
        );
        let plain = local(&dir.path().join("s"), None);
        assert!(matches!(
            plain.get_manifest(&key).await.expect_err("no key"),
            StoreError::WrongKey { .. }
        ));
        assert_eq!(store.manifest_keys().await.expect("list"), vec![key]);
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).expect("read").flatten() {
            if e.file_type().expect("type").is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
        out
    }

    #[test]
    fn s3_stores_need_a_key_or_an_explicit_no() {
        let mut c = default_local(Path::new("/x"));
        c.kind = StoreKind::S3;
        c.endpoint = Some("http://127.0.0.1:1".into());
        c.bucket = Some("b".into());
        let e = c.check().expect_err("no key");
        assert!(e.contains("lost key means lost backups"), "{e}");
        c.encrypt = Some(false);
        c.check().expect("explicitly plain");
        c.name = "bad name".into();
        assert!(c.check().is_err());
    }
}
