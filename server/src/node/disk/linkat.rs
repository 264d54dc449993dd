//! Hard links between two directories opened once: each link is one `linkat(2)` relative to
//! the two directory descriptors, so no path is resolved again per file (what makes staging
//! tens of thousands of SSTable components cheap).

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

/// A directory held open (never through a symlink).
#[derive(Debug)]
pub struct OpenDir(File);

impl OpenDir {
    /// Opens `path`, which must be a directory and not a symlink.
    pub fn open(path: &Path) -> io::Result<Self> {
        OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)
            .map(OpenDir)
    }

    /// Hard-links the entry `name` of this directory as `name` in `dest`. `name` must be one
    /// path component; a symlink is linked as itself, never followed.
    pub fn link_to(&self, name: &str, dest: &OpenDir) -> io::Result<()> {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{name}` is not a single file name"),
            ));
        }
        let c = CString::new(name).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, "a file name with a NUL byte")
        })?;
        // SAFETY: both descriptors belong to open `File`s borrowed for the call, and `c` is a
        // NUL-terminated string that outlives it; flags 0 = do not follow symlinks.
        let rc = unsafe {
            libc::linkat(
                self.0.as_raw_fd(),
                c.as_ptr(),
                dest.0.as_raw_fd(),
                c.as_ptr(),
                0,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt as _;

    #[test]
    fn links_by_name_and_refuses_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir_all(&a).expect("a");
        std::fs::create_dir_all(&b).expect("b");
        std::fs::write(a.join("nb-1-big-Data.db"), b"data").expect("write");
        let (da, db) = (
            OpenDir::open(&a).expect("open a"),
            OpenDir::open(&b).expect("open b"),
        );
        da.link_to("nb-1-big-Data.db", &db).expect("link");
        let (x, y) = (
            std::fs::metadata(a.join("nb-1-big-Data.db")).expect("x"),
            std::fs::metadata(b.join("nb-1-big-Data.db")).expect("y"),
        );
        assert_eq!(x.ino(), y.ino());
        assert_eq!(x.nlink(), 2);
        let again = da.link_to("nb-1-big-Data.db", &db).expect_err("exists");
        assert_eq!(again.kind(), io::ErrorKind::AlreadyExists);
        for bad in ["../x", "", "..", "a/b"] {
            assert_eq!(
                da.link_to(bad, &db).expect_err(bad).kind(),
                io::ErrorKind::InvalidInput
            );
        }
        std::os::unix::fs::symlink(&a, dir.path().join("link")).expect("symlink");
        assert!(
            OpenDir::open(&dir.path().join("link")).is_err(),
            "never through a symlink"
        );
    }
}
