//! The `snapkeep` binary as a user runs it: version, start-up errors, serving, shutdown.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_snapkeep"))
}

#[test]
fn version_prints_the_version() {
    let out = bin().arg("--version").output().expect("run");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("snapkeep {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_config_typo_is_one_line_naming_file_line_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("snapkeep.toml");
    std::fs::write(&cfg, "listen = \"127.0.0.1:0\"\nstate_dri = \"x\"\n").expect("write");
    let out = bin()
        .args(["serve", "--config"])
        .arg(&cfg)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&cfg.display().to_string()), "{err}");
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains("state_dri"), "{err}");
}

#[test]
fn a_damaged_catalog_stops_the_start_and_is_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let catalog = dir.path().join("catalog.db");
    std::fs::write(&catalog, b"not sqlite at all".repeat(300)).expect("write");
    let out = bin()
        .args(["serve", "--listen", "127.0.0.1:0", "--catalog"])
        .arg(&catalog)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&catalog.display().to_string()), "{err}");
    assert!(err.contains("not a SQLite database or is damaged"), "{err}");
    assert_eq!(
        std::fs::read(&catalog).expect("still there"),
        b"not sqlite at all".repeat(300)
    );
}

/// Starts `snapkeep serve` on a free port and returns the child and its URL.
fn serve(state: &std::path::Path) -> (std::process::Child, String) {
    let mut child = bin()
        .args(["serve", "--listen", "127.0.0.1:0", "--state-dir"])
        .arg(state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (child, url)
}

#[test]
fn serves_on_a_free_port_refuses_a_taken_one_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, url) = serve(&dir.path().join("a"));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(!url.ends_with(":0"), "the real port is printed: {url}");
    assert!(dir.path().join("a").join("catalog.db").is_file());

    let addr = url.trim_start_matches("http://");
    let out = bin()
        .args(["serve", "--listen", addr, "--state-dir"])
        .arg(dir.path().join("b"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    assert!(err.contains("already in use"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");

    // SAFETY: plain integers.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "graceful shutdown exits 0, got {status}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn run_with_stdin(args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::Write as _;
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn users_and_tokens_are_managed_on_the_catalog_before_any_server_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().to_str().expect("utf-8 path");
    let (code, out, err) = run_with_stdin(
        &[
            "user",
            "add",
            "ann",
            "--role",
            "admin",
            "--state-dir",
            state,
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let password = out
        .trim()
        .rsplit_once("password: ")
        .map(|(_, p)| p.to_string())
        .unwrap_or_else(|| panic!("a generated password is printed: {out}"));
    assert!(password.len() >= 12);
    let (code, _, err) = run_with_stdin(
        &[
            "user",
            "add",
            "olga",
            "--role",
            "operator",
            "--password-stdin",
            "--state-dir",
            state,
        ],
        "operator password 1\n",
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run_with_stdin(
        &[
            "user",
            "add",
            "olga",
            "--role",
            "viewer",
            "--state-dir",
            state,
        ],
        "",
    );
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");
    let (code, _, err) = run_with_stdin(
        &["user", "add", "x", "--role", "root", "--state-dir", state],
        "",
    );
    assert_eq!(code, 1);
    assert!(err.contains("`root` is not a role"), "{err}");
    let (code, _, err) = run_with_stdin(
        &[
            "user",
            "add",
            "shorty",
            "--role",
            "viewer",
            "--password-stdin",
            "--state-dir",
            state,
        ],
        "short\n",
    );
    assert_eq!(code, 1);
    assert!(err.contains("at least 12 characters"), "{err}");
    let (code, _, _) = run_with_stdin(
        &["user", "set-role", "olga", "approver", "--state-dir", state],
        "",
    );
    assert_eq!(code, 0);
    let (code, _, _) = run_with_stdin(&["user", "disable", "olga", "--state-dir", state], "");
    assert_eq!(code, 0);
    let (code, out, _) = run_with_stdin(&["user", "list", "--state-dir", state], "");
    assert_eq!(code, 0);
    let olga = out.lines().find(|l| l.starts_with("olga")).expect("listed");
    assert!(
        olga.contains("approver") && olga.contains("disabled"),
        "{olga}"
    );

    let (code, token, err) = run_with_stdin(
        &[
            "token",
            "create",
            "ann",
            "--name",
            "cron",
            "--expires",
            "90d",
            "--state-dir",
            state,
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        token.trim().starts_with("skp_") && token.trim().len() > 60,
        "{token}"
    );
    let (code, out, _) = run_with_stdin(&["token", "list", "--state-dir", state], "");
    assert_eq!(code, 0);
    assert!(
        out.contains("cron") && out.contains("active") && !out.contains(token.trim()),
        "{out}"
    );
    let (code, _, _) = run_with_stdin(&["token", "revoke", "1", "--state-dir", state], "");
    assert_eq!(code, 0);
    let (code, _, err) = run_with_stdin(&["token", "create", "ghost", "--state-dir", state], "");
    assert_eq!(code, 1);
    assert!(err.contains("no user `ghost`"), "{err}");
    let (code, _, err) = run_with_stdin(
        &[
            "token",
            "create",
            "ann",
            "--expires",
            "soon",
            "--state-dir",
            state,
        ],
        "",
    );
    assert_eq!(code, 1);
    assert!(err.contains("not a duration"), "{err}");
}
