//! Which Cassandra processes on this host hold a node's files open: the test of whether a
//! node may still use its data and commit log directories. A port that does not answer
//! proves nothing (a node may be starting, stuck in a long GC or cut off), so a full-node
//! restore moves files only when no Cassandra process has any of them open or mapped.

use std::path::{Path, PathBuf};

/// What `/proc` says about the processes that may use some directories.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessUse {
    /// Cassandra processes with a file under one of the directories open or mapped.
    pub using: Vec<i32>,
    /// Cassandra processes whose open files could not be read, with why.
    pub unreadable: Vec<(i32, String)>,
}

impl ProcessUse {
    /// True when no Cassandra process uses the directories, as far as can be told.
    pub fn none(&self) -> bool {
        self.using.is_empty() && self.unreadable.is_empty()
    }
}

/// Scans `/proc` (or `proc_root`, for tests) for processes whose command line names
/// Cassandra and that hold a file below any of `dirs` open (`fd/`) or mapped (`maps`).
pub fn cassandra_processes_using(proc_root: &Path, dirs: &[PathBuf]) -> ProcessUse {
    let mut out = ProcessUse::default();
    let me = std::process::id() as i32;
    let Ok(entries) = std::fs::read_dir(proc_root) else {
        out.unreadable
            .push((0, format!("{} cannot be read", proc_root.display())));
        return out;
    };
    let dirs: Vec<PathBuf> = dirs
        .iter()
        .map(|d| std::fs::canonicalize(d).unwrap_or_else(|_| d.clone()))
        .collect();
    let under = |p: &Path| dirs.iter().any(|d| p.starts_with(d));
    for e in entries.filter_map(Result::ok) {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let dir = e.path();
        // A process that ended meanwhile has no command line any more: skip it.
        let Ok(cmdline) = std::fs::read(dir.join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).to_ascii_lowercase();
        if !cmdline.contains("cassandra") || cmdline.contains("org.apache.cassandra.tools.") {
            continue;
        }
        match std::fs::read_dir(dir.join("fd")) {
            Ok(fds) => {
                let open = fds
                    .filter_map(Result::ok)
                    .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                    .any(|target| under(&target));
                let mapped = std::fs::read_to_string(dir.join("maps"))
                    .map(|maps| {
                        maps.lines()
                            .filter_map(|l| l.split_whitespace().nth(5))
                            .any(|p| under(Path::new(p)))
                    })
                    .unwrap_or(false);
                if open || mapped {
                    out.using.push(pid);
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => out.unreadable.push((pid, err.to_string())),
        }
    }
    out.using.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake `/proc` entry: command line, open files (symlinks) and maps.
    fn process(root: &Path, pid: i32, cmdline: &str, open: &[&Path], maps: &str) {
        let dir = root.join(pid.to_string());
        std::fs::create_dir_all(dir.join("fd")).expect("mkdir");
        std::fs::write(dir.join("cmdline"), cmdline.replace(' ', "\0")).expect("write");
        for (i, target) in open.iter().enumerate() {
            std::os::unix::fs::symlink(target, dir.join("fd").join(i.to_string()))
                .expect("symlink");
        }
        std::fs::write(dir.join("maps"), maps).expect("write");
    }

    #[test]
    fn a_cassandra_process_with_a_file_open_or_mapped_uses_the_directories() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let proc_root = tmp.path().join("proc");
        let commitlog = tmp.path().join("commitlog");
        let data = tmp.path().join("data");
        let other = tmp.path().join("other-node");
        for d in [&commitlog, &data, &other] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        let dirs = vec![data.clone(), commitlog.clone()];
        // Another node's Cassandra on the same host, and a nodetool call: not users.
        process(
            &proc_root,
            10,
            "java org.apache.cassandra.service.CassandraDaemon",
            &[&other.join("nb-1-big-Data.db")],
            "",
        );
        process(
            &proc_root,
            11,
            "java org.apache.cassandra.tools.NodeTool status",
            &[&data.join("x")],
            "",
        );
        process(&proc_root, 12, "bash", &[&data.join("y")], "");
        assert!(cassandra_processes_using(&proc_root, &dirs).none());

        // This node's Cassandra: a commit log segment mapped, a Data.db open.
        process(
            &proc_root,
            20,
            "java -Dcassandra.config=file:///etc/cassandra.yaml org.apache.cassandra.service.CassandraDaemon",
            &[],
            &format!(
                "7f00-7f10 rw-s 00000000 08:01 42 {}\n",
                commitlog.join("CommitLog-7-1.log").display()
            ),
        );
        process(
            &proc_root,
            21,
            "java org.apache.cassandra.service.CassandraDaemon",
            &[&data.join("ks/t-1/nb-1-big-Data.db")],
            "",
        );
        let found = cassandra_processes_using(&proc_root, &dirs);
        assert_eq!(found.using, vec![20, 21]);
        assert!(!found.none());
    }
}
