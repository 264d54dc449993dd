//! The real three-node Apache Cassandra 5.0 cluster of the `real_cluster` test binary, started
//! once with `snapkeep dev-node start --cluster 3`'s launcher (node1 … node3 on 127.0.0.1 …
//! 127.0.0.3) and stopped when the binary exits.

use std::sync::OnceLock;

use snapkeep::node::NodeConfig;
use snapkeep::node::devnode::{self, DevNode, StartOptions};

static CLUSTER: OnceLock<Vec<DevNode>> = OnceLock::new();

/// How many nodes the test cluster has.
pub const SIZE: usize = 3;

/// The cluster's nodes, started on first use from a thread that lives as long as the test
/// binary (the nodes get SIGTERM when it exits); [`stop_at_exit`] kills whatever runs a node
/// then, also one a test restarted.
pub fn cluster() -> &'static [DevNode] {
    CLUSTER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let dir = std::env::temp_dir().join(format!("snapkeep-cluster-{}", std::process::id()));
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let mut template = StartOptions::new(&dir);
            template.exit_with_parent = true;
            match rt.block_on(devnode::start_cluster(&dir, SIZE, &template)) {
                Ok(started) => {
                    let nodes = started.iter().map(|s| s.node.clone()).collect();
                    let _ = tx.send(Ok(nodes));
                    let _children = started;
                    loop {
                        std::thread::park();
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                }
            }
        });
        match rx.recv() {
            Ok(Ok(nodes)) => {
                // SAFETY: registers a plain `extern "C"` function without arguments.
                unsafe {
                    libc::atexit(stop_at_exit);
                }
                nodes
            }
            Ok(Err(e)) => panic!("cannot start the Cassandra dev cluster: {e}"),
            Err(_) => panic!("the dev-cluster thread died"),
        }
    })
}

extern "C" fn stop_at_exit() {
    if let Some(nodes) = CLUSTER.get() {
        for node in nodes {
            if let Some(pid) = node.running_pid() {
                // SAFETY: plain integers; each node runs in a process group of its own.
                unsafe {
                    libc::killpg(pid, libc::SIGKILL);
                }
            }
        }
        if let Some(parent) = nodes.first().and_then(|n| n.dir.parent()) {
            let _ = std::fs::remove_dir_all(parent);
        }
    }
}

/// Every node as Snapkeep's configuration describes it.
pub fn configs() -> Vec<NodeConfig> {
    cluster().iter().map(DevNode::node_config).collect()
}
