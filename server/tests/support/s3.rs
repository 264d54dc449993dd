//! A real S3-compatible server on loopback for the backup tests: versitygw (Apache-2.0, built
//! from the Go module proxy by `server/scripts/ensure-tools.sh test`) with its `posix` backend
//! in a temporary directory, root keys from this harness, one bucket per server. Killed when
//! dropped; [`S3Server::stop`] and [`S3Server::start_again`] let a test take it away mid-upload.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use snapkeep::backups::{StoreConfig, StoreKind};

/// The environment variables the test stores read their keys from.
pub const KEY_ENV: &str = "SNAPKEEP_TEST_S3_KEY";
pub const SECRET_ENV: &str = "SNAPKEEP_TEST_S3_SECRET";
const KEY: &str = "snapkeeptestkey";
const SECRET: &str = "snapkeep-test-secret-0123456789";

/// One running versitygw.
pub struct S3Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub root: tempfile::TempDir,
    pub bucket: String,
}

/// The versitygw binary: `$SNAPKEEP_VERSITYGW`, else `$(go env GOPATH)/bin/versitygw`, else
/// `versitygw` on PATH. Missing, the test fails saying how to get it.
fn binary() -> PathBuf {
    if let Ok(p) = std::env::var("SNAPKEEP_VERSITYGW") {
        return PathBuf::from(p);
    }
    let gopath = Command::new("go")
        .args(["env", "GOPATH"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("{}/go", std::env::var("HOME").unwrap_or_default()));
    let p = PathBuf::from(gopath).join("bin/versitygw");
    if p.exists() {
        return p;
    }
    PathBuf::from("versitygw")
}

impl S3Server {
    /// Starts versitygw on a free loopback port with one bucket, and sets the key variables.
    pub fn start() -> Self {
        // SAFETY: the tests set the same constant values; nothing reads them concurrently in a
        // way a torn write could hurt (they are read when a store is opened).
        unsafe {
            std::env::set_var(KEY_ENV, KEY);
            std::env::set_var(SECRET_ENV, SECRET);
        }
        let root = tempfile::tempdir().expect("tempdir for the S3 server");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let bucket = "snapkeep-it".to_string();
        // The posix backend serves each top-level directory as a bucket.
        std::fs::create_dir_all(root.path().join("data").join(&bucket)).expect("bucket dir");
        let mut s = S3Server {
            child: None,
            addr,
            root,
            bucket,
        };
        s.start_again();
        s
    }

    /// (Re)starts the server on the same port and directory.
    pub fn start_again(&mut self) {
        let bin = binary();
        let child = Command::new(&bin)
            .args(["--access", KEY, "--secret", SECRET, "--port"])
            .arg(self.addr.to_string())
            .arg("--quiet")
            .arg("posix")
            .arg(self.root.path().join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start versitygw ({}): {e}; `server/scripts/ensure-tools.sh test` builds it",
                    bin.display()
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "versitygw did not listen on {}",
                self.addr
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills the server (SIGKILL): requests fail at once.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A store on this server; encrypted with a key file in `key_dir` when `key` is set.
    pub fn store(&self, name: &str, key: Option<PathBuf>) -> StoreConfig {
        let mut c = snapkeep::backups::store::default_local(self.root.path());
        c.name = name.into();
        c.kind = StoreKind::S3;
        c.path = None;
        c.endpoint = Some(self.endpoint());
        c.bucket = Some(self.bucket.clone());
        c.path_style = true;
        c.access_key_id_env = Some(KEY_ENV.into());
        c.secret_access_key_env = Some(SECRET_ENV.into());
        c.encrypt = Some(key.is_some());
        c.encryption_key_file = key;
        c.retry_timeout_secs = 3;
        c
    }

    /// Every object file the server holds (what is in the bucket on its disk).
    pub fn files(&self) -> Vec<PathBuf> {
        fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root.path().join("data").join(&self.bucket), &mut out);
        out
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
