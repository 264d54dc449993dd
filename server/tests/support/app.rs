//! [`TestApp`]: the real router (`snapkeep::http::app`) over a fresh catalog in a temporary
//! state directory, a user and an API token per role, and the calls tests make through it
//! with `tower::ServiceExt::oneshot` (no socket). The same catalog can also be served for
//! the CLI: in this process ([`TestApp::serve`]) or as a `snapkeep serve` child
//! ([`TestApp::config_file`] with [`super::ServerProcess`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use snapkeep::auth::middleware::AuthState;
use snapkeep::auth::{Role, store};
use snapkeep::catalog::Catalog;
use snapkeep::config::{HttpConfig, NodeConfig};
use snapkeep::http::AppState;
use tower::ServiceExt as _;

/// The password of every user the harness makes.
pub const PASSWORD: &str = "a long enough password";

/// The users of every [`TestApp`]: name and role. `olga` requests restores, `bob` approves
/// them, `ada` may do anything, `vic` only reads.
pub const VIEWER: &str = "vic";
pub const OPERATOR: &str = "olga";
pub const APPROVER: &str = "bob";
pub const ADMIN: &str = "ada";
const USERS: [(&str, Role); 4] = [
    (VIEWER, Role::Viewer),
    (OPERATOR, Role::Operator),
    (APPROVER, Role::Approver),
    (ADMIN, Role::Admin),
];

/// Building a router generates Leptos's route list, which suspends resource loading for the
/// whole process while it runs: a page rendered by another test at that moment would wait for
/// ever (leptos-rs/leptos#4773). Routers are built under the write lock, requests run under
/// the read lock. (A server builds its router once, before it serves.)
static ROUTES: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// What a [`TestApp`] is made of.
pub struct TestAppBuilder {
    nodes: Vec<NodeConfig>,
    stores: Vec<snapkeep::backups::StoreConfig>,
    addr: SocketAddr,
}

impl TestAppBuilder {
    /// Watches `node` (the default is no node at all).
    pub fn with_node(mut self, node: NodeConfig) -> Self {
        self.nodes.push(node);
        self
    }

    /// Uploads go to `store` (the default is one local store in the test's directory).
    pub fn with_store(mut self, store: snapkeep::backups::StoreConfig) -> Self {
        self.stores.push(store);
        self
    }

    /// The address the server says it listens on (Leptos's `site_addr`).
    pub fn listening_on(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// A fresh catalog with the four users and a token each, and the router over it.
    pub async fn build(self) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let catalog = Catalog::open(&dir.path().join(snapkeep::config::CATALOG_FILE))
            .await
            .expect("catalog");
        let mut tokens = Vec::new();
        for (name, role) in USERS {
            tokens.push((name, add_user(catalog.pool(), name, role).await));
        }
        let stores = if self.stores.is_empty() {
            vec![snapkeep::backups::store::default_local(dir.path())]
        } else {
            self.stores
        };
        let state = Arc::new(State {
            dir,
            catalog,
            addr: self.addr,
            tokens,
            stores,
        });
        TestApp::over(state, self.nodes).await
    }
}

/// Adds a user with [`PASSWORD`] and returns a token of theirs.
async fn add_user(pool: &sqlx::SqlitePool, name: &str, role: Role) -> String {
    store::add_user(pool, name, role, PASSWORD)
        .await
        .expect("user");
    store::create_token(pool, name, "tests", None)
        .await
        .expect("token")
        .0
}

/// What every router of one test shares: the state directory, the catalog, the tokens.
struct State {
    dir: tempfile::TempDir,
    catalog: Catalog,
    addr: SocketAddr,
    tokens: Vec<(&'static str, String)>,
    stores: Vec<snapkeep::backups::StoreConfig>,
}

/// The application under test; clones share everything.
#[derive(Clone)]
pub struct TestApp {
    router: axum::Router,
    app_state: AppState,
    nodes: Vec<NodeConfig>,
    state: Arc<State>,
}

impl TestApp {
    pub fn init() -> TestAppBuilder {
        TestAppBuilder {
            nodes: Vec::new(),
            stores: Vec::new(),
            addr: "127.0.0.1:0".parse().expect("addr"),
        }
    }

    /// An application that watches no node.
    pub async fn empty() -> Self {
        Self::init().build().await
    }

    async fn over(state: Arc<State>, nodes: Vec<NodeConfig>) -> Self {
        let config = snapkeep::http::ServiceConfig {
            nodes: nodes.clone(),
            stores: state.stores.clone(),
            ..Default::default()
        };
        let app_state =
            AppState::build(state.catalog.clone(), config, state.dir.path(), state.addr);
        let router = {
            let _building = ROUTES.write().await;
            snapkeep::http::app(app_state.clone(), &HttpConfig::default())
        };
        Self {
            router,
            app_state,
            nodes,
            state,
        }
    }

    /// Another router over the same catalog and users, watching `nodes` instead.
    pub async fn with_nodes(&self, nodes: Vec<NodeConfig>) -> Self {
        Self::over(self.state.clone(), nodes).await
    }

    pub fn router(&self) -> &axum::Router {
        &self.router
    }
    pub fn pool(&self) -> &sqlx::SqlitePool {
        self.state.catalog.pool()
    }
    pub fn auth(&self) -> &AuthState {
        &self.app_state.auth
    }
    /// The state directory (the catalog is `catalog.db` in it).
    pub fn dir(&self) -> &Path {
        self.state.dir.path()
    }

    /// The API token of the user `name` made by the harness.
    pub fn token(&self, name: &str) -> &str {
        self.state
            .tokens
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| t.as_str())
            .unwrap_or_else(|| panic!("the harness made no user {name}"))
    }

    /// Adds another user (with [`PASSWORD`]) and returns their token.
    pub async fn add_user(&self, name: &str, role: Role) -> String {
        add_user(self.pool(), name, role).await
    }

    pub fn viewer(&self) -> Caller<'_> {
        self.caller(self.token(VIEWER))
    }
    pub fn operator(&self) -> Caller<'_> {
        self.caller(self.token(OPERATOR))
    }
    pub fn approver(&self) -> Caller<'_> {
        self.caller(self.token(APPROVER))
    }
    pub fn admin(&self) -> Caller<'_> {
        self.caller(self.token(ADMIN))
    }
    /// Calls signed with `token`.
    pub fn caller<'a>(&'a self, token: &str) -> Caller<'a> {
        Caller {
            app: self,
            token: Some(token.to_string()),
        }
    }
    /// Calls without identity.
    pub fn anonymous(&self) -> Caller<'_> {
        Caller {
            app: self,
            token: None,
        }
    }

    /// A request to the router, built up by the test and sent with [`Call::send`].
    pub fn request(&self, method: Method, uri: &str) -> Call<'_> {
        Call {
            app: self,
            req: Request::builder().method(method).uri(uri),
            body: Body::empty(),
            peer: None,
        }
    }

    /// Calls as the admin: the answer's status and JSON (null if not JSON).
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.admin().call(method, uri, body).await
    }
    pub async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.admin().get(uri).await
    }
    pub async fn post(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        self.admin().post(uri, body).await
    }
    pub async fn delete(&self, uri: &str) -> (StatusCode, Value) {
        self.admin().delete(uri).await
    }
    /// A GET as the admin, the whole answer (for text, CSV, SVG and pages).
    pub async fn fetch(&self, uri: &str) -> Answer {
        self.admin().fetch(uri).await
    }

    /// Polls job `id` until it ends (two minutes at most).
    pub async fn wait_job(&self, id: &Value) -> Value {
        for _ in 0..1200 {
            let (status, job) = self.get(&format!("/api/v1/jobs/{id}")).await;
            assert_eq!(status, StatusCode::OK, "{job}");
            if matches!(
                job["state"].as_str(),
                Some("done" | "failed" | "interrupted")
            ) {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("job {id} did not finish");
    }

    /// Polls restore request `id` until it no longer runs (three minutes at most).
    pub async fn wait_restore(&self, id: &Value) -> Value {
        self.wait_restore_within(id, Duration::from_secs(180)).await
    }

    pub async fn wait_restore_within(&self, id: &Value, within: Duration) -> Value {
        let started = std::time::Instant::now();
        while started.elapsed() < within {
            let (_, v) = self.get(&format!("/api/v1/restores/{id}")).await;
            if v["state"] != "running" {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (_, v) = self.get(&format!("/api/v1/restores/{id}")).await;
        panic!(
            "restore {id} did not finish within {} s; its journal: {}",
            within.as_secs(),
            v["steps"]
        );
    }

    /// Takes a snapshot through the API and waits until its job is done: the 202 answer.
    pub async fn take_snapshot(&self, body: Value) -> Value {
        let (status, v) = self.post("/api/v1/snapshots", body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{v}");
        let job = self.wait_job(&v["job"]["id"]).await;
        assert_eq!(job["state"], "done", "{job}");
        v
    }

    /// Scans every node and waits until the scan is done.
    pub async fn rescan(&self) {
        let (status, v) = self.call(Method::POST, "/api/v1/scans", None).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{v}");
        let job = self.wait_job(&v["id"]).await;
        assert_eq!(job["state"], "done", "{job}");
    }

    /// Approves restore request `id` as the approver with `comment`: the request (asserts 200).
    pub async fn approve(&self, id: &Value, comment: &str) -> Value {
        let (status, v) = self
            .approver()
            .post(
                &format!("/api/v1/restores/{id}/approve"),
                json!({ "comment": comment }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v
    }

    /// Executes approved restore request `id` as the operator: the request (asserts 202).
    pub async fn execute(&self, id: &Value) -> Value {
        let (status, v) = self
            .operator()
            .call(
                Method::POST,
                &format!("/api/v1/restores/{id}/execute"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{v}");
        v
    }

    /// Requests a restore (operator), approves it (approver), executes it (operator) and
    /// waits: the finished request.
    pub async fn request_approve_execute(&self, body: Value) -> Value {
        let (status, req) = self.operator().post("/api/v1/restores", body).await;
        assert_eq!(status, StatusCode::CREATED, "{req}");
        let id = &req["id"];
        self.approve(id, "").await;
        self.execute(id).await;
        self.wait_restore(id).await
    }

    /// A configuration file for `snapkeep serve` over this catalog and these nodes, listening
    /// on a free port.
    pub fn config_file(&self) -> PathBuf {
        #[derive(serde::Serialize)]
        struct ConfigFile<'a> {
            listen: &'a str,
            state_dir: &'a Path,
            nodes: &'a [NodeConfig],
            stores: &'a [snapkeep::backups::StoreConfig],
        }
        let path = self.dir().join("snapkeep.toml");
        let text = toml::to_string(&ConfigFile {
            listen: "127.0.0.1:0",
            state_dir: self.dir(),
            nodes: &self.nodes,
            stores: &self.state.stores,
        })
        .expect("toml");
        std::fs::write(&path, text).expect("write the configuration");
        path
    }

    /// Serves this catalog and these nodes in this process on a free port: its URL.
    pub async fn serve(&self) -> String {
        let overrides = snapkeep::config::Overrides {
            listen: Some("127.0.0.1:0".into()),
            state_dir: Some(self.dir().to_path_buf()),
            ..Default::default()
        };
        let mut cfg = snapkeep::config::Config::load_from(None, &[], &overrides).expect("config");
        cfg.nodes = self.nodes.clone();
        cfg.stores = self.state.stores.clone();
        let server = snapkeep::server::Server::bind(&cfg).await.expect("bind");
        let url = format!("http://{}", server.local_addr());
        tokio::spawn(server.run());
        url
    }
}

/// Calls as one user (or as nobody).
pub struct Caller<'a> {
    app: &'a TestApp,
    token: Option<String>,
}

impl<'a> Caller<'a> {
    /// A request signed as this caller, built up by the test and sent with [`Call::send`].
    pub fn request(&self, method: Method, uri: &str) -> Call<'a> {
        let call = self.app.request(method, uri);
        match &self.token {
            Some(t) => call.token(t),
            None => call,
        }
    }
    /// The answer's status and JSON (null if not JSON).
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let call = self.request(method, uri);
        let answer = match body {
            Some(b) => call.json(&b),
            None => call,
        }
        .send()
        .await;
        (answer.status, answer.json_or_null())
    }
    pub async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.call(Method::GET, uri, None).await
    }
    pub async fn post(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, uri, Some(body)).await
    }
    pub async fn delete(&self, uri: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, uri, None).await
    }
    /// A GET, the whole answer.
    pub async fn fetch(&self, uri: &str) -> Answer {
        self.request(Method::GET, uri).send().await
    }
}

/// One request being built.
pub struct Call<'a> {
    app: &'a TestApp,
    req: axum::http::request::Builder,
    body: Body,
    peer: Option<SocketAddr>,
}

impl Call<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.req = self.req.header(name, value);
        self
    }
    pub fn headers(self, headers: &[(&str, &str)]) -> Self {
        headers.iter().fold(self, |c, (k, v)| c.header(k, v))
    }
    /// `Authorization: Bearer <token>`.
    pub fn token(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }
    /// A JSON body.
    pub fn json(self, body: &Value) -> Self {
        self.json_text(&body.to_string())
    }
    /// A body sent as JSON, whatever it holds.
    pub fn json_text(self, body: &str) -> Self {
        self.header("content-type", "application/json").body(body)
    }
    /// A URL-encoded form body.
    pub fn form(self, body: &str) -> Self {
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }
    pub fn body(mut self, body: &str) -> Self {
        self.body = Body::from(body.to_string());
        self
    }
    /// Sent from `ip` (as the server sees it through `ConnectInfo`).
    pub fn sent_from(mut self, ip: &str) -> Self {
        self.peer = Some(format!("{ip}:40000").parse().expect("address"));
        self
    }

    pub async fn send(self) -> Answer {
        let mut req = self.req.body(self.body).expect("request");
        if let Some(addr) = self.peer {
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(addr));
        }
        // Pages render while their body streams: the read lock is held until it is read.
        let _serving = ROUTES.read().await;
        let resp = self
            .app
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("response");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        Answer {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}

impl Call<'_> {
    /// [`Call::send`], the answer as (status, headers, body).
    pub async fn send_parts(self) -> (StatusCode, HeaderMap, String) {
        let answer = self.send().await;
        (answer.status, answer.headers, answer.text)
    }
}

/// A whole answer.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    /// A header's value as text ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    pub fn content_type(&self) -> &str {
        self.header(header::CONTENT_TYPE.as_str())
    }
    /// The body as JSON; panics, showing the body, when it is not.
    pub fn json(&self) -> Value {
        json_body(&self.text)
    }
    /// (status, content type, body).
    pub fn into_parts(self) -> (StatusCode, String, String) {
        let ctype = self.content_type().to_string();
        (self.status, ctype, self.text)
    }
    pub fn json_or_null(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

/// `text` as JSON; panics, showing the text, when it is not.
pub fn json_body(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("JSON body ({e}): {text}"))
}
