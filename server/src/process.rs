//! The one place that runs child processes (nodetool, java, mvn, operator hooks).
//!
//! Argument vectors only, never a shell string; the child gets its own process group so a
//! timeout kills it and everything it started; stdout and stderr are drained concurrently (a
//! chatty child cannot block on a full pipe); errors carry the command line, the exit status
//! and the tail of stderr. Command lines shown anywhere (errors, jobs, logs) come from
//! [`Command::cmdline`], which masks secrets ([`redact_args`]).

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};

/// Most bytes kept of each output stream; the rest is dropped (and said so).
const MAX_CAPTURE: usize = 32 * 1024 * 1024;
/// How much of stderr an error message quotes.
const TAIL_CHARS: usize = 2000;

/// A command to run.
#[derive(Debug, Clone)]
pub struct Command {
    program: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
    timeout: Duration,
}

/// What a finished command printed.
#[derive(Debug, Clone)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// Why a command did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot start `{cmdline}`: {source}")]
    Spawn {
        cmdline: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{cmdline}` did not finish within {}s and was killed{}", timeout.as_secs_f64(), tail_suffix(stderr_tail))]
    Timeout {
        cmdline: String,
        timeout: Duration,
        stderr_tail: String,
    },
    #[error("`{cmdline}` failed ({status}){}", tail_suffix(&failure_text(stderr_tail, stdout_tail)))]
    Failed {
        cmdline: String,
        status: ExitStatus,
        stdout_tail: String,
        stderr_tail: String,
    },
    #[error("`{cmdline}`: waiting for it failed: {source}")]
    Wait {
        cmdline: String,
        #[source]
        source: std::io::Error,
    },
}

fn tail_suffix(text: &str) -> String {
    if text.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", text.trim())
    }
}

/// stderr when the child wrote any, else stdout (nodetool prints some errors on stdout).
fn failure_text(stderr: &str, stdout: &str) -> String {
    if stderr.trim().is_empty() {
        stdout.to_string()
    } else {
        stderr.to_string()
    }
}

impl RunError {
    /// The output the child printed before failing, when it ran at all.
    pub fn output_text(&self) -> Option<String> {
        match self {
            RunError::Failed {
                stdout_tail,
                stderr_tail,
                ..
            } => Some(format!("{stdout_tail}{stderr_tail}")),
            RunError::Timeout { stderr_tail, .. } => Some(stderr_tail.clone()),
            _ => None,
        }
    }
}

impl Command {
    /// A command with a default timeout of 60 s.
    pub fn new(program: impl AsRef<Path>) -> Self {
        Self {
            program: program.as_ref().to_path_buf(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
            timeout: Duration::from_secs(60),
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The command line as a user could paste it into a shell (for messages only), with
    /// secrets masked (see [`redact_args`]).
    pub fn cmdline(&self) -> String {
        let words: Vec<String> = std::iter::once(self.program.as_os_str())
            .chain(self.args.iter().map(OsString::as_os_str))
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        redact_args(&words)
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs the command; a non-zero exit is an error carrying what the child printed.
    pub async fn run(&self) -> Result<Output, RunError> {
        let out = self.run_unchecked().await?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(RunError::Failed {
                cmdline: self.cmdline(),
                status: out.status,
                stdout_tail: tail(&out.stdout),
                stderr_tail: tail(&out.stderr),
            })
        }
    }

    /// Runs the command and returns its output whatever the exit status.
    pub async fn run_unchecked(&self) -> Result<Output, RunError> {
        let cmdline = self.cmdline();
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        let start = Instant::now();
        let mut child = cmd.spawn().map_err(|source| RunError::Spawn {
            cmdline: cmdline.clone(),
            source,
        })?;
        let pid = child.id();
        let stdout = child.stdout.take().map(|s| tokio::spawn(drain(s)));
        let stderr = child.stderr.take().map(|s| tokio::spawn(drain(s)));
        let waited = tokio::time::timeout(self.timeout, child.wait()).await;
        let status = match waited {
            Ok(Ok(status)) => status,
            Ok(Err(source)) => return Err(RunError::Wait { cmdline, source }),
            Err(_) => {
                kill_group(pid);
                let _ = child.wait().await;
                let stderr_text = join(stderr).await;
                return Err(RunError::Timeout {
                    cmdline,
                    timeout: self.timeout,
                    stderr_tail: tail(&stderr_text),
                });
            }
        };
        Ok(Output {
            status,
            stdout: join(stdout).await,
            stderr: join(stderr).await,
            elapsed: start.elapsed(),
        })
    }
}

/// Kills the process group led by `pid` (the child and whatever it started).
fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: killpg takes plain integers; a stale group id only yields ESRCH.
        unsafe {
            libc::killpg(pid, libc::SIGKILL);
        }
    }
}

async fn drain<R: AsyncRead + Unpin>(mut reader: R) -> String {
    let mut kept = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut dropped = 0usize;
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = MAX_CAPTURE.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                dropped += n.saturating_sub(room);
            }
        }
    }
    let mut text = String::from_utf8_lossy(&kept).into_owned();
    if dropped > 0 {
        text.push_str(&format!("\n[{dropped} more bytes not kept]\n"));
    }
    text
}

async fn join(handle: Option<tokio::task::JoinHandle<String>>) -> String {
    match handle {
        Some(h) => h.await.unwrap_or_default(),
        None => String::new(),
    }
}

/// The last [`TAIL_CHARS`] characters of `text`.
pub fn tail(text: &str) -> String {
    let count = text.chars().count();
    if count <= TAIL_CHARS {
        text.to_string()
    } else {
        let skip = count - TAIL_CHARS;
        format!("…{}", text.chars().skip(skip).collect::<String>())
    }
}

/// What a masked secret is shown as.
pub const REDACTED: &str = "***";

/// Options whose next argument is a secret (nodetool's `-pw`, the usual long forms). nodetool's
/// `-pwf FILE` is not among them: its value is a path, shown as is.
const SECRET_OPTIONS: [&str; 8] = [
    "-pw",
    "--password",
    "-password",
    "--token",
    "-token",
    "--secret",
    "--api-key",
    "--bearer",
];

/// Words that, followed by `=` or `:`, start a secret inside one argument
/// (`password=…`, `-Dcom.sun.management.jmxremote.password=…`, `token:…`).
const SECRET_KEYS: [&str; 5] = ["password", "passwd", "token", "secret", "api_key"];

/// The arguments with secrets replaced by [`REDACTED`]: the value after a secret option
/// (`-pw X`, `--password X`, `--token X`), the value of `--password=X`-style arguments, the
/// rest of any argument after `password=`/`token=`/`secret=` (any case, any prefix, `:` too),
/// and a word after `Bearer`.
pub fn redact_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut mask_next = false;
    for arg in args {
        if mask_next {
            out.push(REDACTED.to_string());
            mask_next = false;
            continue;
        }
        let lower = arg.to_ascii_lowercase();
        if SECRET_OPTIONS.contains(&lower.as_str()) || lower == "bearer" {
            mask_next = true;
            out.push(arg.clone());
            continue;
        }
        out.push(redact_text(arg));
    }
    out
}

/// One text with the value after `password=`, `token:`, `Bearer ` and the like masked.
pub fn redact_text(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    // The earliest secret marker, and where its value starts.
    let mut cut: Option<usize> = None;
    for key in SECRET_KEYS {
        let mut from = 0;
        while let Some(i) = lower[from..].find(key) {
            let end = from + i + key.len();
            if matches!(lower.as_bytes().get(end), Some(b'=' | b':')) {
                cut = Some(cut.map_or(end + 1, |c| c.min(end + 1)));
                break;
            }
            from = end;
        }
    }
    if let Some(i) = lower.find("bearer ") {
        cut = Some(cut.map_or(i + 7, |c| c.min(i + 7)));
    }
    match cut {
        Some(at) if at < text.len() && text.is_char_boundary(at) => {
            format!("{}{REDACTED}", &text[..at])
        }
        _ => text.to_string(),
    }
}

fn shell_quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%".contains(c))
    {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn captures_both_streams_and_exit_status() {
        let out = Command::new("/bin/sh")
            .args(["-c", "echo out; echo err >&2; exit 0"])
            .run()
            .await
            .expect("runs");
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
    }

    #[tokio::test]
    async fn failure_carries_command_status_and_stderr() {
        let err = Command::new("/bin/sh")
            .args(["-c", "echo 'nodetool: Failed to connect' >&2; exit 3"])
            .run()
            .await
            .expect_err("fails");
        let msg = err.to_string();
        assert!(msg.contains("/bin/sh -c"), "{msg}");
        assert!(msg.contains("exit status: 3"), "{msg}");
        assert!(msg.contains("Failed to connect"), "{msg}");
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_process_group() {
        let dir = tempfile::tempdir().expect("tempdir");
        let marker = dir.path().join("grandchild-survived");
        // The grandchild would create the marker after 2 s unless it is killed with the group.
        let script = format!("(sleep 2; touch '{}') & sleep 30", marker.display());
        let start = Instant::now();
        let err = Command::new("/bin/sh")
            .args(["-c", &script])
            .timeout(Duration::from_millis(300))
            .run()
            .await
            .expect_err("times out");
        assert!(matches!(err, RunError::Timeout { .. }), "{err}");
        assert!(start.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert!(!marker.exists(), "the grandchild outlived the timeout");
    }

    #[tokio::test]
    async fn large_output_on_both_streams_does_not_deadlock() {
        let out = Command::new("/bin/sh")
            .args([
                "-c",
                "i=0; while [ $i -lt 20000 ]; do echo line-$i; echo err-$i >&2; i=$((i+1)); done",
            ])
            .timeout(Duration::from_secs(30))
            .run()
            .await
            .expect("runs");
        assert_eq!(out.stdout.lines().count(), 20000);
        assert_eq!(out.stderr.lines().count(), 20000);
    }

    #[tokio::test]
    async fn a_missing_program_is_named() {
        let err = Command::new("/nonexistent/nodetool")
            .arg("version")
            .run()
            .await
            .expect_err("missing");
        assert!(
            err.to_string()
                .contains("cannot start `/nonexistent/nodetool version`")
        );
    }

    fn words(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn secrets_after_password_options_are_masked() {
        assert_eq!(
            redact_args(&words(&[
                "nodetool",
                "-h",
                "db1",
                "-p",
                "7199",
                "-u",
                "cassandra",
                "-pw",
                "hunter2",
                "snapshot"
            ])),
            words(&[
                "nodetool",
                "-h",
                "db1",
                "-p",
                "7199",
                "-u",
                "cassandra",
                "-pw",
                "***",
                "snapshot"
            ])
        );
        assert_eq!(
            redact_args(&words(&[
                "tool",
                "--password",
                "s3cret",
                "--token",
                "abc",
                "x"
            ])),
            words(&["tool", "--password", "***", "--token", "***", "x"])
        );
        // The password file option names a path, which stays readable.
        assert_eq!(
            redact_args(&words(&[
                "nodetool",
                "-pwf",
                "/etc/cassandra/jmx.pw",
                "info"
            ])),
            words(&["nodetool", "-pwf", "/etc/cassandra/jmx.pw", "info"])
        );
        // A trailing option with no value masks nothing and does not panic.
        assert_eq!(redact_args(&words(&["x", "-pw"])), words(&["x", "-pw"]));
    }

    #[test]
    fn secrets_inside_one_argument_are_masked() {
        for (raw, shown) in [
            ("--password=hunter2", "--password=***"),
            ("PASSWORD=hunter2", "PASSWORD=***"),
            (
                "-Dcom.sun.management.jmxremote.password=hunter2",
                "-Dcom.sun.management.jmxremote.password=***",
            ),
            ("https://x/?token=abc&y=1", "https://x/?token=***"),
            ("Authorization: Bearer abc.def", "Authorization: Bearer ***"),
            ("api_key:xyz", "api_key:***"),
            ("passwordless", "passwordless"),
            ("--password-file=/etc/pw", "--password-file=/etc/pw"),
            ("snapshot", "snapshot"),
        ] {
            assert_eq!(redact_text(raw), shown, "{raw}");
        }
    }

    #[tokio::test]
    async fn errors_show_the_redacted_command_line() {
        let err = Command::new("/bin/sh")
            .args(["-c", "exit 4", "sh", "-pw", "hunter2", "--token=abc"])
            .run()
            .await
            .expect_err("fails");
        let msg = err.to_string();
        assert!(!msg.contains("hunter2"), "{msg}");
        assert!(!msg.contains("abc"), "{msg}");
        assert!(msg.contains("-pw '***'"), "{msg}");
        assert!(msg.contains("'--token=***'"), "{msg}");
    }

    #[test]
    fn command_lines_are_quoted_for_humans() {
        let c = Command::new("nodetool").args(["snapshot", "-t", "it's"]);
        assert_eq!(c.cmdline(), "nodetool snapshot -t 'it'\\''s'");
    }
}
