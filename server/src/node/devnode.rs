//! `snapkeep dev-node`: a real Apache Cassandra 5.0 node for the demo and the tests.
//!
//! Cassandra comes from Maven Central (`org.apache.cassandra:cassandra-all` and its runtime
//! dependencies, fetched once with `mvn` into a cache directory), runs on the machine's JDK 17
//! with the JVM options Cassandra's own scripts pass, from a per-node directory holding its
//! `conf/`, `data/`, `commitlog/`, `hints/`, `saved_caches/` and `logs/`. nodetool is the real
//! `org.apache.cassandra.tools.NodeTool` on the same class path.

use std::fs;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::node::config::NodeConfig;
use crate::process::{Command, RunError};

/// The Cassandra release the dev node runs.
pub const CASSANDRA_VERSION: &str = "5.0.8";

const POM: &str = include_str!("../../cassandra/pom.xml");
const YAML_TEMPLATE: &str = include_str!("../../cassandra/cassandra.yaml.tmpl");
const LOGBACK: &str = include_str!("../../cassandra/logback.xml");
const JVM_ARGS: &str = include_str!("../../cassandra/jvm-args.txt");
const NODETOOL_JVM_ARGS: &str = include_str!("../../cassandra/nodetool-jvm-args.txt");
const TOOLS_LOGBACK: &str = include_str!("../../cassandra/logback-tools.xml");

const NODE_FILE: &str = "node.json";
const PID_FILE: &str = "cassandra.pid";

/// What can go wrong starting or stopping a dev node.
#[derive(Debug, thiserror::Error)]
pub enum DevNodeError {
    #[error(
        "Java was not found (`java -version` failed: {0}). Install JDK 17, e.g. `apt-get install -y openjdk-17-jdk-headless`, or set JAVA_HOME"
    )]
    JavaMissing(String),
    #[error(
        "Java {found} is too old; Cassandra {CASSANDRA_VERSION} needs Java 11 or 17 (set JAVA_HOME to a JDK 17)"
    )]
    JavaTooOld { found: String },
    #[error(
        "Maven was not found (`mvn -v` failed: {0}). Install it, e.g. `apt-get install -y maven`: it fetches Cassandra from Maven Central"
    )]
    MavenMissing(String),
    #[error("fetching Cassandra {CASSANDRA_VERSION} from Maven Central failed: {0}")]
    Fetch(#[source] RunError),
    #[error(
        "{what} port {addr} is already in use (another Cassandra or dev node?); pick another with --{flag}"
    )]
    PortTaken {
        what: &'static str,
        flag: &'static str,
        addr: SocketAddr,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Template(String),
    #[error("Cassandra exited during start-up ({status}); the end of its log {log}:\n{tail}")]
    EarlyExit {
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error(
        "Cassandra did not open its CQL port {addr} within {secs} s; the end of its log {log}:\n{tail}"
    )]
    StartTimeout {
        addr: SocketAddr,
        secs: u64,
        log: PathBuf,
        tail: String,
    },
    #[error(
        "{dir} is not a dev node directory (no {NODE_FILE}); start one with `snapkeep dev-node start --dir {dir}`"
    )]
    NotADevNode { dir: PathBuf },
    #[error("node.json in {dir} is unreadable: {detail}")]
    BadNodeFile { dir: PathBuf, detail: String },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DevNodeError + '_ {
    move |source| DevNodeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Options of `snapkeep dev-node start`.
#[derive(Debug, Clone)]
pub struct StartOptions {
    pub dir: PathBuf,
    pub name: String,
    pub listen: Ipv4Addr,
    pub cql_port: Option<u16>,
    pub jmx_port: Option<u16>,
    pub storage_port: Option<u16>,
    pub incremental_backups: bool,
    /// The node gets SIGTERM when the thread that started it ends (tests).
    pub exit_with_parent: bool,
    pub start_timeout: Duration,
    /// Joins this ring instead of forming a ring of its own.
    pub ring: Option<Ring>,
}

/// A node's place in a dev cluster: the cluster's name, its seed (`IP:PORT`) and the node's
/// one token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ring {
    pub cluster_name: String,
    pub seeds: String,
    pub initial_token: i64,
}

impl StartOptions {
    /// Options that start the node saved in `node` (its `node.json`) again as it was: same
    /// name, address, ports and `incremental_backups`.
    pub fn restart(node: &DevNode) -> Self {
        Self {
            name: node.name.clone(),
            listen: node.listen,
            cql_port: Some(node.cql_port),
            jmx_port: Some(node.jmx_port),
            storage_port: Some(node.storage_port),
            incremental_backups: node.incremental_backups,
            ring: node.ring.clone(),
            ..Self::new(&node.dir)
        }
    }

    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            name: "node1".into(),
            listen: Ipv4Addr::LOCALHOST,
            cql_port: None,
            jmx_port: None,
            storage_port: None,
            incremental_backups: false,
            exit_with_parent: false,
            start_timeout: Duration::from_secs(240),
            ring: None,
        }
    }
}

/// A dev node's identity and ports, kept in `DIR/node.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevNode {
    pub name: String,
    pub dir: PathBuf,
    pub listen: Ipv4Addr,
    pub cql_port: u16,
    pub jmx_port: u16,
    pub storage_port: u16,
    pub lib_dir: PathBuf,
    pub java: PathBuf,
    pub incremental_backups: bool,
    /// Set for a node of a dev cluster (`--cluster N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring: Option<Ring>,
}

impl DevNode {
    pub fn cql_addr(&self) -> SocketAddr {
        SocketAddr::from((self.listen, self.cql_port))
    }
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }
    pub fn commitlog_dir(&self) -> PathBuf {
        self.dir.join("commitlog")
    }
    pub fn log_file(&self) -> PathBuf {
        self.dir.join("logs").join("system.log")
    }
    fn console_log(&self) -> PathBuf {
        self.dir.join("logs").join("console.log")
    }

    /// The argv that runs the real nodetool for this node (without `-h`/`-p`).
    pub fn nodetool_argv(&self) -> Vec<String> {
        let mut argv = vec![self.java.display().to_string()];
        argv.extend(
            NODETOOL_JVM_ARGS
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(|l| l.replace("{{LIB_DIR}}", &self.lib_dir.display().to_string())),
        );
        argv.push("-cp".into());
        argv.push(format!("{}/*", self.lib_dir.display()));
        argv.push("org.apache.cassandra.tools.NodeTool".into());
        argv
    }

    /// The node as Snapkeep's configuration describes it.
    pub fn node_config(&self) -> NodeConfig {
        NodeConfig {
            cql: format!("{}:{}", self.listen, self.cql_port),
            jmx: format!("127.0.0.1:{}", self.jmx_port),
            commitlog_dir: Some(self.commitlog_dir()),
            nodetool: self.nodetool_argv(),
            nodetool_timeout_secs: 120,
            dev_node_dir: Some(self.dir.clone()),
            ..NodeConfig::new(self.name.clone(), vec![self.data_dir()])
        }
    }

    /// The pid of the running node, if it runs.
    pub fn running_pid(&self) -> Option<i32> {
        let text = fs::read_to_string(self.dir.join(PID_FILE)).ok()?;
        let pid: i32 = text.trim().parse().ok()?;
        process_alive(pid).then_some(pid)
    }

    /// True when the CQL port accepts connections.
    pub fn cql_open(&self) -> bool {
        // Ports come from the ephemeral range: with nothing listening, a connect can meet
        // itself (TCP simultaneous open), which is no answer.
        TcpStream::connect_timeout(&self.cql_addr(), Duration::from_millis(500)).is_ok_and(|s| {
            match (s.local_addr(), s.peer_addr()) {
                (Ok(local), Ok(peer)) => local != peer,
                _ => false,
            }
        })
    }
}

/// True when `pid` exists and is not a zombie.
fn process_alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks for existence.
    if unsafe { libc::kill(pid, 0) } != 0 {
        return false;
    }
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => true,
    }
}

/// Where Cassandra's jars are cached: `$SNAPKEEP_CACHE_DIR`, else `$XDG_CACHE_HOME/snapkeep`,
/// else `~/.cache/snapkeep`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SNAPKEEP_CACHE_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir).join("snapkeep");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache").join("snapkeep")
}

/// The java binary: `$JAVA_HOME/bin/java`, else `java` on PATH.
fn java_path() -> PathBuf {
    std::env::var_os("JAVA_HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join("bin").join("java"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("java"))
}

/// Checks Java (11+) and returns its path.
pub async fn check_java() -> Result<PathBuf, DevNodeError> {
    let java = java_path();
    let out = Command::new(&java)
        .arg("-version")
        .timeout(Duration::from_secs(30))
        .run()
        .await
        .map_err(|e| DevNodeError::JavaMissing(e.to_string()))?;
    let text = format!("{}{}", out.stderr, out.stdout);
    let version = text.split('"').nth(1).unwrap_or("").to_string();
    let major: u32 = version
        .split(['.', '-', '+'])
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < 11 {
        return Err(DevNodeError::JavaTooOld { found: version });
    }
    Ok(java)
}

/// Makes sure Cassandra's jars are in the cache (fetching them with Maven once) and returns
/// the directory holding them.
pub async fn ensure_cassandra() -> Result<PathBuf, DevNodeError> {
    let root = cache_dir().join(format!("cassandra-{CASSANDRA_VERSION}"));
    let lib = root.join("lib");
    let marker = root.join(".complete");
    if marker.is_file() && lib.is_dir() {
        write_tools_logback(&lib)?;
        return Ok(lib);
    }
    Command::new("mvn")
        .arg("-v")
        .timeout(Duration::from_secs(60))
        .run()
        .await
        .map_err(|e| DevNodeError::MavenMissing(e.to_string()))?;
    fs::create_dir_all(&root).map_err(io_err(&root))?;
    let pom = root.join("pom.xml");
    fs::write(&pom, POM).map_err(io_err(&pom))?;
    let staging = root.join("lib.partial");
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(io_err(&staging))?;
    }
    tracing::info!(version = CASSANDRA_VERSION, dir = %root.display(), "fetching Cassandra from Maven Central (once)");
    Command::new("mvn")
        .args(["-q", "-B", "-f"])
        .arg(&pom)
        .arg("dependency:copy-dependencies")
        .arg(format!("-DoutputDirectory={}", staging.display()))
        .arg("-DincludeScope=runtime")
        .timeout(Duration::from_secs(1200))
        .run()
        .await
        .map_err(DevNodeError::Fetch)?;
    if lib.exists() {
        fs::remove_dir_all(&lib).map_err(io_err(&lib))?;
    }
    fs::rename(&staging, &lib).map_err(io_err(&lib))?;
    fs::write(&marker, CASSANDRA_VERSION).map_err(io_err(&marker))?;
    write_tools_logback(&lib)?;
    Ok(lib)
}

/// nodetool's logging configuration (warnings to stderr, so stdout is only the answer).
fn write_tools_logback(lib: &Path) -> Result<(), DevNodeError> {
    let path = lib.join("logback-tools.xml");
    if fs::read_to_string(&path).ok().as_deref() != Some(TOOLS_LOGBACK) {
        fs::write(&path, TOOLS_LOGBACK).map_err(io_err(&path))?;
    }
    Ok(())
}

/// Replaces every `{{KEY}}`; a placeholder left over is an error.
fn render(template: &str, vars: &[(&str, String)]) -> Result<String, DevNodeError> {
    let mut out = template.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{{{k}}}}}"), v);
    }
    match out.find("{{") {
        Some(i) => Err(DevNodeError::Template(format!(
            "template placeholder left unfilled near `{}`",
            out[i..].chars().take(40).collect::<String>()
        ))),
        None => Ok(out),
    }
}

fn free_port(ip: Ipv4Addr) -> Result<u16, DevNodeError> {
    let l = TcpListener::bind((ip, 0)).map_err(io_err(Path::new("(free port)")))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(io_err(Path::new("(free port)")))
}

fn check_port(
    ip: Ipv4Addr,
    port: u16,
    what: &'static str,
    flag: &'static str,
) -> Result<(), DevNodeError> {
    TcpListener::bind((ip, port))
        .map(drop)
        .map_err(|_| DevNodeError::PortTaken {
            what,
            flag,
            addr: SocketAddr::from((ip, port)),
        })
}

/// Reads `DIR/node.json`.
pub fn load(dir: &Path) -> Result<DevNode, DevNodeError> {
    let path = dir.join(NODE_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(DevNodeError::NotADevNode {
                dir: dir.to_path_buf(),
            });
        }
        Err(e) => return Err(io_err(&path)(e)),
    };
    serde_json::from_str(&text).map_err(|e| DevNodeError::BadNodeFile {
        dir: dir.to_path_buf(),
        detail: e.to_string(),
    })
}

/// A started node; `child` is set when this process started it (so it can be reaped).
pub struct Started {
    pub node: DevNode,
    pub child: Option<Child>,
    /// True when a node already running in DIR was reused.
    pub reused: bool,
}

/// Starts (or reuses) the dev node in `opts.dir` and waits until CQL answers.
pub async fn start(opts: &StartOptions) -> Result<Started, DevNodeError> {
    let dir = absolute(&opts.dir)?;
    fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let existing = match load(&dir) {
        Ok(n) => Some(n),
        Err(DevNodeError::NotADevNode { .. }) => None,
        Err(e) => return Err(e),
    };
    if let Some(node) = &existing
        && node.running_pid().is_some()
    {
        wait_for_cql(node, None, opts.start_timeout).await?;
        return Ok(Started {
            node: node.clone(),
            child: None,
            reused: true,
        });
    }
    let java = check_java().await?;
    let lib_dir = ensure_cassandra().await?;
    // A node restarted in the same directory keeps its ports unless new ones are given.
    let pick = |given: Option<u16>, old: Option<u16>| -> Result<u16, DevNodeError> {
        match given.or(old) {
            Some(p) => Ok(p),
            None => free_port(opts.listen),
        }
    };
    let cql_port = pick(opts.cql_port, existing.as_ref().map(|n| n.cql_port))?;
    let storage_port = pick(opts.storage_port, existing.as_ref().map(|n| n.storage_port))?;
    let jmx_port = match opts.jmx_port.or(existing.as_ref().map(|n| n.jmx_port)) {
        Some(p) => p,
        None => free_port(Ipv4Addr::LOCALHOST)?,
    };
    check_port(opts.listen, cql_port, "CQL", "cql-port")?;
    check_port(opts.listen, storage_port, "storage", "storage-port")?;
    check_port(Ipv4Addr::LOCALHOST, jmx_port, "JMX", "jmx-port")?;

    let node = DevNode {
        name: existing
            .as_ref()
            .map(|n| n.name.clone())
            .unwrap_or_else(|| opts.name.clone()),
        dir: dir.clone(),
        listen: opts.listen,
        cql_port,
        jmx_port,
        storage_port,
        lib_dir: lib_dir.clone(),
        java: java.clone(),
        incremental_backups: opts.incremental_backups,
        ring: opts
            .ring
            .clone()
            .or(existing.as_ref().and_then(|n| n.ring.clone())),
    };
    let ring = node.ring.clone().unwrap_or_else(|| Ring {
        cluster_name: format!("snapkeep-dev-{}", node.name),
        seeds: format!("{}:{storage_port}", opts.listen),
        initial_token: 0,
    });
    let conf = dir.join("conf");
    let logs = dir.join("logs");
    for sub in [
        "conf",
        "data",
        "commitlog",
        "saved_caches",
        "hints",
        "cdc_raw",
        "logs",
    ] {
        let p = dir.join(sub);
        fs::create_dir_all(&p).map_err(io_err(&p))?;
    }
    let s = |p: PathBuf| p.display().to_string();
    let vars = [
        ("DATA_DIR", s(dir.join("data"))),
        ("COMMITLOG_DIR", s(dir.join("commitlog"))),
        ("SAVED_CACHES_DIR", s(dir.join("saved_caches"))),
        ("HINTS_DIR", s(dir.join("hints"))),
        ("CDC_DIR", s(dir.join("cdc_raw"))),
        ("LISTEN", opts.listen.to_string()),
        ("CQL_PORT", cql_port.to_string()),
        ("STORAGE_PORT", storage_port.to_string()),
        ("CLUSTER_NAME", ring.cluster_name.clone()),
        ("SEEDS", ring.seeds.clone()),
        ("INITIAL_TOKEN", ring.initial_token.to_string()),
        // A node that joins a ring waits this long to hear from its seed before it gives up;
        // a node that is its own seed has no one to wait for.
        (
            "RING_DELAY_MS",
            if ring.seeds.starts_with(&format!("{}:", opts.listen)) {
                "0"
            } else {
                "5000"
            }
            .to_string(),
        ),
        ("INCREMENTAL_BACKUPS", opts.incremental_backups.to_string()),
        ("LIB_DIR", s(lib_dir.clone())),
        ("CONF_DIR", s(conf.clone())),
        ("LOG_DIR", s(logs.clone())),
        ("JMX_PORT", jmx_port.to_string()),
        ("NODE_DIR", s(dir.clone())),
    ];
    let yaml = render(YAML_TEMPLATE, &vars)?;
    let yaml_path = conf.join("cassandra.yaml");
    fs::write(&yaml_path, yaml).map_err(io_err(&yaml_path))?;
    let logback_path = conf.join("logback.xml");
    fs::write(&logback_path, LOGBACK).map_err(io_err(&logback_path))?;
    let jvm_args: Vec<String> = render(JVM_ARGS, &vars)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    let node_file = dir.join(NODE_FILE);
    let json = serde_json::to_string_pretty(&node).map_err(|e| DevNodeError::BadNodeFile {
        dir: dir.clone(),
        detail: e.to_string(),
    })?;
    fs::write(&node_file, json).map_err(io_err(&node_file))?;

    let console = node.console_log();
    let out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&console)
        .map_err(io_err(&console))?;
    let err = out.try_clone().map_err(io_err(&console))?;
    let mut cmd = std::process::Command::new(&java);
    cmd.args(&jvm_args)
        .arg("-cp")
        .arg(format!("{}/*", lib_dir.display()))
        .arg("org.apache.cassandra.service.CassandraDaemon")
        .current_dir(&dir)
        .env("CASSANDRA_CONF", &conf)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .process_group(0);
    if opts.exit_with_parent {
        // SAFETY: prctl is async-signal-safe and touches only the child being exec'd.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn().map_err(io_err(&java))?;
    let pid_path = dir.join(PID_FILE);
    fs::write(&pid_path, child.id().to_string()).map_err(io_err(&pid_path))?;
    tracing::info!(dir = %dir.display(), pid = child.id(), cql = %node.cql_addr(), "Cassandra dev node starting");
    if let Err(e) = wait_for_cql(&node, Some(&mut child), opts.start_timeout).await {
        let _ = kill_group(child.id() as i32, libc::SIGKILL);
        let _ = child.wait();
        return Err(e);
    }
    Ok(Started {
        node,
        child: Some(child),
        reused: false,
    })
}

async fn wait_for_cql(
    node: &DevNode,
    mut child: Option<&mut Child>,
    timeout: Duration,
) -> Result<(), DevNodeError> {
    let start = Instant::now();
    loop {
        if node.cql_open() {
            return Ok(());
        }
        if let Some(c) = child.as_deref_mut()
            && let Ok(Some(status)) = c.try_wait()
        {
            return Err(DevNodeError::EarlyExit {
                status: status.to_string(),
                log: node.console_log(),
                tail: log_tail(&[node.console_log(), node.log_file()]),
            });
        }
        if start.elapsed() > timeout {
            return Err(DevNodeError::StartTimeout {
                addr: node.cql_addr(),
                secs: timeout.as_secs(),
                log: node.log_file(),
                tail: log_tail(&[node.log_file(), node.console_log()]),
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The last lines of the first log that has any.
fn log_tail(paths: &[PathBuf]) -> String {
    for p in paths {
        if let Ok(mut f) = fs::File::open(p) {
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            let _ = f.seek(SeekFrom::Start(len.saturating_sub(4000)));
            let mut s = String::new();
            if f.read_to_string(&mut s).is_ok() && !s.trim().is_empty() {
                return s
                    .lines()
                    .rev()
                    .take(25)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n");
            }
        }
    }
    "(no log output)".into()
}

fn kill_group(pid: i32, sig: i32) -> bool {
    // SAFETY: plain integers; a stale pid yields ESRCH.
    unsafe { libc::killpg(pid, sig) == 0 }
}

/// The name of a dev cluster's ring.
pub const CLUSTER_NAME: &str = "snapkeep-dev";

/// Most nodes a dev cluster has (one loopback address each, 127.0.0.1 up).
pub const MAX_CLUSTER: usize = 9;

/// The one token of node `i` (0-based) of `n`: the Murmur3 ring cut in `n` equal ranges.
pub fn ring_token(i: usize, n: usize) -> i64 {
    let step = (1i128 << 64) / n.max(1) as i128;
    (i64::MIN as i128 + step * i as i128) as i64
}

/// The directories of a dev cluster's nodes: `DIR/node1` … `DIR/nodeN`.
pub fn cluster_dirs(dir: &Path, n: usize) -> Vec<PathBuf> {
    (1..=n).map(|i| dir.join(format!("node{i}"))).collect()
}

/// The nodes of the dev cluster in `dir` (its `node1`, `node2`, … subdirectories in order),
/// or `None` when `dir` holds no cluster.
pub fn load_cluster(dir: &Path) -> Result<Option<Vec<DevNode>>, DevNodeError> {
    let mut nodes = Vec::new();
    for d in cluster_dirs(dir, MAX_CLUSTER) {
        match load(&d) {
            Ok(n) => nodes.push(n),
            Err(DevNodeError::NotADevNode { .. }) => break,
            Err(e) => return Err(e),
        }
    }
    Ok((!nodes.is_empty()).then_some(nodes))
}

/// Starts (or reuses) a dev cluster of `n` nodes in `dir`: `nodeK` on 127.0.0.K, one after
/// another (a node joins the ring only once the one before it answers), the same storage port
/// on every address, a JMX and CQL port each, one token each, node1 the seed. `template`
/// gives the options every node shares (incremental backups, timeouts, exit with parent).
pub async fn start_cluster(
    dir: &Path,
    n: usize,
    template: &StartOptions,
) -> Result<Vec<Started>, DevNodeError> {
    if !(2..=MAX_CLUSTER).contains(&n) {
        return Err(DevNodeError::Template(format!(
            "a dev cluster has 2 to {MAX_CLUSTER} nodes, not {n}"
        )));
    }
    let dir = absolute(dir)?;
    let dirs = cluster_dirs(&dir, n);
    let ip = |i: usize| Ipv4Addr::new(127, 0, 0, i as u8 + 1);
    // One storage port for the ring: node1's if it ran before, else one free on every address.
    let storage_port = match load(&dirs[0]) {
        Ok(first) => first.storage_port,
        Err(DevNodeError::NotADevNode { .. }) => {
            let mut found = None;
            for _ in 0..20 {
                let p = free_port(ip(0))?;
                if (1..n).all(|i| TcpListener::bind((ip(i), p)).is_ok()) {
                    found = Some(p);
                    break;
                }
            }
            found.ok_or_else(|| {
                DevNodeError::Template(format!(
                    "no storage port is free on all of 127.0.0.1 to 127.0.0.{n}"
                ))
            })?
        }
        Err(e) => return Err(e),
    };
    let mut started = Vec::with_capacity(n);
    for (i, node_dir) in dirs.iter().enumerate() {
        let mut opts = template.clone();
        opts.dir = node_dir.clone();
        opts.name = format!("node{}", i + 1);
        opts.listen = ip(i);
        opts.storage_port = Some(storage_port);
        opts.cql_port = None;
        opts.jmx_port = None;
        opts.ring = Some(Ring {
            cluster_name: CLUSTER_NAME.into(),
            seeds: format!("{}:{storage_port}", ip(0)),
            initial_token: ring_token(i, n),
        });
        started.push(start(&opts).await?);
    }
    Ok(started)
}

/// Stops the dev node in `dir`: SIGTERM, wait up to `timeout`, then SIGKILL.
/// Returns false when it was not running.
pub async fn stop(dir: &Path, timeout: Duration) -> Result<bool, DevNodeError> {
    let node = load(dir)?;
    let Some(pid) = node.running_pid() else {
        return Ok(false);
    };
    // SAFETY: plain integers.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let start = Instant::now();
    while process_alive(pid) {
        if start.elapsed() > timeout {
            tracing::warn!(pid, "Cassandra did not stop after SIGTERM; sending SIGKILL");
            kill_group(pid, libc::SIGKILL);
            tokio::time::sleep(Duration::from_millis(500)).await;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = fs::remove_file(dir.join(PID_FILE));
    Ok(true)
}

/// Writes `DIR/snapkeep.toml`: a server configuration for this node, with Snapkeep's state
/// under `DIR/snapkeep`.
pub fn write_config(node: &DevNode) -> Result<PathBuf, DevNodeError> {
    write_config_for(&node.dir, std::slice::from_ref(node), "the dev node")
}

/// Writes `DIR/snapkeep.toml` for the nodes of a dev cluster in `dir`.
pub fn write_cluster_config(dir: &Path, nodes: &[DevNode]) -> Result<PathBuf, DevNodeError> {
    write_config_for(&absolute(dir)?, nodes, "the dev cluster")
}

fn write_config_for(dir: &Path, nodes: &[DevNode], what: &str) -> Result<PathBuf, DevNodeError> {
    #[derive(Serialize)]
    struct File {
        state_dir: PathBuf,
        nodes: Vec<NodeConfig>,
    }
    let text = toml::to_string_pretty(&File {
        state_dir: dir.join("snapkeep"),
        nodes: nodes.iter().map(DevNode::node_config).collect(),
    })
    .map_err(|e| DevNodeError::Template(e.to_string()))?;
    let path = dir.join("snapkeep.toml");
    let text = format!(
        "# Written by `snapkeep dev-node start`: Snapkeep pointed at {what} in this directory.\n{text}"
    );
    fs::write(&path, text).map_err(io_err(&path))?;
    Ok(path)
}

fn absolute(p: &Path) -> Result<PathBuf, DevNodeError> {
    if p.is_absolute() {
        Ok(p.to_path_buf())
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .map_err(io_err(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clusters_tokens_cut_the_ring_in_equal_ranges() {
        assert_eq!(ring_token(0, 3), i64::MIN);
        assert_eq!(ring_token(1, 3), -3_074_457_345_618_258_603);
        assert_eq!(ring_token(2, 3), 3_074_457_345_618_258_602);
        assert_eq!(ring_token(1, 2), 0);
        let five: Vec<i64> = (0..5).map(|i| ring_token(i, 5)).collect();
        assert!(five.windows(2).all(|w| w[0] < w[1]), "{five:?}");
    }

    #[test]
    fn render_fills_every_placeholder_or_fails() {
        assert_eq!(
            render("a={{A}} b={{B}}", &[("A", "1".into()), ("B", "2".into())]).expect("ok"),
            "a=1 b=2"
        );
        assert!(render("a={{A}} c={{C}}", &[("A", "1".into())]).is_err());
    }

    #[test]
    fn shipped_templates_have_only_known_placeholders() {
        let vars: Vec<(&str, String)> = [
            "DATA_DIR",
            "COMMITLOG_DIR",
            "SAVED_CACHES_DIR",
            "HINTS_DIR",
            "CDC_DIR",
            "LISTEN",
            "CQL_PORT",
            "STORAGE_PORT",
            "CLUSTER_NAME",
            "SEEDS",
            "INITIAL_TOKEN",
            "RING_DELAY_MS",
            "INCREMENTAL_BACKUPS",
            "LIB_DIR",
            "CONF_DIR",
            "LOG_DIR",
            "JMX_PORT",
            "NODE_DIR",
        ]
        .iter()
        .map(|k| (*k, "x".to_string()))
        .collect();
        render(YAML_TEMPLATE, &vars).expect("yaml template");
        render(JVM_ARGS, &vars).expect("jvm args");
        render(NODETOOL_JVM_ARGS, &vars).expect("nodetool args");
    }

    #[test]
    fn nodetool_argv_uses_the_cached_jars() {
        let n = DevNode {
            name: "node1".into(),
            dir: "/d".into(),
            listen: Ipv4Addr::LOCALHOST,
            cql_port: 1,
            jmx_port: 2,
            storage_port: 3,
            lib_dir: "/cache/lib".into(),
            java: "/usr/bin/java".into(),
            incremental_backups: false,
            ring: None,
        };
        let argv = n.nodetool_argv();
        assert_eq!(argv.first().map(String::as_str), Some("/usr/bin/java"));
        assert!(argv.contains(&"/cache/lib/*".to_string()));
        assert_eq!(
            argv.last().map(String::as_str),
            Some("org.apache.cassandra.tools.NodeTool")
        );
        let cfg = n.node_config();
        assert_eq!(cfg.jmx, "127.0.0.1:2");
        assert_eq!(cfg.data_dirs, vec![PathBuf::from("/d/data")]);
    }
}
