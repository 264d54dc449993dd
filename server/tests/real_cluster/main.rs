//! Integration tests against a real three-node Apache Cassandra 5.0 cluster (node1 … node3 on
//! 127.0.0.1 … 127.0.0.3, started once for this binary by `snapkeep dev-node start --cluster
//! 3`'s launcher), driven by the real nodetool of each node, through the real router: the
//! cluster as the nodes report it, cluster snapshots (complete, incomplete with a node down,
//! retried), the replica check that blocks a one-node restore with TRUNCATE, and a schedule
//! of the cluster.

#[path = "../support/mod.rs"]
mod support;

use std::path::Path;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use snapkeep::cassandra::cql::Cql;
use snapkeep::node::devnode::{self, StartOptions};

use support::TestApp;
use support::cluster::{SIZE, cluster, configs};

const CLUSTER: &str = devnode::CLUSTER_NAME;

/// Whether `tag` is a snapshot of `ks.table` in the node's data directory.
fn has_snapshot(data_dir: &Path, ks: &str, table: &str, tag: &str) -> bool {
    std::fs::read_dir(data_dir.join(ks))
        .map(|d| {
            d.filter_map(Result::ok).any(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with(&format!("{table}-")))
                    && e.path().join("snapshots").join(tag).is_dir()
            })
        })
        .unwrap_or(false)
}

/// Waits for cluster snapshot `tag` to leave `running`; returns it.
async fn settled(app: &TestApp, tag: &str) -> Value {
    for _ in 0..1800 {
        let (status, v) = app
            .get(&format!("/api/v1/clusters/{CLUSTER}/snapshots/{tag}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        if v["state"] != "running" {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cluster snapshot {tag} still runs after three minutes");
}

fn node_states(v: &Value) -> Vec<(String, String)> {
    v["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            (
                n["node"].as_str().unwrap_or_default().to_string(),
                n["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_snapshot_takes_one_tag_on_every_node_and_a_retry_finishes_what_failed() {
    let nodes = cluster();
    let cql = Cql::connect(&nodes[0].node_config().cql, Duration::from_secs(30))
        .await
        .expect("CQL");
    cql.execute(
        "CREATE KEYSPACE IF NOT EXISTS it_rf3 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
    )
    .await
    .expect("keyspace");
    cql.execute("CREATE TABLE IF NOT EXISTS it_rf3.t (id int PRIMARY KEY, v text)")
        .await
        .expect("table");
    for i in 0..200 {
        cql.execute(&format!(
            "INSERT INTO it_rf3.t (id, v) VALUES ({i}, 'row-{i}')"
        ))
        .await
        .expect("insert");
    }
    let app = TestApp::init()
        .with_node(configs()[0].clone())
        .with_node(configs()[1].clone())
        .with_node(configs()[2].clone())
        .build()
        .await;
    app.rescan().await;

    // The cluster as each node reports it: one ring, one data centre, three nodes up.
    let (status, clusters) = app.get("/api/v1/clusters").await;
    assert_eq!(status, StatusCode::OK, "{clusters}");
    assert_eq!(clusters.as_array().map(Vec::len), Some(1), "{clusters}");
    let c = &clusters[0];
    assert_eq!(c["name"], CLUSTER, "{c}");
    assert_eq!(c["dcs"], json!(["datacenter1"]), "{c}");
    let members: Vec<&Value> = c["nodes"].as_array().expect("nodes").iter().collect();
    assert_eq!(members.len(), SIZE, "{c}");
    let mut host_ids: Vec<&str> = Vec::new();
    for m in &members {
        assert_eq!(
            (m["state"].as_str(), m["rack"].as_str()),
            (Some("up"), Some("rack1")),
            "{m}"
        );
        assert_eq!(m["tokens"], 1, "{m}");
        host_ids.push(m["host_id"].as_str().expect("host id"));
    }
    host_ids.sort();
    host_ids.dedup();
    assert_eq!(host_ids.len(), SIZE, "each node answers for itself: {c}");
    let (_, listed) = app.get("/api/v1/nodes").await;
    assert!(
        listed
            .as_array()
            .expect("nodes")
            .iter()
            .all(|n| n["cluster"] == CLUSTER && n["dc"] == "datacenter1" && n["agent"].is_null()),
        "{listed}"
    );

    // Bad requests start nothing.
    let (status, v) = app
        .post("/api/v1/snapshots", json!({"cluster": "elsewhere"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    assert!(v["message"].as_str().unwrap_or("").contains(CLUSTER), "{v}");
    let (status, v) = app
        .post(
            "/api/v1/snapshots",
            json!({"cluster": CLUSTER, "node": "node1"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, v) = app
        .post(
            "/api/v1/snapshots",
            json!({"cluster": CLUSTER, "keyspaces": ["no_such_ks"], "tag": "c0"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    let (status, _) = app
        .get(&format!("/api/v1/clusters/{CLUSTER}/snapshots/c0"))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a refused request leaves no record"
    );

    // One request: the same tag on all three nodes.
    let (status, v) = app
        .post(
            "/api/v1/snapshots",
            json!({"cluster": CLUSTER, "keyspaces": ["it_rf3"], "tag": "c1"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["nodes"], json!(["node1", "node2", "node3"]), "{v}");
    let job = app.wait_job(&v["job"]["id"]).await;
    assert_eq!(job["state"], "done", "{job}");
    let c1 = settled(&app, "c1").await;
    assert_eq!(c1["state"], "complete", "{c1}");
    assert!(node_states(&c1).iter().all(|(_, s)| s == "done"), "{c1}");
    for n in nodes {
        assert!(
            has_snapshot(&n.data_dir(), "it_rf3", "t", "c1"),
            "c1 on {}",
            n.name
        );
    }
    let (status, v) = app
        .post(
            &format!("/api/v1/clusters/{CLUSTER}/snapshots/c1/retry"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");

    // Restore safety on a real ring: TRUNCATE is cluster-wide, so a one-node in-place restore
    // with truncate of an RF 3 keyspace would lose what only the other replicas hold: blocked,
    // with the sentence that says why; without truncate it is allowed, with the note on repair.
    let request = json!({"snapshot": "c1", "node": "node1", "tables": ["it_rf3.t"], "target": "in_place", "truncate": true, "reason": "test"});
    let (status, plan) = app.operator().post("/api/v1/restores/plan", request).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    let blocked = plan["blocked"].to_string();
    assert!(
        blocked.contains("TRUNCATE removes the rows of it_rf3.t on every node")
            && blocked.contains("3 nodes hold rows of keyspace it_rf3"),
        "{plan}"
    );
    let request = json!({"snapshot": "c1", "node": "node1", "tables": ["it_rf3.t"], "target": "in_place", "reason": "test"});
    let (_, plan) = app.operator().post("/api/v1/restores/plan", request).await;
    assert_eq!(plan["blocked"], json!([]), "{plan}");
    assert!(
        plan.to_string()
            .contains("2 other node(s) hold rows of keyspace it_rf3"),
        "{plan}"
    );

    // node3 down: its part fails, the others finish, the snapshot is incomplete.
    devnode::stop(&nodes[2].dir, Duration::from_secs(60))
        .await
        .expect("stop node3");
    let (status, v) = app
        .post(
            "/api/v1/snapshots",
            json!({"cluster": CLUSTER, "keyspaces": ["it_rf3"], "tag": "c2"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let job = app.wait_job(&v["job"]["id"]).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert!(
        job["error"].as_str().unwrap_or("").contains("node3"),
        "{job}"
    );
    let c2 = settled(&app, "c2").await;
    assert_eq!(c2["state"], "incomplete", "{c2}");
    assert_eq!(
        node_states(&c2),
        [
            ("node1".to_string(), "done".to_string()),
            ("node2".to_string(), "done".to_string()),
            ("node3".to_string(), "failed".to_string())
        ],
        "{c2}"
    );
    assert!(has_snapshot(&nodes[0].data_dir(), "it_rf3", "t", "c2"));
    assert!(!has_snapshot(&nodes[2].data_dir(), "it_rf3", "t", "c2"));

    // node3 back: the retry runs node3 only and completes the snapshot.
    devnode::start(&StartOptions::restart(&nodes[2]))
        .await
        .expect("start node3");
    let (status, v) = app
        .operator()
        .post(
            &format!("/api/v1/clusters/{CLUSTER}/snapshots/c2/retry"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let c2 = settled(&app, "c2").await;
    assert_eq!(c2["state"], "complete", "{c2}");
    let attempts: Vec<i64> = c2["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["attempts"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(attempts, [1, 1, 2], "only node3 ran again: {c2}");
    assert!(has_snapshot(&nodes[2].data_dir(), "it_rf3", "t", "c2"));
    let (_, list) = app
        .get(&format!("/api/v1/clusters/{CLUSTER}/snapshots"))
        .await;
    let tags: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["tag"].as_str())
        .collect();
    assert_eq!(tags, ["c2", "c1"], "{list}");

    // A schedule of the cluster: each run is a cluster snapshot.
    let (status, v) = app
        .post(
            "/api/v1/schedules",
            json!({"name": "x", "cron": "@daily", "scope": {"cluster": "elsewhere"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["field"], "scope", "{v}");
    let (status, saved) = app
        .post(
            "/api/v1/schedules",
            json!({"name": "ring", "cron": "@daily", "paused": true,
                   "scope": {"cluster": CLUSTER, "keyspaces": ["it_rf3"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    let id = &saved["id"];
    let (status, run) = app
        .post(&format!("/api/v1/schedules/{id}/run"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let job = app.wait_job(&run["job_id"]).await;
    assert_eq!(job["state"], "done", "{job}");
    let (_, list) = app
        .get(&format!("/api/v1/clusters/{CLUSTER}/snapshots"))
        .await;
    let newest = &list[0];
    let tag = newest["tag"].as_str().unwrap_or_default();
    assert!(tag.starts_with("snapkeep-sched-ring-"), "{list}");
    assert_eq!(newest["state"], "complete", "{newest}");
    for n in nodes {
        assert!(
            has_snapshot(&n.data_dir(), "it_rf3", "t", tag),
            "{tag} on {}",
            n.name
        );
    }
}
