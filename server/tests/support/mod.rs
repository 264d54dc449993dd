//! Helpers shared by the real-node test binaries (`cassandra.rs`, `fullnode.rs`): API calls
//! with a token through the router, and a table's rows.
// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::Value;
use snapkeep::cassandra::cql::Cql;
use tower::ServiceExt as _;

/// Calls the router as the holder of `token`; the answer's status and JSON (null if not JSON).
pub async fn call_as(
    r: &axum::Router,
    token: &str,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"));
    let body = match body {
        Some(v) => {
            req = req.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let resp = r
        .clone()
        .oneshot(req.body(body).expect("request"))
        .await
        .expect("response");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Every row of `table` as id → v.
pub async fn rows_of(cql: &Cql, table: &str) -> BTreeMap<i32, String> {
    let result = cql
        .session()
        .query_unpaged(format!("SELECT id, v FROM {table}"), &[])
        .await
        .expect("select")
        .into_rows_result()
        .expect("rows");
    result
        .rows::<(i32, String)>()
        .expect("typed rows")
        .map(|r| r.expect("row"))
        .collect()
}

/// A `snapkeep serve` child process on a free port with the given catalog.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub url: String,
}

impl ServerProcess {
    pub fn start(config_file: &Path, crash_after: Option<&str>) -> Self {
        use std::io::BufRead as _;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_snapkeep"));
        cmd.args(["serve", "--config"])
            .arg(config_file)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .env("RUST_LOG", "warn");
        match crash_after {
            Some(step) => cmd.env("SNAPKEEP_RESTORE_CRASH_AFTER", step),
            None => cmd.env_remove("SNAPKEEP_RESTORE_CRASH_AFTER"),
        };
        let mut child = cmd.spawn().expect("spawn snapkeep serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Self { child, url }
    }
}

impl ServerProcess {
    /// Waits until the process ends by itself (the crash hook) and says how it ended.
    /// Panics when it still runs after five minutes (the request never reached it).
    pub async fn ended(mut self) -> std::process::ExitStatus {
        for _ in 0..3000 {
            if let Some(status) = self.child.try_wait().expect("wait for the server") {
                return status;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the server at {} did not end within five minutes", self.url);
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
