//! The `snapkeep` binary as a user runs it: version, start-up errors, serving, shutdown.

mod support;

use std::time::Duration;

use support::{ServerProcess, snapkeep};

#[test]
fn version_prints_the_version() {
    let run = snapkeep(["--version"]).run_blocking();
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout.trim(),
        format!("snapkeep {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_config_typo_is_one_line_naming_file_line_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("snapkeep.toml");
    std::fs::write(&cfg, "listen = \"127.0.0.1:0\"\nstate_dri = \"x\"\n").expect("write");
    let run = snapkeep(["serve", "--config", cfg.to_str().expect("UTF-8 path")]).run_blocking();
    assert_eq!(run.code, 1);
    let err = run.stderr;
    assert!(err.contains(&cfg.display().to_string()), "{err}");
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains("state_dri"), "{err}");
}

#[test]
fn a_damaged_catalog_stops_the_start_and_is_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let catalog = dir.path().join("catalog.db");
    std::fs::write(&catalog, b"not sqlite at all".repeat(300)).expect("write");
    let catalog_arg = catalog.to_str().expect("UTF-8 path");
    let run =
        snapkeep(["serve", "--listen", "127.0.0.1:0", "--catalog", catalog_arg]).run_blocking();
    assert_eq!(run.code, 1);
    let err = run.stderr;
    assert!(err.contains(&catalog.display().to_string()), "{err}");
    assert!(err.contains("not a SQLite database or is damaged"), "{err}");
    assert_eq!(
        std::fs::read(&catalog).expect("still there"),
        b"not sqlite at all".repeat(300)
    );
}

#[test]
fn serves_on_a_free_port_refuses_a_taken_one_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = |name: &str| dir.path().join(name).display().to_string();
    let mut server = ServerProcess::serve(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--state-dir",
        &state("a"),
    ]);
    let url = server.url.clone();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(!url.ends_with(":0"), "the real port is printed: {url}");
    assert!(dir.path().join("a").join("catalog.db").is_file());

    let addr = url.trim_start_matches("http://");
    let run = snapkeep(["serve", "--listen", addr, "--state-dir", &state("b")]).run_blocking();
    assert_eq!(run.code, 1);
    let err = run.stderr;
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    assert!(err.contains("already in use"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");

    // SAFETY: plain integers.
    unsafe {
        libc::kill(server.child.id() as i32, libc::SIGTERM);
    }
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
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

/// `snapkeep ARGS` with `stdin` on its standard input: (exit code, stdout, stderr).
fn run_with_stdin(args: &[&str], stdin: &str) -> (i32, String, String) {
    let run = snapkeep(args).stdin(stdin).run_blocking();
    (run.code, run.stdout, run.stderr)
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
