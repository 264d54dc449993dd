//! What the HTTP benchmarks share: latency percentiles of repeated signed-in GETs.

use std::time::Instant;

use axum::body::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// The value at fraction `p` of `sorted`.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// `n` GETs of `url` with a bearer token: (p50 ms, p99 ms, body bytes of the last answer).
pub async fn latencies(url: &str, token: &str, n: usize) -> (f64, f64, usize) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let mut lat = Vec::with_capacity(n);
    let mut size = 0;
    for _ in 0..n {
        let req = axum::http::Request::get(url)
            .header("authorization", format!("Bearer {token}"))
            .body(Empty::new())
            .expect("request");
        let t = Instant::now();
        let res = client.request(req).await.expect("request");
        assert!(res.status().is_success(), "{url}: {}", res.status());
        size = res
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .len();
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    lat.sort_by(f64::total_cmp);
    (percentile(&lat, 0.5), percentile(&lat, 0.99), size)
}
