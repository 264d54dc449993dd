//! Reading one small file of a node: a regular file only, never through a symbolic link at its
//! last component (opened with `O_NOFOLLOW`, and non-blocking so a FIFO cannot hang it), and
//! capped in size.

use std::io::Read as _;
use std::path::{Path, PathBuf};

/// Why a file of the node could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadFileError {
    #[error("{path} is missing")]
    Missing { path: PathBuf },
    #[error("{path} is a symbolic link or not a regular file; Snapkeep does not follow it")]
    NotAFile { path: PathBuf },
    #[error("{path} is {size} bytes, more than the {max} bytes Snapkeep reads of it")]
    TooLarge { path: PathBuf, size: u64, max: u64 },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Reads a regular file without following a symbolic link at its last component, refusing one
/// larger than `max` bytes (checked on the open file, and again while reading).
pub fn read_bytes_capped_no_follow(path: &Path, max: u64) -> Result<Vec<u8>, ReadFileError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let io = |source: std::io::Error| ReadFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => ReadFileError::NotAFile {
                path: path.to_path_buf(),
            },
            _ if e.kind() == std::io::ErrorKind::NotFound => ReadFileError::Missing {
                path: path.to_path_buf(),
            },
            _ => io(e),
        })?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(ReadFileError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    if meta.len() > max {
        return Err(ReadFileError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
            max,
        });
    }
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > max {
        return Err(ReadFileError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            max,
        });
    }
    Ok(bytes)
}
