//! One Cassandra node's settings: where to reach it (CQL, JMX through nodetool), where its
//! files are, and how a full-node restore stops and starts it. Part of the node boundary: the
//! configuration reads these from `[[nodes]]`, only [`super`] acts on them.

use std::path::PathBuf;

use serde::Deserialize;

/// Environment variable naming the JMX password file of nodes with a `jmx_user` and no
/// `jmx_password_file` of their own.
pub const JMX_PASSWORD_FILE_ENV: &str = "SNAPKEEP_JMX_PASSWORD_FILE";

/// One Cassandra node: where to reach it and where its files are.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// A short name, unique in this configuration (`[A-Za-z0-9_.-]`).
    pub name: String,
    /// CQL native-protocol address, `HOST:PORT`.
    #[serde(default = "default_cql")]
    pub cql: String,
    /// JMX address nodetool talks to, `HOST:PORT`.
    #[serde(default = "default_jmx")]
    pub jmx: String,
    /// `data_file_directories` of cassandra.yaml.
    pub data_dirs: Vec<PathBuf>,
    /// `commitlog_directory` of cassandra.yaml.
    #[serde(default)]
    pub commitlog_dir: Option<PathBuf>,
    /// How to run nodetool: the program and any leading arguments (`-h`/`-p` are added).
    #[serde(default = "default_nodetool")]
    pub nodetool: Vec<String>,
    /// Seconds before a nodetool call is killed.
    #[serde(default = "default_nodetool_timeout")]
    pub nodetool_timeout_secs: u64,
    /// The JMX user nodetool signs in as (`-u`), when the node's JMX asks for a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jmx_user: Option<String>,
    /// The file holding that user's JMX password (a line `USER PASSWORD`, as nodetool's
    /// `-pwf` reads it); default `$SNAPKEEP_JMX_PASSWORD_FILE`. The password itself is never
    /// put on a command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jmx_password_file: Option<PathBuf>,
    /// For nodes started by `snapkeep dev-node`: the node's directory (start/stop/status).
    #[serde(default)]
    pub dev_node_dir: Option<PathBuf>,
    /// How a full-node restore stops the node (argv, no shell), e.g.
    /// `["sudo", "systemctl", "stop", "cassandra"]`. Not needed with `dev_node_dir`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_command: Option<Vec<String>>,
    /// How a full-node restore starts the node again; it must return once the start is under
    /// way (Snapkeep then waits for CQL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_command: Option<Vec<String>>,
    /// Seconds the stop command (and the node going down) may take.
    #[serde(default = "default_stop_timeout")]
    pub stop_timeout_secs: u64,
    /// Seconds the start command and the wait for CQL may take.
    #[serde(default = "default_start_timeout")]
    pub start_timeout_secs: u64,
    /// The `[[stores]]` entry this node's uploads go to (default: the first store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// Ship the node's incremental backups (`backups/`) to its store continuously, removing
    /// each local link once its upload is verified.
    #[serde(default)]
    pub ship_backups: bool,
}

fn default_cql() -> String {
    "127.0.0.1:9042".into()
}
fn default_jmx() -> String {
    "127.0.0.1:7199".into()
}
fn default_nodetool() -> Vec<String> {
    vec!["nodetool".into()]
}
fn default_nodetool_timeout() -> u64 {
    120
}
fn default_stop_timeout() -> u64 {
    300
}
fn default_start_timeout() -> u64 {
    600
}

impl NodeConfig {
    /// A node reached at `cql`/`jmx` with its files in `data_dirs`; every other setting has its
    /// default (nodetool on PATH, no commit log directory, no stop/start commands).
    pub fn new(name: impl Into<String>, data_dirs: Vec<PathBuf>) -> Self {
        Self {
            name: name.into(),
            cql: default_cql(),
            jmx: default_jmx(),
            data_dirs,
            commitlog_dir: None,
            nodetool: default_nodetool(),
            nodetool_timeout_secs: default_nodetool_timeout(),
            jmx_user: None,
            jmx_password_file: None,
            dev_node_dir: None,
            stop_command: None,
            start_command: None,
            stop_timeout_secs: default_stop_timeout(),
            start_timeout_secs: default_start_timeout(),
            store: None,
            ship_backups: false,
        }
    }

    /// Checks the node's settings; `i` is its place in `nodes` (for the message). The message
    /// names the setting and how to fix it.
    pub fn check(&self, i: usize) -> Result<(), String> {
        let ok_name = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            && !self.name.starts_with(['.', '-']);
        if !ok_name {
            return Err(format!(
                "nodes[{i}].name `{}` must be 1–64 characters of A-Z a-z 0-9 _ . - and not start with . or -",
                self.name
            ));
        }
        if self.data_dirs.is_empty() {
            return Err(format!(
                "node `{}` has no data_dirs (cassandra.yaml's data_file_directories)",
                self.name
            ));
        }
        if self.nodetool.is_empty() {
            return Err(format!(
                "node `{}`: nodetool must name a program, e.g. [\"/opt/cassandra/bin/nodetool\"]",
                self.name
            ));
        }
        let password_in_argv = self.nodetool.iter().any(|a| {
            let a = a.to_ascii_lowercase();
            a == "-pw" || a == "--password" || a.starts_with("--password=")
        });
        if password_in_argv {
            return Err(format!(
                "node `{}`: do not put the JMX password in `nodetool` (command lines show in process lists, errors and job logs); set jmx_user and jmx_password_file instead",
                self.name
            ));
        }
        match (&self.jmx_user, &self.jmx_password_file) {
            (Some(user), _) if user.trim().is_empty() || user.starts_with('-') => {
                return Err(format!(
                    "node `{}`: jmx_user `{user}` is not a user name",
                    self.name
                ));
            }
            (Some(_), None) => {
                return Err(format!(
                    "node `{}`: jmx_user needs a password file: set jmx_password_file or {JMX_PASSWORD_FILE_ENV}",
                    self.name
                ));
            }
            (None, Some(_)) => {
                return Err(format!(
                    "node `{}`: jmx_password_file needs jmx_user (the user it signs in as)",
                    self.name
                ));
            }
            _ => {}
        }
        match (&self.stop_command, &self.start_command) {
            (Some(_), None) | (None, Some(_)) => {
                return Err(format!(
                    "node `{}`: give both stop_command and start_command, or neither",
                    self.name
                ));
            }
            (Some(stop), Some(start)) if stop.is_empty() || start.is_empty() => {
                return Err(format!(
                    "node `{}`: stop_command and start_command must name a program, e.g. [\"sudo\", \"systemctl\", \"stop\", \"cassandra\"]",
                    self.name
                ));
            }
            _ => {}
        }
        if self.stop_timeout_secs == 0 || self.start_timeout_secs == 0 {
            return Err(format!(
                "node `{}`: stop_timeout_secs and start_timeout_secs must be at least 1 second",
                self.name
            ));
        }
        for (what, addr) in [("cql", &self.cql), ("jmx", &self.jmx)] {
            if split_host_port(addr).is_none() {
                return Err(format!(
                    "node `{}`: {what} `{addr}` is not HOST:PORT",
                    self.name
                ));
            }
        }
        Ok(())
    }
}

/// The configured node named `name`, or, without a name, the only configured node. `several`
/// is what the caller must name when there are more (e.g. "the node that holds snapshot `x`").
pub fn choose<'a>(
    nodes: &'a [NodeConfig],
    name: Option<&str>,
    several: &str,
) -> Result<&'a NodeConfig, crate::error::ServiceError> {
    use crate::error::ServiceError;
    if let Some(n) = name.filter(|n| !n.is_empty()) {
        return nodes
            .iter()
            .find(|c| c.name == n)
            .ok_or_else(|| ServiceError::NotFound(format!("node `{n}` is not configured")));
    }
    match nodes {
        [one] => Ok(one),
        [] => Err(ServiceError::Unavailable(
            "no Cassandra node is configured".into(),
        )),
        _ => Err(ServiceError::bad(
            "node",
            format!("several nodes are configured: name {several}"),
        )),
    }
}

/// Splits `HOST:PORT` (IPv6 hosts in brackets).
pub fn split_host_port(addr: &str) -> Option<(String, u16)> {
    let (host, port) = addr.rsplit_once(':')?;
    let port = port.parse::<u16>().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| (host.to_string(), port))
}
