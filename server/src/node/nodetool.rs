//! Runs the real `nodetool` against a node's JMX port through [`crate::process`], and parses
//! what it prints (see [`super::parse`]). With JMX authentication the password goes to
//! nodetool as a file (`-u USER -pwf FILE`), never as an argument.

use std::path::PathBuf;
use std::time::Duration;

use crate::node::config::{NodeConfig, split_host_port};
use crate::process::{Command, RunError};

use super::parse::{self, ParseError};

/// Why a nodetool call did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum NodetoolError {
    #[error(
        "nodetool cannot reach the node's JMX port at {addr} (is Cassandra running? is JMX on that port?): {detail}"
    )]
    Unreachable { addr: String, detail: String },
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("unexpected output from `{cmdline}`: {source}")]
    Parse {
        cmdline: String,
        #[source]
        source: ParseError,
    },
    #[error("`{value}` cannot be passed to nodetool as {what}: it would be read as an option")]
    LooksLikeOption { what: &'static str, value: String },
}

/// How to run nodetool for one node.
#[derive(Debug, Clone)]
pub struct Nodetool {
    argv: Vec<String>,
    host: String,
    port: u16,
    timeout: Duration,
    /// JMX user and password file (`-u`, `-pwf`).
    auth: Option<(String, PathBuf)>,
}

impl Nodetool {
    /// nodetool for a configured node.
    pub fn for_node(node: &NodeConfig) -> Self {
        let (host, port) = split_host_port(&node.jmx).unwrap_or(("127.0.0.1".into(), 7199));
        Self {
            argv: node.nodetool.clone(),
            host,
            port,
            timeout: Duration::from_secs(node.nodetool_timeout_secs.max(1)),
            auth: node.jmx_user.clone().zip(node.jmx_password_file.clone()),
        }
    }

    /// The same nodetool with another timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The JMX address, `HOST:PORT`.
    pub fn jmx_addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The command for `nodetool -h HOST -p PORT [-u USER -pwf FILE] ARGS…`.
    pub fn command<S: AsRef<str>>(&self, args: &[S]) -> Command {
        let program = self.argv.first().map(String::as_str).unwrap_or("nodetool");
        let mut cmd = Command::new(program).args(self.argv.iter().skip(1)).args([
            "-h",
            &self.host,
            "-p",
            &self.port.to_string(),
        ]);
        if let Some((user, file)) = &self.auth {
            cmd = cmd.args(["-u", user.as_str(), "-pwf"]).arg(file);
        }
        cmd.args(args.iter().map(|a| a.as_ref()))
            .timeout(self.timeout)
    }

    /// Runs nodetool and returns stdout; connection failures become [`NodetoolError::Unreachable`].
    pub async fn run<S: AsRef<str>>(&self, args: &[S]) -> Result<String, NodetoolError> {
        match self.command(args).run().await {
            Ok(out) => Ok(out.stdout),
            Err(err) => {
                if let Some(text) = err.output_text()
                    && is_connection_failure(&text)
                {
                    return Err(NodetoolError::Unreachable {
                        addr: self.jmx_addr(),
                        detail: first_meaningful_line(&text),
                    });
                }
                Err(err.into())
            }
        }
    }

    fn parse<T>(
        &self,
        args: &[&str],
        out: &str,
        f: impl Fn(&str) -> Result<T, ParseError>,
    ) -> Result<T, NodetoolError> {
        f(out).map_err(|source| NodetoolError::Parse {
            cmdline: self.command(args).cmdline(),
            source,
        })
    }

    /// `nodetool version` → the release version, e.g. `5.0.8`.
    pub async fn version(&self) -> Result<String, NodetoolError> {
        let args = ["version"];
        let out = self.run(&args).await?;
        self.parse(&args, &out, parse::version)
    }

    /// `nodetool info` → key/value facts about the node.
    pub async fn info(&self) -> Result<parse::Info, NodetoolError> {
        let args = ["info"];
        let out = self.run(&args).await?;
        self.parse(&args, &out, parse::info)
    }

    /// `nodetool statusbackup` → whether incremental backups are on.
    pub async fn statusbackup(&self) -> Result<bool, NodetoolError> {
        let args = ["statusbackup"];
        let out = self.run(&args).await?;
        self.parse(&args, &out, parse::statusbackup)
    }

    /// `nodetool listsnapshots` → one row per snapshot and table.
    pub async fn listsnapshots(&self) -> Result<Vec<parse::SnapshotRow>, NodetoolError> {
        let args = ["listsnapshots"];
        let out = self.run(&args).await?;
        self.parse(&args, &out, parse::listsnapshots)
    }

    /// `nodetool snapshot -t TAG [--ttl TTL] [-sf] [-kt ks.t,…] [-- keyspaces…]`: flushes
    /// (unless `skip_flush`) and hard-links every SSTable of the targets into
    /// `snapshots/TAG/`. `tables` (as `keyspace.table`) wins over `keyspaces`; neither means
    /// every keyspace.
    pub async fn snapshot(
        &self,
        tag: &str,
        ttl: Option<&str>,
        skip_flush: bool,
        keyspaces: &[String],
        tables: &[String],
    ) -> Result<(), NodetoolError> {
        not_an_option("a snapshot tag", tag)?;
        self.run(&snapshot_args(tag, ttl, skip_flush, keyspaces, tables))
            .await
            .map(drop)
    }

    /// `nodetool clearsnapshot -t TAG [-- keyspaces…]`.
    pub async fn clearsnapshot(
        &self,
        tag: &str,
        keyspaces: &[String],
    ) -> Result<(), NodetoolError> {
        not_an_option("a snapshot tag", tag)?;
        let mut args = vec!["clearsnapshot".to_string(), "-t".into(), tag.to_string()];
        if !keyspaces.is_empty() {
            args.push("--".into());
            args.extend(keyspaces.iter().cloned());
        }
        self.run(&args).await.map(drop)
    }

    /// `nodetool clearsnapshot --all -- KEYSPACE`: every snapshot of one keyspace.
    pub async fn clearsnapshot_all(&self, keyspace: &str) -> Result<(), NodetoolError> {
        not_an_option("a keyspace", keyspace)?;
        self.run(&["clearsnapshot", "--all", "--", keyspace])
            .await
            .map(drop)
    }

    /// `nodetool tablestats [ks[.table]…]` → per-table figures.
    pub async fn tablestats(
        &self,
        targets: &[String],
    ) -> Result<Vec<parse::TableStats>, NodetoolError> {
        let mut args = vec!["tablestats".to_string()];
        args.extend(targets.iter().cloned());
        let out = self.run(&args).await?;
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.parse(&refs, &out, parse::tablestats)
    }
}

/// The arguments of [`Nodetool::snapshot`].
pub fn snapshot_args(
    tag: &str,
    ttl: Option<&str>,
    skip_flush: bool,
    keyspaces: &[String],
    tables: &[String],
) -> Vec<String> {
    let mut args = vec!["snapshot".to_string(), "-t".into(), tag.to_string()];
    if let Some(ttl) = ttl {
        args.push("--ttl".into());
        args.push(ttl.to_string());
    }
    if skip_flush {
        args.push("-sf".into());
    }
    if !tables.is_empty() {
        args.push("-kt".into());
        args.push(tables.join(","));
    } else if !keyspaces.is_empty() {
        args.push("--".into());
        args.extend(keyspaces.iter().cloned());
    }
    args
}

/// Refuses a value that nodetool would take for an option (a tag such as `-h`), whoever
/// passed it: the last guard behind the checks of what users send.
fn not_an_option(what: &'static str, value: &str) -> Result<(), NodetoolError> {
    if value.is_empty() || value.starts_with('-') {
        return Err(NodetoolError::LooksLikeOption {
            what,
            value: value.chars().take(120).collect(),
        });
    }
    Ok(())
}

/// True when nodetool's output says it could not connect to JMX at all.
pub fn is_connection_failure(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("failed to connect")
        || t.contains("connection refused")
        || t.contains("connectexception")
        || t.contains("no route to host")
        || t.contains("unknownhostexception")
}

fn first_meaningful_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("at ") && !l.starts_with('-'))
        .unwrap_or("no output")
        .chars()
        .take(400)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(nodetool: Vec<String>) -> NodeConfig {
        NodeConfig {
            jmx: "127.0.0.1:7299".into(),
            nodetool,
            nodetool_timeout_secs: 5,
            ..NodeConfig::new("n1", vec!["/tmp/x".into()])
        }
    }

    #[test]
    fn builds_an_argv_with_host_and_port() {
        let nt = Nodetool::for_node(&node(vec![
            "java".into(),
            "-cp".into(),
            "lib/*".into(),
            "NodeTool".into(),
        ]));
        assert_eq!(
            nt.command(&["snapshot", "-t", "nightly"]).cmdline(),
            "java -cp 'lib/*' NodeTool -h 127.0.0.1 -p 7299 snapshot -t nightly"
        );
    }

    #[test]
    fn jmx_credentials_go_as_user_and_password_file() {
        let nt = Nodetool::for_node(&NodeConfig {
            jmx_user: Some("cassandra".into()),
            jmx_password_file: Some("/etc/snapkeep/jmx.pw".into()),
            ..node(vec!["nodetool".into()])
        });
        let line = nt.command(&["info"]).cmdline();
        assert_eq!(
            line,
            "nodetool -h 127.0.0.1 -p 7299 -u cassandra -pwf /etc/snapkeep/jmx.pw info"
        );
        assert!(!line.contains("-pw "), "{line}");
    }

    #[tokio::test]
    async fn tags_that_look_like_options_never_reach_nodetool() {
        // `/bin/false` would fail if it ran; the refusal comes first.
        let nt = Nodetool::for_node(&node(vec!["/bin/false".into()]));
        for tag in ["-h", "--help", ""] {
            let err = nt
                .snapshot(tag, None, false, &[], &[])
                .await
                .expect_err(tag);
            assert!(
                matches!(err, NodetoolError::LooksLikeOption { .. }),
                "{tag}: {err}"
            );
            let err = nt.clearsnapshot(tag, &[]).await.expect_err(tag);
            assert!(
                matches!(err, NodetoolError::LooksLikeOption { .. }),
                "{tag}: {err}"
            );
        }
    }

    #[test]
    fn snapshot_arguments_name_tables_or_keyspaces() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            snapshot_args("t1", None, false, &[], &[]),
            s(&["snapshot", "-t", "t1"])
        );
        assert_eq!(
            snapshot_args("t1", Some("3d"), true, &s(&["shop"]), &[]),
            s(&["snapshot", "-t", "t1", "--ttl", "3d", "-sf", "--", "shop"])
        );
        assert_eq!(
            snapshot_args(
                "t1",
                None,
                false,
                &s(&["x"]),
                &s(&["shop.orders", "shop.products"])
            ),
            s(&["snapshot", "-t", "t1", "-kt", "shop.orders,shop.products"])
        );
    }

    #[tokio::test]
    async fn a_connection_failure_is_reported_as_unreachable() {
        // A stand-in program that fails the way nodetool does when JMX is down (unit test of
        // the classification only; the integration tests use the real nodetool).
        let script = "echo \"nodetool: Failed to connect to '127.0.0.1:7299' - ConnectException: 'Connection refused'.\" >&2; exit 1";
        let nt = Nodetool::for_node(&node(vec![
            "/bin/sh".into(),
            "-c".into(),
            script.into(),
            "sh".into(),
        ]));
        let err = nt.version().await.expect_err("down");
        assert!(matches!(err, NodetoolError::Unreachable { .. }), "{err}");
        assert!(err.to_string().contains("127.0.0.1:7299"));
    }
}
