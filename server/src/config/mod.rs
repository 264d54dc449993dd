//! Snapkeep's configuration: one typed struct, built from defaults, then a TOML file
//! (`--config FILE`), then `SNAPKEEP_*` environment variables, then command-line flags.
//!
//! Relative paths in a config file are taken relative to the file's own directory, so a
//! generated `snapkeep.toml` keeps working from any working directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use crate::node::{JMX_PASSWORD_FILE_ENV, NodeConfig};

/// Errors while reading or validating the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path}, line {line}{key}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        /// `, key `x`` when the error points at a key, else empty.
        key: String,
        message: String,
    },
    #[error("{source_name}: {message}")]
    Invalid {
        source_name: String,
        message: String,
    },
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

/// HTTP server limits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Requests taking longer are answered with 408.
    pub request_timeout_secs: u64,
    /// Largest accepted request body.
    pub body_limit_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            request_timeout_secs: 30,
            body_limit_bytes: 1024 * 1024,
        }
    }
}

/// The whole configuration, as the server uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Where Snapkeep keeps its state (catalog, local backup store, job scratch).
    pub state_dir: PathBuf,
    /// The SQLite catalog file.
    pub catalog: PathBuf,
    /// Directory holding the built web assets (`pkg/snapkeep.js`, `.wasm`, `.css`).
    pub site_root: Option<PathBuf>,
    pub log_format: LogFormat,
    pub http: HttpConfig,
    /// The Cassandra nodes this server watches.
    pub nodes: Vec<NodeConfig>,
    /// `[snapshots]`: row counting when snapshots are taken.
    pub snapshots: crate::snapshots::SnapshotsConfig,
    /// `[auth]`: sessions, sign-in limits, the metrics token.
    pub auth: crate::auth::AuthConfig,
    /// `[restore]`: headroom minimum, approval validity.
    pub restore: crate::restore::RestoreConfig,
    /// `[sampling]`: how often storage is sampled, how long samples stay hourly.
    pub sampling: crate::reports::SamplingConfig,
    /// `[[stores]]`: where off-node copies go (default: one local store, `<state_dir>/store`).
    pub stores: Vec<crate::backups::StoreConfig>,
    /// `[backups]`: how often incremental backups are shipped, when the backlog warns.
    pub backups: crate::backups::BackupsConfig,
    /// `[rpo]`: target recovery points of the RPO panel.
    pub rpo: crate::rpo::RpoConfig,
    /// `[alerts]`: thresholds, the webhook.
    pub alerts: crate::alerts::AlertsConfig,
    /// `[retention]`: how long TRUNCATE/DROP snapshots stay.
    pub retention: crate::schedules::auto::RetentionConfig,
}

/// The file form: every field optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    state_dir: Option<PathBuf>,
    catalog: Option<PathBuf>,
    site_root: Option<PathBuf>,
    log_format: Option<LogFormat>,
    http: Option<HttpConfig>,
    #[serde(default)]
    nodes: Vec<NodeConfig>,
    #[serde(default)]
    snapshots: crate::snapshots::SnapshotsConfig,
    #[serde(default)]
    auth: crate::auth::AuthConfig,
    #[serde(default)]
    restore: crate::restore::RestoreConfig,
    #[serde(default)]
    sampling: crate::reports::SamplingConfig,
    #[serde(default)]
    stores: Vec<crate::backups::StoreConfig>,
    #[serde(default)]
    backups: crate::backups::BackupsConfig,
    #[serde(default)]
    rpo: crate::rpo::RpoConfig,
    #[serde(default)]
    alerts: crate::alerts::AlertsConfig,
    #[serde(default)]
    retention: crate::schedules::auto::RetentionConfig,
}

/// Overrides given on the command line (highest precedence).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<String>,
    pub state_dir: Option<PathBuf>,
    pub catalog: Option<PathBuf>,
    pub log_format: Option<LogFormat>,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
pub const DEFAULT_STATE_DIR: &str = "snapkeep-data";
pub const CATALOG_FILE: &str = "catalog.db";

impl Config {
    /// Builds the configuration from the optional file, the process environment and the
    /// command-line overrides.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with("SNAPKEEP_"))
            .collect();
        Self::load_from(file, &env, overrides)
    }

    /// [`Config::load`] with an explicit environment, for tests.
    pub fn load_from(
        file: Option<&Path>,
        env: &[(String, String)],
        overrides: &Overrides,
    ) -> Result<Self, ConfigError> {
        let (parsed, base) = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                let parsed = parse_file(path, &text)?;
                let base = path
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| PathBuf::from("."));
                (parsed, Some(base))
            }
            None => (FileConfig::default(), None),
        };
        let from_file = |p: PathBuf| match &base {
            Some(b) if p.is_relative() => b.join(p),
            _ => p,
        };
        let file_name = file.map(|p| p.display().to_string());
        let env_get = |key: &str| {
            env.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };

        let mut listen = (
            DEFAULT_LISTEN.to_string(),
            "default listen address".to_string(),
        );
        let mut state_dir = PathBuf::from(DEFAULT_STATE_DIR);
        let mut catalog = None;
        let mut site_root = None;
        let mut log_format = LogFormat::default();
        let mut http = HttpConfig::default();

        if let Some(v) = parsed.listen {
            listen = (
                v,
                format!(
                    "config file {}: key `listen`",
                    file_name.clone().unwrap_or_default()
                ),
            );
        }
        if let Some(v) = parsed.state_dir {
            state_dir = from_file(v);
        }
        if let Some(v) = parsed.catalog {
            catalog = Some(from_file(v));
        }
        if let Some(v) = parsed.site_root {
            site_root = Some(from_file(v));
        }
        if let Some(v) = parsed.log_format {
            log_format = v;
        }
        if let Some(v) = parsed.http {
            http = v;
        }

        if let Some(v) = env_get("SNAPKEEP_LISTEN") {
            listen = (v, "environment variable SNAPKEEP_LISTEN".to_string());
        }
        if let Some(v) = env_get("SNAPKEEP_STATE_DIR") {
            state_dir = PathBuf::from(v);
        }
        if let Some(v) = env_get("SNAPKEEP_CATALOG") {
            catalog = Some(PathBuf::from(v));
        }
        if let Some(v) = env_get("SNAPKEEP_SITE_ROOT") {
            site_root = Some(PathBuf::from(v));
        }
        if let Some(v) = env_get("SNAPKEEP_LOG_FORMAT") {
            log_format = match v.to_ascii_lowercase().as_str() {
                "human" => LogFormat::Human,
                "json" => LogFormat::Json,
                _ => {
                    return Err(ConfigError::Invalid {
                        source_name: "environment variable SNAPKEEP_LOG_FORMAT".into(),
                        message: format!("`{v}` is not a log format; use `human` or `json`"),
                    });
                }
            };
        }

        if let Some(v) = &overrides.listen {
            listen = (v.clone(), "--listen".to_string());
        }
        if let Some(v) = &overrides.state_dir {
            state_dir = v.clone();
        }
        if let Some(v) = &overrides.catalog {
            catalog = Some(v.clone());
        }
        if let Some(v) = overrides.log_format {
            log_format = v;
        }

        let listen_addr = parse_listen(&listen.0).map_err(|message| ConfigError::Invalid {
            source_name: listen.1.clone(),
            message,
        })?;
        if http.request_timeout_secs == 0 {
            return Err(ConfigError::Invalid {
                source_name: "http.request_timeout_secs".into(),
                message: "must be at least 1 second".into(),
            });
        }
        let catalog = catalog.unwrap_or_else(|| state_dir.join(CATALOG_FILE));
        let mut nodes = parsed.nodes;
        for node in &mut nodes {
            node.data_dirs = node.data_dirs.drain(..).map(&from_file).collect();
            node.commitlog_dir = node.commitlog_dir.take().map(&from_file);
            node.dev_node_dir = node.dev_node_dir.take().map(&from_file);
            node.jmx_password_file = node.jmx_password_file.take().map(&from_file);
            if node.jmx_user.is_some() && node.jmx_password_file.is_none() {
                node.jmx_password_file = env_get(JMX_PASSWORD_FILE_ENV).map(PathBuf::from);
            }
        }
        validate_nodes(&nodes, file_name.as_deref().unwrap_or("configuration"))?;
        let mut stores = parsed.stores;
        for store in &mut stores {
            store.path = store.path.take().map(&from_file);
            store.encryption_key_file = store.encryption_key_file.take().map(&from_file);
            store.secret_access_key_file = store.secret_access_key_file.take().map(&from_file);
        }
        if stores.is_empty() {
            stores.push(crate::backups::store::default_local(&state_dir));
        }
        validate_stores(
            &stores,
            &nodes,
            file_name.as_deref().unwrap_or("configuration"),
        )?;
        parsed
            .sampling
            .validate()
            .map_err(|message| ConfigError::Invalid {
                source_name: file_name.clone().unwrap_or_else(|| "configuration".into()),
                message,
            })?;
        parsed.rpo.check().map_err(|message| ConfigError::Invalid {
            source_name: file_name.clone().unwrap_or_else(|| "configuration".into()),
            message,
        })?;
        parsed
            .alerts
            .check()
            .map_err(|message| ConfigError::Invalid {
                source_name: file_name.clone().unwrap_or_else(|| "configuration".into()),
                message,
            })?;
        parsed
            .retention
            .check()
            .map_err(|message| ConfigError::Invalid {
                source_name: file_name.clone().unwrap_or_else(|| "configuration".into()),
                message,
            })?;
        Ok(Config {
            listen: listen_addr,
            state_dir,
            catalog,
            site_root,
            log_format,
            http,
            nodes,
            snapshots: parsed.snapshots,
            auth: parsed.auth,
            restore: parsed.restore,
            sampling: parsed.sampling,
            stores,
            backups: parsed.backups,
            rpo: parsed.rpo,
            alerts: parsed.alerts,
            retention: parsed.retention,
        })
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<&NodeConfig> {
        self.nodes.iter().find(|n| n.name == name)
    }
}

fn validate_nodes(nodes: &[NodeConfig], source: &str) -> Result<(), ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        source_name: source.to_string(),
        message,
    };
    for (i, n) in nodes.iter().enumerate() {
        n.check(i).map_err(invalid)?;
        if nodes[..i].iter().any(|m| m.name == n.name) {
            return Err(invalid(format!("node name `{}` is used twice", n.name)));
        }
    }
    Ok(())
}

fn validate_stores(
    stores: &[crate::backups::StoreConfig],
    nodes: &[NodeConfig],
    source: &str,
) -> Result<(), ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        source_name: source.to_string(),
        message,
    };
    for (i, s) in stores.iter().enumerate() {
        s.check()
            .map_err(|m| invalid(format!("stores[{i}]: {m}")))?;
        if stores[..i].iter().any(|t| t.name == s.name) {
            return Err(invalid(format!("store name `{}` is used twice", s.name)));
        }
    }
    for n in nodes {
        if let Some(want) = &n.store
            && !stores.iter().any(|s| &s.name == want)
        {
            let known: Vec<&str> = stores.iter().map(|s| s.name.as_str()).collect();
            return Err(invalid(format!(
                "node `{}` names store `{want}`, which is not configured; stores: {}",
                n.name,
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// Parses a listen address: `HOST:PORT` with an IP host, or `localhost:PORT`.
fn parse_listen(raw: &str) -> Result<SocketAddr, String> {
    let trimmed = raw.trim();
    let normalised = match trimmed.strip_prefix("localhost:") {
        Some(port) => format!("127.0.0.1:{port}"),
        None => trimmed.to_string(),
    };
    normalised.parse::<SocketAddr>().map_err(|_| {
        format!("`{raw}` is not a listen address; use IP:PORT such as 127.0.0.1:3000 (port 0 picks a free port)")
    })
}

/// Parses the TOML text of a config file, turning errors into file/line/key messages.
fn parse_file(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
    toml::from_str::<FileConfig>(text).map_err(|err| {
        let (line, key) = match err.span() {
            Some(span) => {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                let snippet = text.get(span.clone()).unwrap_or("").trim();
                let key = if !snippet.is_empty()
                    && snippet.len() <= 64
                    && snippet
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                {
                    format!(", key `{snippet}`")
                } else {
                    String::new()
                };
                (line, key)
            }
            None => (1, String::new()),
        };
        ConfigError::Parse {
            path: path.to_path_buf(),
            line,
            key,
            message: err.message().trim().to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("snapkeep.toml");
        std::fs::write(&path, text).expect("write test config");
        path
    }

    #[test]
    fn defaults_work_on_a_laptop() {
        let c = Config::load_from(None, &[], &Overrides::default()).expect("defaults");
        assert_eq!(c.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(c.state_dir, PathBuf::from("snapkeep-data"));
        assert_eq!(c.catalog, PathBuf::from("snapkeep-data/catalog.db"));
        assert_eq!(c.log_format, LogFormat::Human);
    }

    #[test]
    fn file_then_env_then_flags() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(
            dir.path(),
            "listen = \"127.0.0.1:4000\"\nstate_dir = \"state\"\nlog_format = \"json\"\n",
        );
        let c = Config::load_from(Some(&path), &[], &Overrides::default()).expect("file");
        assert_eq!(c.listen.port(), 4000);
        assert_eq!(c.state_dir, dir.path().join("state"));
        assert_eq!(c.catalog, dir.path().join("state").join("catalog.db"));
        assert_eq!(c.log_format, LogFormat::Json);

        let env = vec![("SNAPKEEP_LISTEN".to_string(), "127.0.0.1:5000".to_string())];
        let c = Config::load_from(Some(&path), &env, &Overrides::default()).expect("env");
        assert_eq!(c.listen.port(), 5000);

        let flags = Overrides {
            listen: Some("127.0.0.1:0".into()),
            ..Overrides::default()
        };
        let c = Config::load_from(Some(&path), &env, &flags).expect("flags");
        assert_eq!(c.listen.port(), 0);
    }

    #[test]
    fn a_typo_names_file_line_and_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(
            dir.path(),
            "# comment\nlisten = \"127.0.0.1:3000\"\nlisen = 1\n",
        );
        let err =
            Config::load_from(Some(&path), &[], &Overrides::default()).expect_err("typo must fail");
        let msg = err.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("key `lisen`"), "{msg}");
        assert!(msg.contains("unknown field"), "{msg}");
    }

    #[test]
    fn bad_listen_address_is_explained() {
        let flags = Overrides {
            listen: Some("nonsense".into()),
            ..Overrides::default()
        };
        let err = Config::load_from(None, &[], &flags).expect_err("bad listen");
        assert!(
            err.to_string()
                .starts_with("--listen: `nonsense` is not a listen address")
        );
    }

    #[test]
    fn nodes_are_read_with_paths_relative_to_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(
            dir.path(),
            "[[nodes]]\nname = \"node1\"\ncql = \"127.0.0.1:19042\"\ndata_dirs = [\"node1/data\"]\n",
        );
        let c = Config::load_from(Some(&path), &[], &Overrides::default()).expect("nodes");
        let n = c.node("node1").expect("node1");
        assert_eq!(n.data_dirs, vec![dir.path().join("node1/data")]);
        assert_eq!(n.jmx, "127.0.0.1:7199");
        assert_eq!(n.nodetool, vec!["nodetool".to_string()]);
    }

    #[test]
    fn bad_nodes_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(
            dir.path(),
            "[[nodes]]\nname = \"-x\"\ndata_dirs = [\"d\"]\n",
        );
        let err = Config::load_from(Some(&path), &[], &Overrides::default()).expect_err("bad");
        assert!(err.to_string().contains("nodes[0].name `-x`"), "{err}");
        let path = write(dir.path(), "[[nodes]]\nname = \"a\"\ndata_dirs = []\n");
        let err = Config::load_from(Some(&path), &[], &Overrides::default()).expect_err("bad");
        assert!(err.to_string().contains("no data_dirs"), "{err}");
    }

    #[test]
    fn sampling_is_read_and_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let c = Config::load_from(None, &[], &Overrides::default()).expect("defaults");
        assert_eq!(c.sampling.interval_secs, 3600);
        assert_eq!(c.sampling.keep_hourly_days, 30);
        let path = write(dir.path(), "[sampling]\ninterval_secs = 900\n");
        let c = Config::load_from(Some(&path), &[], &Overrides::default()).expect("sampling");
        assert_eq!(c.sampling.interval_secs, 900);
        let path = write(dir.path(), "[sampling]\ninterval_secs = 10\n");
        let err = Config::load_from(Some(&path), &[], &Overrides::default()).expect_err("bad");
        assert!(
            err.to_string().contains("sampling.interval_secs = 10"),
            "{err}"
        );
        let path = write(dir.path(), "[sampling]\nevery = 10\n");
        let err = Config::load_from(Some(&path), &[], &Overrides::default()).expect_err("typo");
        assert!(err.to_string().contains("key `every`"), "{err}");
    }

    #[test]
    fn stop_and_start_commands_come_together() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(
            dir.path(),
            "[[nodes]]\nname = \"a\"\ndata_dirs = [\"d\"]\ncommitlog_dir = \"cl\"\nstop_command = [\"systemctl\", \"stop\", \"cassandra\"]\nstart_command = [\"systemctl\", \"start\", \"cassandra\"]\nstart_timeout_secs = 900\n",
        );
        let c = Config::load_from(Some(&path), &[], &Overrides::default()).expect("commands");
        let n = c.node("a").expect("node a");
        assert_eq!(
            n.stop_command.as_deref(),
            Some(&["systemctl".to_string(), "stop".into(), "cassandra".into()][..])
        );
        assert_eq!(n.start_timeout_secs, 900);
        assert_eq!(n.stop_timeout_secs, 300);
        assert_eq!(n.commitlog_dir, Some(dir.path().join("cl")));
        let path = write(
            dir.path(),
            "[[nodes]]\nname = \"a\"\ndata_dirs = [\"d\"]\nstop_command = [\"x\"]\n",
        );
        let err = Config::load_from(Some(&path), &[], &Overrides::default()).expect_err("half");
        assert!(err.to_string().contains("give both"), "{err}");
        let path = write(
            dir.path(),
            "[[nodes]]\nname = \"a\"\ndata_dirs = [\"d\"]\nstop_command = []\nstart_command = [\"y\"]\n",
        );
        let err = Config::load_from(Some(&path), &[], &Overrides::default()).expect_err("empty");
        assert!(err.to_string().contains("must name a program"), "{err}");
    }

    #[test]
    fn jmx_passwords_come_from_a_file_never_from_the_nodetool_argv() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(
            dir.path(),
            "[[nodes]]\nname = \"a\"\ndata_dirs = [\"d\"]\njmx_user = \"cassandra\"\njmx_password_file = \"jmx.pw\"\n",
        );
        let c = Config::load_from(Some(&path), &[], &Overrides::default()).expect("jmx");
        let n = c.node("a").expect("node a");
        assert_eq!(n.jmx_user.as_deref(), Some("cassandra"));
        assert_eq!(n.jmx_password_file, Some(dir.path().join("jmx.pw")));

        // The file may come from the environment.
        let path = write(
            dir.path(),
            "[[nodes]]\nname = \"a\"\ndata_dirs = [\"d\"]\njmx_user = \"cassandra\"\n",
        );
        let env = vec![(
            JMX_PASSWORD_FILE_ENV.to_string(),
            "/run/secrets/jmx".to_string(),
        )];
        let c = Config::load_from(Some(&path), &env, &Overrides::default()).expect("env");
        assert_eq!(
            c.node("a").and_then(|n| n.jmx_password_file.clone()),
            Some(PathBuf::from("/run/secrets/jmx"))
        );
        let err = Config::load_from(Some(&path), &[], &Overrides::default()).expect_err("none");
        assert!(err.to_string().contains("jmx_password_file"), "{err}");

        let path = write(
            dir.path(),
            "[[nodes]]\nname = \"a\"\ndata_dirs = [\"d\"]\nnodetool = [\"nodetool\", \"-u\", \"c\", \"-pw\", \"hunter2\"]\n",
        );
        let err = Config::load_from(Some(&path), &[], &Overrides::default()).expect_err("argv");
        let msg = err.to_string();
        assert!(msg.contains("jmx_password_file"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
    }

    #[test]
    fn missing_file_is_named() {
        let err = Config::load_from(
            Some(Path::new("/nonexistent/snapkeep.toml")),
            &[],
            &Overrides::default(),
        )
        .expect_err("missing");
        assert!(err.to_string().contains("/nonexistent/snapkeep.toml"));
    }
}
