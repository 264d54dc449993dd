//! Prometheus metrics in the text exposition format: HTTP requests (by method, route pattern
//! and status) with a latency histogram, process figures read from `/proc/self`, and the
//! backup figures the catalog holds ([`catalog`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub mod catalog;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
}

/// Process-wide metrics registry.
#[derive(Debug)]
pub struct Metrics {
    inner: Mutex<Inner>,
    start_time: f64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let start_time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        Self {
            inner: Mutex::new(Inner::default()),
            start_time,
        }
    }

    /// Records one finished HTTP request. `route` is the matched route pattern (bounded
    /// cardinality), never the raw path.
    pub fn record_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        *inner
            .requests
            .entry((method.to_string(), route.to_string(), status))
            .or_insert(0) += 1;
        let h = inner.latency.entry(route.to_string()).or_default();
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// Renders every metric in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP snapkeep_build_info Snapkeep version.");
        let _ = writeln!(out, "# TYPE snapkeep_build_info gauge");
        let _ = writeln!(
            out,
            "snapkeep_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        if let Ok(inner) = self.inner.lock() {
            let _ = writeln!(out, "# HELP http_requests_total HTTP requests answered.");
            let _ = writeln!(out, "# TYPE http_requests_total counter");
            for ((method, route, status), n) in &inner.requests {
                let _ = writeln!(
                    out,
                    "http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(method),
                    escape(route)
                );
            }
            let _ = writeln!(
                out,
                "# HELP http_request_duration_seconds Time to answer HTTP requests."
            );
            let _ = writeln!(out, "# TYPE http_request_duration_seconds histogram");
            for (route, h) in &inner.latency {
                let route = escape(route);
                for (i, bound) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    h.count
                );
            }
        }
        render_process(&mut out, self.start_time);
        out
    }
}

/// A label value in the exposition format's escaping.
pub(crate) fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    push_escaped(&mut out, v);
    out
}

/// Appends `v` to `out` escaped as a label value (backslash, double quote, newline).
pub(crate) fn push_escaped(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Process metrics from `/proc/self` (Linux); silently omitted elsewhere.
fn render_process(out: &mut String, start_time: f64) {
    let _ = writeln!(
        out,
        "# HELP process_start_time_seconds Start time of the process since the Unix epoch."
    );
    let _ = writeln!(out, "# TYPE process_start_time_seconds gauge");
    let _ = writeln!(out, "process_start_time_seconds {start_time}");
    // SAFETY: sysconf takes no pointers and only reads configuration values.
    let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    if let Ok(statm) = std::fs::read_to_string("/proc/self/statm") {
        let mut fields = statm.split_whitespace();
        let virt = fields.next().and_then(|v| v.parse::<u64>().ok());
        let rss = fields.next().and_then(|v| v.parse::<u64>().ok());
        if let (Some(virt), Some(rss)) = (virt, rss) {
            let _ = writeln!(
                out,
                "# HELP process_resident_memory_bytes Resident memory size."
            );
            let _ = writeln!(out, "# TYPE process_resident_memory_bytes gauge");
            let _ = writeln!(out, "process_resident_memory_bytes {}", rss * page_size);
            let _ = writeln!(
                out,
                "# HELP process_virtual_memory_bytes Virtual memory size."
            );
            let _ = writeln!(out, "# TYPE process_virtual_memory_bytes gauge");
            let _ = writeln!(out, "process_virtual_memory_bytes {}", virt * page_size);
        }
    }
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        // Fields after the command name (which may contain spaces) start after the last ')'.
        if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
            let f: Vec<&str> = rest.split_whitespace().collect();
            // utime and stime are fields 14 and 15 of stat; here indices 11 and 12.
            let utime = f.get(11).and_then(|v| v.parse::<f64>().ok());
            let stime = f.get(12).and_then(|v| v.parse::<f64>().ok());
            if let (Some(u), Some(s)) = (utime, stime) {
                let _ = writeln!(
                    out,
                    "# HELP process_cpu_seconds_total User and system CPU time."
                );
                let _ = writeln!(out, "# TYPE process_cpu_seconds_total counter");
                let _ = writeln!(out, "process_cpu_seconds_total {}", (u + s) / ticks);
            }
        }
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        let _ = writeln!(out, "# HELP process_open_fds Open file descriptors.");
        let _ = writeln!(out, "# TYPE process_open_fds gauge");
        let _ = writeln!(out, "process_open_fds {}", fds.count());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_per_route_and_status() {
        let m = Metrics::new();
        m.record_request("GET", "/healthz", 200, Duration::from_millis(2));
        m.record_request("GET", "/healthz", 200, Duration::from_millis(3));
        m.record_request("GET", "/api/v1/calculator", 400, Duration::from_millis(1));
        let text = m.render();
        assert!(
            text.contains(
                "http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"
            )
        );
        assert!(text.contains(
            "http_requests_total{method=\"GET\",route=\"/api/v1/calculator\",status=\"400\"} 1"
        ));
        assert!(text.contains("http_request_duration_seconds_count{route=\"/healthz\"} 2"));
        assert!(
            text.contains(
                "http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.0025\"} 1"
            )
        );
        assert!(text.contains("process_resident_memory_bytes "));
    }
}
