//! The CLI against an `https://` server: the real router served in-process over TLS with a
//! self-signed certificate made by rcgen. No Cassandra: only the API client and the `snapkeep
//! restore list` command are exercised.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use snapkeep::catalog::Catalog;
use snapkeep::client::{ApiClient, ClientError};
use snapkeep::config::HttpConfig;
use snapkeep::http::{AppState, app};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// Accepts TCP connections and completes the TLS handshake; failed handshakes (a client that
/// refused the certificate) are skipped.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

struct Server {
    url: String,
    /// The server's certificate as PEM, in a file (the "private CA" of the tests).
    ca_file: PathBuf,
    token: String,
    _dir: tempfile::TempDir,
}

/// Serves the router over TLS on a free loopback port with a new self-signed certificate for
/// `localhost` and `127.0.0.1`.
async fn https_server() -> Server {
    use snapkeep::auth::{Role, store};
    let dir = tempfile::tempdir().expect("tempdir");
    let catalog = Catalog::open(&dir.path().join("catalog.db"))
        .await
        .expect("catalog");
    store::add_user(catalog.pool(), "admin", Role::Admin, "a long test password")
        .await
        .expect("user");
    let (token, _) = store::create_token(catalog.pool(), "admin", "tests", None)
        .await
        .expect("token");

    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("self-signed certificate");
    let ca_file = dir.path().join("server-ca.pem");
    std::fs::write(&ca_file, cert.cert.pem()).expect("write CA file");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        cert.signing_key.serialize_der(),
    ));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .expect("server certificate");

    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = tcp.local_addr().expect("addr");
    let state = AppState::new(catalog, vec![], dir.path(), addr);
    let router = app(state, &HttpConfig::default());
    let listener = TlsListener {
        tcp,
        acceptor: TlsAcceptor::from(Arc::new(config)),
    };
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Server {
        url: format!("https://127.0.0.1:{}", addr.port()),
        ca_file,
        token,
        _dir: dir,
    }
}

#[tokio::test]
async fn the_client_trusts_a_private_ca_given_with_ca_file() {
    let s = https_server().await;
    let client =
        ApiClient::with_ca_file(&s.url, Some(s.token.clone()), Some(&s.ca_file)).expect("client");
    assert_eq!(client.insecure_token_warning(), None);
    let restores: serde_json::Value = client
        .call(axum::http::Method::GET, "/api/v1/restores", None)
        .await
        .expect("request over https");
    assert_eq!(restores, serde_json::json!([]));
}

#[tokio::test]
async fn without_the_ca_the_error_names_the_certificate_problem() {
    let s = https_server().await;
    let client = ApiClient::with_ca_file(&s.url, Some(s.token.clone()), None).expect("client");
    let err = client
        .call::<serde_json::Value>(axum::http::Method::GET, "/api/v1/restores", None)
        .await
        .expect_err("an unknown CA must be refused");
    assert!(matches!(err, ClientError::Certificate { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("unknown certificate authority"), "{msg}");
    assert!(msg.contains("--ca-file"), "{msg}");

    // Another CA than the server's is no better.
    let other =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let other_ca = s._dir.path().join("other-ca.pem");
    std::fs::write(&other_ca, other.cert.pem()).expect("write");
    let client =
        ApiClient::with_ca_file(&s.url, Some(s.token.clone()), Some(&other_ca)).expect("client");
    let err = client
        .call::<serde_json::Value>(axum::http::Method::GET, "/api/v1/restores", None)
        .await
        .expect_err("a foreign CA must be refused");
    assert!(matches!(err, ClientError::Certificate { .. }), "{err:?}");
}

/// Runs the `snapkeep` binary with a clean environment for the CLI's variables.
async fn snapkeep(args: &[&str], token: &str) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_snapkeep"))
        .args(args)
        .env("SNAPKEEP_TOKEN", token)
        .env_remove("SNAPKEEP_SERVER")
        .env_remove("SNAPKEEP_CA_FILE")
        .output()
        .await
        .expect("run snapkeep");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

#[tokio::test]
async fn the_cli_speaks_https_and_says_in_one_line_why_it_cannot() {
    let s = https_server().await;
    let (ok, stdout, stderr) = snapkeep(
        &[
            "restore",
            "list",
            "--json",
            "--server",
            &s.url,
            "--ca-file",
            path(&s.ca_file),
        ],
        &s.token,
    )
    .await;
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), "[]");
    assert_eq!(stderr, "", "no warning over https");

    let (ok, _, stderr) = snapkeep(&["restore", "list", "--server", &s.url], &s.token).await;
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("unknown certificate authority"), "{stderr}");

    let missing = s._dir.path().join("missing.pem");
    let (ok, _, stderr) = snapkeep(
        &[
            "snapshot",
            "list",
            "--server",
            &s.url,
            "--ca-file",
            path(&missing),
        ],
        &s.token,
    )
    .await;
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("--ca-file") && stderr.contains("missing.pem"),
        "{stderr}"
    );
}
