//! Reading a snapshot's own files on the node: the list of its SSTable files (name, size,
//! inode), its `schema.cql` and `manifest.json`, each read capped and never through a
//! symbolic link at the last component.

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use app::api::PlanFile;

/// Files of a snapshot directory now: regular files except its manifest and schema.
pub fn snapshot_files(dir: &Path) -> Result<Vec<PlanFile>, std::io::Error> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        // `DirEntry::metadata` is an lstat relative to the open directory.
        let m = e.metadata()?;
        if !m.is_file() || name == "manifest.json" || name == "schema.cql" {
            continue;
        }
        files.push(PlanFile {
            name,
            size: m.len(),
            inode: m.ino(),
            sha256: None,
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// Largest `schema.cql` read (a table's schema is a few KiB; this leaves room for UDTs).
pub const MAX_SCHEMA_CQL_BYTES: u64 = 1024 * 1024;

/// Why a snapshot's `schema.cql` (or `manifest.json`) could not be read.
pub type SchemaFileError = super::disk::read::ReadFileError;

/// Reads `DIR/schema.cql` of a snapshot: never through a symbolic link (the file is opened with
/// `O_NOFOLLOW` and must be a regular file) and at most [`MAX_SCHEMA_CQL_BYTES`]. Invalid UTF-8
/// is replaced, as the text is only parsed and shown.
pub fn read_schema_cql(snapshot_dir: &Path) -> Result<String, SchemaFileError> {
    read_capped_no_follow(&snapshot_dir.join("schema.cql"), MAX_SCHEMA_CQL_BYTES)
}

/// [`read_schema_cql`] for async code (the read runs on the blocking pool).
/// Reads a regular file without following a symbolic link at its last component, refusing one
/// larger than `max` bytes (checked on the open file, and again while reading).
pub fn read_capped_no_follow(path: &Path, max: u64) -> Result<String, SchemaFileError> {
    let bytes = super::disk::read::read_bytes_capped_no_follow(path, max)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Largest `manifest.json` read (it lists every file of a table's snapshot).
pub const MAX_MANIFEST_BYTES: u64 = 32 * 1024 * 1024;

/// What a snapshot directory says of itself: its manifest's and schema's text (absent when
/// missing, unreadable or over their caps) and the directory's modification time.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SnapshotMeta {
    pub manifest: Option<String>,
    pub schema: Option<String>,
    /// Milliseconds since the epoch.
    pub mtime: Option<i64>,
    /// Rows its SSTables' metadata records, summed (see [`super::sstable_stats`]).
    #[serde(default)]
    pub rows_estimate: Option<u64>,
}

/// Reads `manifest.json` and `schema.cql` of a snapshot directory, its mtime and the rows its
/// SSTables' metadata records.
pub async fn read_snapshot_meta(dir: &Path) -> SnapshotMeta {
    let manifest = dir.join("manifest.json");
    let owned = dir.to_path_buf();
    let schema = tokio::task::spawn_blocking(move || {
        (
            read_capped_no_follow(&manifest, MAX_MANIFEST_BYTES).ok(),
            read_schema_cql(&owned).ok(),
            super::sstable_stats::estimated_rows(&owned),
        )
    })
    .await
    .unwrap_or((None, None, None));
    let mtime = tokio::fs::symlink_metadata(dir)
        .await
        .ok()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64);
    SnapshotMeta {
        manifest: schema.0,
        schema: schema.1,
        mtime,
        rows_estimate: schema.2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn snapshot_meta_is_read_capped_and_never_through_a_link() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("target"), "x").expect("write");
        std::os::unix::fs::symlink(dir.path().join("target"), dir.path().join("schema.cql"))
            .expect("symlink");
        std::os::unix::fs::symlink(dir.path().join("target"), dir.path().join("manifest.json"))
            .expect("symlink");
        let meta = read_snapshot_meta(dir.path()).await;
        assert_eq!((meta.manifest, meta.schema), (None, None));
        assert!(meta.mtime.is_some());
        std::fs::remove_file(dir.path().join("manifest.json")).expect("rm");
        std::fs::write(dir.path().join("manifest.json"), r#"{"files":[]}"#).expect("write");
        let meta = read_snapshot_meta(dir.path()).await;
        assert_eq!(meta.manifest.as_deref(), Some(r#"{"files":[]}"#));
    }

    #[test]
    fn schema_cql_is_read_capped_and_never_through_a_link() {
        let dir = tempfile::tempdir().expect("tempdir");
        let snap = dir.path().join("snap");
        std::fs::create_dir(&snap).expect("dir");
        assert!(matches!(
            read_schema_cql(&snap),
            Err(SchemaFileError::Missing { .. })
        ));
        std::fs::write(
            snap.join("schema.cql"),
            "CREATE TABLE shop.orders (id int PRIMARY KEY);",
        )
        .expect("write");
        assert!(
            read_schema_cql(&snap)
                .expect("read")
                .starts_with("CREATE TABLE shop.orders")
        );

        // A link to a secret elsewhere is refused, not read.
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "password=hunter2").expect("write");
        let linked = dir.path().join("linked");
        std::fs::create_dir(&linked).expect("dir");
        std::os::unix::fs::symlink(&secret, linked.join("schema.cql")).expect("symlink");
        let err = read_schema_cql(&linked).expect_err("symlink");
        assert!(matches!(err, SchemaFileError::NotAFile { .. }), "{err}");
        assert!(!err.to_string().contains("hunter2"));

        // A directory or a FIFO named schema.cql is not read (a FIFO would block forever).
        let odd = dir.path().join("odd");
        std::fs::create_dir_all(odd.join("schema.cql")).expect("dir");
        assert!(matches!(
            read_schema_cql(&odd),
            Err(SchemaFileError::NotAFile { .. })
        ));
        let fifo_dir = dir.path().join("fifo");
        std::fs::create_dir(&fifo_dir).expect("dir");
        let fifo = std::ffi::CString::new(
            fifo_dir
                .join("schema.cql")
                .into_os_string()
                .into_encoded_bytes(),
        )
        .expect("path");
        // SAFETY: mkfifo reads a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            read_schema_cql(&fifo_dir),
            Err(SchemaFileError::NotAFile { .. })
        ));

        // Larger than the cap: refused with the sizes.
        let big = dir.path().join("big");
        std::fs::create_dir(&big).expect("dir");
        let f = std::fs::File::create(big.join("schema.cql")).expect("create");
        f.set_len(MAX_SCHEMA_CQL_BYTES + 1).expect("grow");
        let err = read_schema_cql(&big).expect_err("too large");
        assert!(matches!(err, SchemaFileError::TooLarge { .. }), "{err}");
        assert!(err.to_string().contains("1048576"), "{err}");
    }
}
