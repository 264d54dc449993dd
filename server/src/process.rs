//! The one place that runs child processes (nodetool, java, mvn, operator hooks).
//!
//! Argument vectors only, never a shell string; the child gets its own process group so a
//! timeout kills it and everything it started; stdout and stderr are drained concurrently (a
//! chatty child cannot block on a full pipe); errors carry the command line, the exit status
//! and the tail of stderr.

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

    /// The command line as a user could paste it into a shell (for messages only).
    pub fn cmdline(&self) -> String {
        std::iter::once(self.program.as_os_str())
            .chain(self.args.iter().map(OsString::as_os_str))
            .map(|a| shell_quote(&a.to_string_lossy()))
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

    #[test]
    fn command_lines_are_quoted_for_humans() {
        let c = Command::new("nodetool").args(["snapshot", "-t", "it's"]);
        assert_eq!(c.cmdline(), "nodetool snapshot -t 'it'\\''s'");
    }
}
