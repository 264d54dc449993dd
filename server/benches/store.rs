//! Uploading to a real S3 server on loopback (versitygw, as `make test` builds it) against a
//! plain `cp` of the same bytes in the same run: a file of SNAPKEEP_BENCH_STORE_MB (default
//! 1024) MiB PUT raw (what the server allows), then uploaded without and with encryption, then
//! again unchanged (bytes sent must be 0), the read-back check shipping adds, and the process's
//! peak RSS while uploading.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use snapkeep::backups::StoreKind;
use snapkeep::backups::store::{Store, default_local, hash_file};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn versitygw() -> PathBuf {
    let gopath = Command::new("go")
        .args(["env", "GOPATH"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    PathBuf::from(gopath).join("bin/versitygw")
}

async fn upload(store: &Store, path: &Path) -> (f64, u64) {
    let t = Instant::now();
    let (sha, size, f) = hash_file(std::fs::File::open(path).expect("open"))
        .await
        .expect("hash");
    let sent = store
        .put_file(tokio::fs::File::from_std(f), size, &sha)
        .await
        .expect("upload")
        .sent;
    (t.elapsed().as_secs_f64(), sent)
}

/// What the server allows: the same bytes PUT through `object_store` as Snapkeep's upload
/// sends them (8 MiB parts, two in flight), with nothing hashed, sealed or checked.
async fn raw_put(port: u16, path: &Path) -> f64 {
    use object_store::ObjectStore as _;
    use tokio::io::AsyncReadExt as _;
    let s3 = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(format!("http://127.0.0.1:{port}"))
        .with_allow_http(true)
        .with_bucket_name("bench")
        .with_region("us-east-1")
        .with_virtual_hosted_style_request(false)
        .with_access_key_id("benchkey")
        .with_secret_access_key("benchsecret-0123456789")
        .with_unsigned_payload(true)
        .build()
        .expect("client");
    let t = Instant::now();
    let mut file = tokio::fs::File::open(path).await.expect("open");
    let upload = s3
        .put_multipart(&object_store::path::Path::from("raw/object"))
        .await
        .expect("start");
    let mut w = object_store::WriteMultipart::new_with_chunk_size(upload, 8 << 20);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).await.expect("read");
        if n == 0 {
            break;
        }
        w.wait_for_capacity(2).await.expect("capacity");
        w.write(&buf[..n]);
    }
    w.finish().await.expect("finish");
    t.elapsed().as_secs_f64()
}

fn main() {
    let mib: u64 = std::env::var("SNAPKEEP_BENCH_STORE_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("nb-1-big-Data.db");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&src).expect("create"));
        let mut block = vec![0u8; 1 << 20];
        for i in 0..mib {
            for (j, b) in block.iter_mut().enumerate() {
                *b = ((i as usize * 31 + j * 7) % 251) as u8;
            }
            f.write_all(&block).expect("write");
        }
    }
    let _ = Command::new("sync").status();
    let bytes = mib << 20;
    let rss_before = peak_rss_mib();

    let t = Instant::now();
    let ok = Command::new("cp")
        .arg(&src)
        .arg(dir.path().join("copy"))
        .status()
        .expect("cp")
        .success();
    assert!(ok);
    let _ = Command::new("sync").status();
    let cp = t.elapsed().as_secs_f64();
    std::fs::remove_file(dir.path().join("copy")).expect("rm");

    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let root = dir.path().join("s3");
    std::fs::create_dir_all(root.join("bench")).expect("bucket");
    let mut gw = Command::new(versitygw())
        .args([
            "--access",
            "benchkey",
            "--secret",
            "benchsecret-0123456789",
            "--port",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--quiet", "posix"])
        .arg(&root)
        .stdout(Stdio::null())
        .spawn()
        .expect("versitygw (run `server/scripts/ensure-tools.sh test` first)");
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: set before any other thread reads the environment.
    unsafe {
        std::env::set_var("BENCH_S3_KEY", "benchkey");
        std::env::set_var("BENCH_S3_SECRET", "benchsecret-0123456789");
    }
    let key = dir.path().join("key");
    std::fs::write(&key, "42".repeat(32)).expect("key");
    let store = |name: &str, encrypted: bool| {
        let mut c = default_local(dir.path());
        c.name = name.into();
        c.kind = StoreKind::S3;
        c.path = None;
        c.endpoint = Some(format!("http://127.0.0.1:{port}"));
        c.bucket = Some("bench".into());
        c.path_style = true;
        c.access_key_id_env = Some("BENCH_S3_KEY".into());
        c.secret_access_key_env = Some("BENCH_S3_SECRET".into());
        c.encrypt = Some(encrypted);
        c.encryption_key_file = encrypted.then(|| key.clone());
        Store::open(&c).expect("store")
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let raw = raw_put(port, &src).await;
        println!(
            "{mib} MiB raw PUT to versitygw (what the server allows: nothing hashed or checked): {raw:.2} s ({:.0} MiB/s) = {:.0} % of cp's throughput",
            mib as f64 / raw,
            cp / raw * 100.0
        );
        for (name, encrypted) in [("plain", false), ("sealed", true)] {
            let s = store(name, encrypted);
            let (secs, sent) = upload(&s, &src).await;
            let (again, resent) = upload(&s, &src).await;
            println!(
                "{mib} MiB upload to versitygw, {name}: {secs:.2} s ({:.0} MiB/s) = {:.0} % of the raw PUT's and {:.0} % of cp's throughput (cp {cp:.2} s, {:.0} MiB/s); {sent} bytes sent; unchanged again: {again:.2} s, {resent} bytes sent",
                mib as f64 / secs,
                raw / secs * 100.0,
                cp / secs * 100.0,
                mib as f64 / cp,
            );
            assert_eq!(resent, 0, "unchanged content is never sent again");
            // Shipping and snapshot copies also read every object back before it counts.
            let (sha, size, _) = hash_file(std::fs::File::open(&src).expect("open"))
                .await
                .expect("hash");
            let t = Instant::now();
            s.verify(&s.address(&sha), size, &sha).await.expect("verify");
            let check = t.elapsed().as_secs_f64();
            println!(
                "  then the read-back check: {check:.2} s; upload and check together {:.0} MiB/s",
                mib as f64 / (secs + check)
            );
        }
    });
    println!(
        "peak RSS: {:.1} MiB while uploading ({rss_before:.1} MiB before), file {bytes} bytes",
        peak_rss_mib()
    );
    let _ = gw.kill();
    let _ = gw.wait();
}
