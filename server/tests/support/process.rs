//! The `snapkeep` binary as a child process: [`ServerProcess`] (`snapkeep serve` on a free
//! port) and [`snapkeep`] (one CLI command, its exit code and output).

use std::io::{BufRead as _, Write as _};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use serde_json::Value;
use snapkeep::cli::client::ApiClient;

/// The `snapkeep` binary of this build, with none of the CLI's variables from the
/// environment of the test run.
fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_snapkeep"));
    for var in ["SNAPKEEP_SERVER", "SNAPKEEP_TOKEN", "SNAPKEEP_CA_FILE"] {
        cmd.env_remove(var);
    }
    cmd
}

/// A `snapkeep serve` child process; killed when dropped.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub url: String,
}

impl ServerProcess {
    /// `snapkeep serve --config FILE`; with `crash_after`, the process aborts right after
    /// that restore step (`SNAPKEEP_RESTORE_CRASH_AFTER`).
    pub fn start(config_file: &Path, crash_after: Option<&str>) -> Self {
        let mut cmd = bin();
        cmd.args(["serve", "--config"])
            .arg(config_file)
            .env("RUST_LOG", "warn");
        match crash_after {
            Some(step) => cmd.env("SNAPKEEP_RESTORE_CRASH_AFTER", step),
            None => cmd.env_remove("SNAPKEEP_RESTORE_CRASH_AFTER"),
        };
        Self::spawn(cmd)
    }

    /// `snapkeep ARGS` that serves: waits for its `listening on URL` line.
    pub fn serve(args: &[&str]) -> Self {
        let mut cmd = bin();
        cmd.args(args);
        Self::spawn(cmd)
    }

    fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn snapkeep serve");
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

    /// An API client of this server with `token`.
    pub fn client(&self, token: &str) -> ApiClient {
        ApiClient::new(&self.url, Some(token.to_string())).expect("client")
    }

    /// Waits until the process ends by itself (the crash hook) and says how it ended.
    /// Panics when it still runs after five minutes (the request never reached it).
    pub async fn ended(mut self) -> ExitStatus {
        for _ in 0..3000 {
            if let Some(status) = self.child.try_wait().expect("wait for the server") {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
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

/// Polls restore request `id` through `client` until it no longer runs.
pub async fn wait_restore_via(client: &ApiClient, id: i64, within: Duration) -> Value {
    let uri = format!("/api/v1/restores/{id}");
    let started = std::time::Instant::now();
    let mut last = Value::Null;
    while started.elapsed() < within {
        if let Ok(v) = client
            .call::<Value>(axum::http::Method::GET, &uri, None)
            .await
        {
            if v["state"] != "running" {
                return v;
            }
            last = v;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "restore {id} did not end within {} s: {last}",
        within.as_secs()
    );
}

/// What one CLI command did.
#[derive(Debug)]
pub struct CliRun {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// One `snapkeep` command, run with [`Cli::run`].
pub struct Cli {
    cmd: Command,
    stdin: Option<String>,
}

/// `snapkeep ARGS`.
pub fn snapkeep<I, S>(args: I) -> Cli
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = bin();
    cmd.args(args);
    Cli { cmd, stdin: None }
}

impl Cli {
    /// With `SNAPKEEP_TOKEN=token`.
    pub fn token(mut self, token: &str) -> Self {
        self.cmd.env("SNAPKEEP_TOKEN", token);
        self
    }

    /// With `text` on standard input.
    pub fn stdin(mut self, text: &str) -> Self {
        self.stdin = Some(text.to_string());
        self
    }

    /// Runs it to its end (off the async threads).
    pub async fn run(self) -> CliRun {
        tokio::task::spawn_blocking(move || self.run_blocking())
            .await
            .expect("join")
    }

    pub fn run_blocking(mut self) -> CliRun {
        let mut child = self
            .cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run snapkeep");
        let stdin = child.stdin.take().expect("stdin");
        if let Some(text) = self.stdin {
            let mut stdin = stdin;
            stdin.write_all(text.as_bytes()).expect("write stdin");
        }
        let out = child.wait_with_output().expect("wait for snapkeep");
        CliRun {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}
