//! Bytes and inodes of the filesystem holding a path.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use serde::Serialize;

/// Capacity and free space of one filesystem, in bytes and inodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FsStats {
    pub total_bytes: u64,
    /// Free for unprivileged users (what Cassandra can still write).
    pub avail_bytes: u64,
    pub free_bytes: u64,
    pub total_inodes: u64,
    pub free_inodes: u64,
}

impl FsStats {
    /// Total − available: root's reserve counts as used (see `app::api::DiskUse`).
    pub fn used_bytes(&self) -> u64 {
        self.total_bytes.saturating_sub(self.avail_bytes)
    }
    pub fn used_inodes(&self) -> u64 {
        self.total_inodes.saturating_sub(self.free_inodes)
    }
}

/// statvfs(3) of the filesystem holding `path`.
pub fn fs_stats(path: &Path) -> std::io::Result<FsStats> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "path contains NUL"))?;
    // SAFETY: statvfs is plain old data; zeroed is a valid initial value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated string and `st` a valid out-pointer.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let frsize = if st.f_frsize > 0 {
        st.f_frsize
    } else {
        st.f_bsize
    } as u64;
    Ok(FsStats {
        total_bytes: st.f_blocks as u64 * frsize,
        avail_bytes: st.f_bavail as u64 * frsize,
        free_bytes: st.f_bfree as u64 * frsize,
        total_inodes: st.f_files as u64,
        free_inodes: st.f_ffree as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_a_real_filesystem() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = fs_stats(dir.path()).expect("statvfs");
        assert!(s.total_bytes > 0);
        assert!(s.avail_bytes <= s.total_bytes);
        assert!(s.free_bytes <= s.total_bytes);
        assert!(fs_stats(Path::new("/nonexistent/x")).is_err());
    }
}
