//! Removing one table's snapshot directory (`nodetool clearsnapshot` cannot narrow to one
//! table). The path is built from catalog names, each checked to be a single plain path
//! component, under a data directory that must be one of the node's configured ones; nothing
//! that is a symbolic link is followed or removed through.

use std::path::{Path, PathBuf};

/// Why a snapshot directory was not removed.
#[derive(Debug, thiserror::Error)]
pub enum RemoveError {
    #[error("{path} is not one of the node's configured data directories")]
    OutsideDataDirs { path: PathBuf },
    #[error("{path} is not a plain path below {root}; refusing to touch it")]
    OutsideRoot { path: PathBuf, root: PathBuf },
    #[error("`{name}` is not a valid {what} name")]
    BadName { what: &'static str, name: String },
    #[error("{path} is a symbolic link or not a directory; refusing to remove it")]
    NotADirectory { path: PathBuf },
    #[error("cannot remove {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// `name` if it is one plain path component (not empty, `.`, `..`, no `/`).
pub fn component<'a>(what: &'static str, name: &'a str) -> Result<&'a str, RemoveError> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\0'])
        && name.len() <= 255;
    if ok {
        Ok(name)
    } else {
        Err(RemoveError::BadName {
            what,
            name: name.to_string(),
        })
    }
}

/// One table's directory on a node as the catalog names it: the data directory holding it, the
/// keyspace, the table and its id (the directory is `<keyspace>/<table>-<id>`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableRef {
    pub data_dir: PathBuf,
    pub keyspace: String,
    pub table: String,
    pub table_id: String,
}

/// `<data_dir>/<keyspace>/<table>-<id>`, after checking that `data_dir` is one of `allowed`
/// and every name is one plain path component.
pub fn table_dir(allowed: &[PathBuf], t: &TableRef) -> Result<PathBuf, RemoveError> {
    if !allowed.iter().any(|d| d == &t.data_dir) {
        return Err(RemoveError::OutsideDataDirs {
            path: t.data_dir.clone(),
        });
    }
    let dir = format!(
        "{}-{}",
        component("table", &t.table)?,
        component("table id", &t.table_id)?
    );
    Ok(t.data_dir
        .join(component("keyspace", &t.keyspace)?)
        .join(dir))
}

/// `<data_dir>/<keyspace>/<table>-<id>/snapshots/<tag>`, checked as [`table_dir`].
pub fn snapshot_dir(allowed: &[PathBuf], t: &TableRef, tag: &str) -> Result<PathBuf, RemoveError> {
    Ok(table_dir(allowed, t)?
        .join("snapshots")
        .join(component("snapshot tag", tag)?))
}

/// Checks every directory from below `root` down to `path` (which must lie under `root` and
/// hold no `..`): each must be a real directory, never a symbolic link. `Ok(false)` when one of
/// them does not exist (yet).
pub fn real_dirs_below(root: &Path, path: &Path) -> Result<bool, RemoveError> {
    let rel = path
        .strip_prefix(root)
        .ok()
        .filter(|r| {
            r.components()
                .all(|c| matches!(c, std::path::Component::Normal(_)))
        })
        .ok_or_else(|| RemoveError::OutsideRoot {
            path: path.to_path_buf(),
            root: root.to_path_buf(),
        })?;
    let mut p = root.to_path_buf();
    for part in rel.iter() {
        p.push(part);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() && !m.file_type().is_symlink() => {}
            Ok(_) => return Err(RemoveError::NotADirectory { path: p }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(source) => return Err(RemoveError::Io { path: p, source }),
        }
    }
    Ok(true)
}

/// Removes one table's snapshot directory (see [`snapshot_dir`]). A directory already gone is
/// not an error.
pub fn remove_snapshot_dir(
    allowed: &[PathBuf],
    t: &TableRef,
    tag: &str,
) -> Result<bool, RemoveError> {
    let path = snapshot_dir(allowed, t, tag)?;
    // No symbolic link anywhere on the way below the data directory.
    if !real_dirs_below(&t.data_dir, &path)? {
        return Ok(false);
    }
    std::fs::remove_dir_all(&path).map_err(|source| RemoveError::Io { path, source })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    fn orders(data: &Path, keyspace: &str) -> TableRef {
        TableRef {
            data_dir: data.to_path_buf(),
            keyspace: keyspace.into(),
            table: "orders".into(),
            table_id: ID.into(),
        }
    }

    #[test]
    fn removes_only_inside_a_configured_data_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let snap = data
            .join("shop")
            .join(format!("orders-{ID}"))
            .join("snapshots")
            .join("nightly");
        std::fs::create_dir_all(&snap).expect("mkdir");
        std::fs::write(snap.join("manifest.json"), "{}").expect("write");
        let allowed = vec![data.clone()];
        let other = dir.path().join("other");
        assert!(matches!(
            remove_snapshot_dir(
                std::slice::from_ref(&other),
                &orders(&data, "shop"),
                "nightly"
            ),
            Err(RemoveError::OutsideDataDirs { .. })
        ));
        for (ks, tag) in [
            ("..", "nightly"),
            ("shop", "../x"),
            ("shop", ""),
            ("a/b", "t"),
        ] {
            assert!(
                matches!(
                    remove_snapshot_dir(&allowed, &orders(&data, ks), tag),
                    Err(RemoveError::BadName { .. })
                ),
                "{ks} {tag}"
            );
        }
        assert!(snap.exists(), "nothing removed by refused calls");
        assert!(remove_snapshot_dir(&allowed, &orders(&data, "shop"), "nightly").expect("rm"));
        assert!(!snap.exists());
        assert!(!remove_snapshot_dir(&allowed, &orders(&data, "shop"), "nightly").expect("gone"));
    }

    #[test]
    fn never_removes_through_a_symlink() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let outside = dir.path().join("outside").join("snapshots").join("nightly");
        std::fs::create_dir_all(&outside).expect("mkdir");
        std::fs::create_dir_all(data.join("shop")).expect("mkdir");
        std::os::unix::fs::symlink(
            dir.path().join("outside"),
            data.join("shop").join(format!("orders-{ID}")),
        )
        .expect("symlink");
        let err = remove_snapshot_dir(
            std::slice::from_ref(&data),
            &orders(&data, "shop"),
            "nightly",
        )
        .expect_err("refused");
        assert!(matches!(err, RemoveError::NotADirectory { .. }), "{err}");
        assert!(outside.exists());
    }
}
