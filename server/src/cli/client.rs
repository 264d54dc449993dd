//! The CLI's side of the REST API: the client `snapkeep snapshot …` and `snapkeep restore …`
//! talk to a running server with (`--server URL`, default `$SNAPKEEP_SERVER` or
//! http://127.0.0.1:3000), the token in `$SNAPKEEP_TOKEN`; the commands print for people or
//! `--json` for scripts, and exit non-zero with the server's message when a request is
//! refused.
//!
//! `https://` servers are checked with rustls against the system's root certificates, or
//! against the CA certificates of `--ca-file PEM` for a private CA; a certificate that cannot
//! be trusted ends the command with one line saying why.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use app::api::JobDto;
use axum::body::Bytes;
use axum::http::{Method, Request, header};
use http_body_util::{BodyExt as _, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use serde::de::DeserializeOwned;

use crate::escape::url_component;

/// Why a CLI request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "`{0}` is not a server URL; write it like http://127.0.0.1:3000 or https://snapkeep.example.com"
    )]
    BadUrl(String),
    #[error(
        "cannot reach the Snapkeep server at {url}: {detail} (is `snapkeep serve` running? set --server or SNAPKEEP_SERVER)"
    )]
    Unreachable { url: String, detail: String },
    #[error("cannot trust the Snapkeep server at {url}: {reason}")]
    Certificate { url: String, reason: String },
    #[error("TLS with the Snapkeep server at {url} failed: {detail}")]
    Tls { url: String, detail: String },
    #[error("--ca-file {}: {detail}", path.display())]
    CaFile { path: PathBuf, detail: String },
    #[error("no trusted root certificates: {0}; pass --ca-file with the server's CA certificate")]
    NoRoots(String),
    #[error("the server refused: {message} (HTTP {status})")]
    Refused { status: u16, message: String },
    #[error("unexpected answer from {url}: {detail}")]
    BadAnswer { url: String, detail: String },
    #[error("{0}")]
    JobFailed(String),
}

/// A client of one Snapkeep server.
pub struct ApiClient {
    base: String,
    token: Option<String>,
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

/// Reads the CA certificates of a PEM file (every `CERTIFICATE` block in it).
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    let bad = |detail: String| ClientError::CaFile {
        path: path.to_path_buf(),
        detail,
    };
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => bad("no such file".into()),
        _ => bad(format!("cannot read it: {e}")),
    })?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not a PEM file: {e}")))?;
    if certs.is_empty() {
        return Err(bad(
            "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    Ok(certs)
}

/// The roots an `https://` server's certificate must chain to: the CA file's certificates when
/// one is given, else the system's.
fn root_store(ca_file: Option<&Path>) -> Result<rustls::RootCertStore, ClientError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            for cert in read_ca_file(path)? {
                roots.add(cert).map_err(|e| ClientError::CaFile {
                    path: path.to_path_buf(),
                    detail: format!("not a usable CA certificate: {e}"),
                })?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                let why = found
                    .errors
                    .first()
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| {
                        "the system has none (is ca-certificates installed?)".into()
                    });
                return Err(ClientError::NoRoots(why));
            }
        }
    }
    Ok(roots)
}

/// The TLS settings: rustls with the ring provider, TLS 1.2 and 1.3, no client certificate.
fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, ClientError> {
    let roots = root_store(ca_file)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls {
            url: String::new(),
            detail: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// Whether `host` (from a URL) is this machine.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The warning to print before a token is sent over plain HTTP to another machine.
pub fn plain_http_token_warning(base: &str, has_token: bool) -> Option<String> {
    let uri = base.parse::<axum::http::Uri>().ok()?;
    let host = uri.host()?;
    (has_token && uri.scheme_str() == Some("http") && !is_loopback(host)).then(|| {
        format!(
            "warning: sending the API token to {host} over plain http; anyone on the network path can read it. Serve Snapkeep behind https and use --server https://…"
        )
    })
}

/// The one-line reason for a certificate rustls refused.
fn certificate_reason(e: &rustls::CertificateError, host: &str) -> String {
    use rustls::CertificateError as C;
    match e {
        C::UnknownIssuer => "its certificate is signed by an unknown certificate authority (self-signed, or a private CA?); pass --ca-file with the CA's PEM certificate".into(),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            format!("its certificate is not valid for the host name `{host}`")
        }
        C::Expired | C::ExpiredContext { .. } => "its certificate has expired".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => "its certificate is not valid yet (check the clocks)".into(),
        C::Revoked => "its certificate has been revoked".into(),
        C::BadSignature | C::BadEncoding => "its certificate is malformed or badly signed".into(),
        other => format!("its certificate was refused ({other:?})"),
    }
}

/// The rustls error somewhere in an error's chain, looking inside `io::Error`s too (the TLS
/// connector wraps rustls's error in an `io::Error` twice, which `source()` skips).
fn find_tls_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(t) = err.downcast_ref::<rustls::Error>() {
        return Some(t);
    }
    if let Some(inner) = err
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
        && let Some(t) = find_tls_error(inner)
    {
        return Some(t);
    }
    err.source().and_then(find_tls_error)
}

/// `?k=v&…` of the pairs whose value is set.
pub fn query_string(pairs: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", url_component(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

impl ApiClient {
    /// A client of `server` (`http://…` or `https://…` checked against the system's roots).
    pub fn new(server: &str, token: Option<String>) -> Result<Self, ClientError> {
        Self::with_ca_file(server, token, None)
    }

    /// A client of `server`; an `https://` server's certificate must chain to a certificate
    /// of `ca_file` (PEM) when given, else to the system's roots. `ca_file` is not read for
    /// an `http://` server.
    pub fn with_ca_file(
        server: &str,
        token: Option<String>,
        ca_file: Option<&Path>,
    ) -> Result<Self, ClientError> {
        let base = server.trim().trim_end_matches('/').to_string();
        let https = base.starts_with("https://");
        let scheme_len = if https { "https://" } else { "http://" }.len();
        let ok = (https || base.starts_with("http://"))
            && base.len() > scheme_len
            && base
                .parse::<axum::http::Uri>()
                .is_ok_and(|u| u.host().is_some_and(|h| !h.is_empty()));
        if !ok {
            return Err(ClientError::BadUrl(server.to_string()));
        }
        let connector = if https {
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(tls_config(ca_file)?)
                .https_only()
                .enable_http1()
                .build()
        } else {
            // No TLS settings are needed (nor the CA file read) for a plain server.
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::Tls {
                url: base.clone(),
                detail: e.to_string(),
            })?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(config)
                .https_or_http()
                .enable_http1()
                .build()
        };
        Ok(Self {
            base,
            token: token.filter(|t| !t.is_empty()),
            http: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// A warning to show before using this client, when it would send the token over plain
    /// HTTP to another machine.
    pub fn insecure_token_warning(&self) -> Option<String> {
        plain_http_token_warning(&self.base, self.token.is_some())
    }

    /// Turns a failed request into the error a user can act on.
    fn request_error(&self, e: &hyper_util::client::legacy::Error) -> ClientError {
        if let Some(tls) = find_tls_error(e) {
            let host = self
                .base
                .parse::<axum::http::Uri>()
                .ok()
                .and_then(|u| u.host().map(str::to_string))
                .unwrap_or_default();
            return match tls {
                rustls::Error::InvalidCertificate(c) => ClientError::Certificate {
                    url: self.base.clone(),
                    reason: certificate_reason(c, &host),
                },
                other => ClientError::Tls {
                    url: self.base.clone(),
                    detail: format!("{other} (does the server speak https on that port?)"),
                },
            };
        }
        ClientError::Unreachable {
            url: self.base.clone(),
            detail: std::error::Error::source(e)
                .map(|s| s.to_string())
                .unwrap_or_else(|| e.to_string()),
        }
    }

    /// Sends a request and decodes a JSON answer; non-2xx answers become
    /// [`ClientError::Refused`] with the server's message.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut req = Request::builder()
            .method(method)
            .uri(&url)
            .header(header::ACCEPT, "application/json");
        if let Some(t) = &self.token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Full::new(Bytes::from(v.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        let req = req
            .body(body)
            .map_err(|_| ClientError::BadUrl(url.clone()))?;
        let res = tokio::time::timeout(Duration::from_secs(60), self.http.request(req))
            .await
            .map_err(|_| ClientError::Unreachable {
                url: self.base.clone(),
                detail: "no answer within 60 s".into(),
            })?
            .map_err(|e| self.request_error(&e))?;
        let status = res.status();
        let bytes = res
            .into_body()
            .collect()
            .await
            .map_err(|e| ClientError::BadAnswer {
                url: url.clone(),
                detail: e.to_string(),
            })?
            .to_bytes();
        if !status.is_success() {
            let message = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| {
                    v.get("message")
                        .and_then(|m| m.as_str())
                        .map(str::to_string)
                })
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(500).collect());
            return Err(ClientError::Refused {
                status: status.as_u16(),
                message,
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| ClientError::BadAnswer {
            url,
            detail: e.to_string(),
        })
    }

    /// Polls a job until it finishes, printing its progress messages to stderr unless `quiet`.
    pub async fn wait(&self, job: JobDto, quiet: bool) -> Result<JobDto, ClientError> {
        let mut last = String::new();
        let mut job = job;
        loop {
            if !quiet && job.message != last && !job.message.is_empty() {
                eprintln!("{:>3.0} %  {}", job.progress * 100.0, job.message);
                last = job.message.clone();
            }
            if job.finished() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            job = self
                .call(Method::GET, &format!("/api/v1/jobs/{}", job.id), None)
                .await?;
        }
        match job.state.as_str() {
            "done" => Ok(job),
            _ => Err(ClientError::JobFailed(format!(
                "job {} {}: {}",
                job.id,
                job.state,
                job.error.clone().unwrap_or_else(|| job.message.clone())
            ))),
        }
    }
}

/// The API client of the snapshot and restore commands (token from $SNAPKEEP_TOKEN); warns on
/// stderr before a token would travel over plain http to another machine.
pub(super) fn api_client(server: &str, ca_file: Option<&Path>) -> Result<ApiClient, ClientError> {
    let token = std::env::var("SNAPKEEP_TOKEN").ok();
    let client = ApiClient::with_ca_file(server, token, ca_file)?;
    if let Some(warning) = client.insecure_token_warning() {
        eprintln!("snapkeep: {warning}");
    }
    Ok(client)
}

/// Runs one command against `server` on a runtime of its own, with the client [`api_client`]
/// makes.
pub(super) fn run_with_client<F, Fut>(
    server: &str,
    ca_file: Option<&Path>,
    command: F,
) -> anyhow::Result<()>
where
    F: FnOnce(ApiClient) -> Fut,
    Fut: std::future::Future<Output = Result<(), ClientError>>,
{
    use anyhow::Context as _;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let client = api_client(server, ca_file)?;
        command(client).await?;
        Ok(())
    })
}

/// Prints an answer as pretty JSON, for `--json`.
pub(super) fn print_json<T: serde::Serialize>(v: &T) -> Result<(), ClientError> {
    let text = serde_json::to_string_pretty(v).map_err(|e| ClientError::BadAnswer {
        url: String::new(),
        detail: e.to_string(),
    })?;
    println!("{text}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_percent_encoded() {
        assert_eq!(
            query_string(&[
                ("a", Some("1".into())),
                ("b", None),
                ("c", Some("x&y".into()))
            ]),
            "?a=1&c=x%26y"
        );
        assert_eq!(query_string(&[("a", None)]), "");
    }

    #[test]
    fn only_http_and_https_urls_are_accepted() {
        assert!(ApiClient::new("http://127.0.0.1:3000/", None).is_ok());
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = dir.path().join("ca.pem");
        let cert =
            rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
        std::fs::write(&ca, cert.cert.pem()).expect("write");
        assert!(ApiClient::with_ca_file("https://localhost:3443", None, Some(&ca)).is_ok());
        for bad in ["", "127.0.0.1:3000", "ftp://x", "http://", "https://"] {
            assert!(ApiClient::new(bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn certificate_errors_are_found_inside_wrapped_io_errors() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let wrapped = std::io::Error::other(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            tls.clone(),
        ));
        assert_eq!(find_tls_error(&wrapped), Some(&tls));
        assert_eq!(find_tls_error(&std::io::Error::other("refused")), None);
    }

    #[test]
    fn a_missing_or_empty_ca_file_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope.pem");
        let err = ApiClient::with_ca_file("https://localhost:3443", None, Some(&missing))
            .err()
            .expect("missing CA file");
        let msg = err.to_string();
        assert!(msg.starts_with("--ca-file "), "{msg}");
        assert!(
            msg.contains("nope.pem") && msg.contains("no such file"),
            "{msg}"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "just text\n").expect("write");
        let err = ApiClient::with_ca_file("https://localhost:3443", None, Some(&empty))
            .err()
            .expect("no certificate");
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
        // A plain server needs no CA file, so a wrong one is not read.
        assert!(ApiClient::with_ca_file("http://127.0.0.1:3000", None, Some(&missing)).is_ok());
    }

    #[test]
    fn a_token_sent_over_plain_http_to_another_host_is_warned_about() {
        let w = plain_http_token_warning("http://db-admin.example:3000", true).expect("warning");
        assert!(
            w.contains("db-admin.example") && w.contains("plain http"),
            "{w}"
        );
        assert!(plain_http_token_warning("http://10.1.2.3:3000", true).is_some());
        for quiet in [
            ("http://127.0.0.1:3000", true),
            ("http://127.0.0.9:3000", true),
            ("http://localhost:3000", true),
            ("http://[::1]:3000", true),
            ("https://db-admin.example", true),
            ("http://db-admin.example:3000", false),
        ] {
            assert_eq!(
                plain_http_token_warning(quiet.0, quiet.1),
                None,
                "{quiet:?}"
            );
        }
    }
}
