//! The CLI against an `https://` server: the real router served in-process over TLS with a
//! self-signed certificate made by rcgen. No Cassandra: only the API client and the `snapkeep
//! restore list` command are exercised.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use snapkeep::cli::client::{ApiClient, ClientError};
use support::{TestApp, snapkeep};
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
    app: TestApp,
}

/// Serves the router over TLS on a free loopback port with a new self-signed certificate for
/// `localhost` and `127.0.0.1`.
async fn https_server() -> Server {
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = tcp.local_addr().expect("addr");
    let app = TestApp::init().listening_on(addr).build().await;
    let token = app.token(support::app::ADMIN).to_string();

    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("self-signed certificate");
    let ca_file = app.dir().join("server-ca.pem");
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

    let router = app.router().clone();
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
        app,
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
    let other_ca = s.app.dir().join("other-ca.pem");
    std::fs::write(&other_ca, other.cert.pem()).expect("write");
    let client =
        ApiClient::with_ca_file(&s.url, Some(s.token.clone()), Some(&other_ca)).expect("client");
    let err = client
        .call::<serde_json::Value>(axum::http::Method::GET, "/api/v1/restores", None)
        .await
        .expect_err("a foreign CA must be refused");
    assert!(matches!(err, ClientError::Certificate { .. }), "{err:?}");
}

/// Runs `snapkeep ARGS` with `SNAPKEEP_TOKEN=token`: (success, stdout, stderr).
async fn run(args: &[&str], token: &str) -> (bool, String, String) {
    let run = snapkeep(args).token(token).run().await;
    (run.code == 0, run.stdout, run.stderr)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

#[tokio::test]
async fn the_cli_speaks_https_and_says_in_one_line_why_it_cannot() {
    let s = https_server().await;
    let (ok, stdout, stderr) = run(
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

    let (ok, _, stderr) = run(&["restore", "list", "--server", &s.url], &s.token).await;
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("unknown certificate authority"), "{stderr}");

    let missing = s.app.dir().join("missing.pem");
    let (ok, _, stderr) = run(
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
