//! The routes of the API, from both sides: those the OpenAPI document lists, and those the
//! router serves. axum cannot list a router's routes, so the served ones are found by asking
//! the router: every path literal of a `.route("…"` in the server's source (and every
//! documented path), under every `.nest("…"` prefix, is sent a request with a method no route
//! has (`PROBE…`, a new one each time). No handler runs: a path that a route serves answers
//! 405 with the route's methods in `Allow`, and the route the router matched (its template)
//! is what `/metrics` counts for that method.
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::{Method, StatusCode};
use serde_json::Value;

use super::TestApp;

/// A route: (METHOD, path template as the OpenAPI document writes it, e.g. `/api/v1/restores/{id}`).
pub type Route = (String, String);

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every (method, path) of an OpenAPI document.
pub fn documented(doc: &Value) -> BTreeSet<Route> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// The template with each parameter filled in (`{tag}` → `nightly`, any other → `1`).
pub fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|seg| match seg {
            "{tag}" => "nightly",
            s if s.starts_with('{') && s.ends_with('}') => "1",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The template with its parameters' names left out (`/restores/{}`), to compare templates.
pub fn shape(template: &str) -> String {
    template
        .split('/')
        .map(|seg| match seg {
            s if s.starts_with('{') && s.ends_with('}') => "{}",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// What the router did with one probe.
#[derive(Debug, Default)]
pub struct Probe {
    /// The template of the route the router matched, if any.
    pub route: Option<String>,
    /// The methods that route serves (without HEAD); empty unless the answer was 405.
    pub methods: BTreeSet<String>,
}

/// Probes each of `paths` (concrete paths): what the router matched and which methods it
/// serves there.
pub async fn probe(app: &TestApp, paths: &[String]) -> Vec<Probe> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let mut names = Vec::new();
    let mut probes = Vec::new();
    for path in paths {
        let name = format!("PROBE{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let method = Method::from_bytes(name.as_bytes()).expect("method");
        let answer = app.admin().request(method, path).send().await;
        let methods = if answer.status == StatusCode::METHOD_NOT_ALLOWED {
            answer
                .header("allow")
                .split(',')
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty() && m != "HEAD")
                .collect()
        } else {
            BTreeSet::new()
        };
        names.push(name);
        probes.push(Probe {
            route: None,
            methods,
        });
    }
    let metrics = app.fetch("/metrics").await.text;
    for (name, probe) in names.iter().zip(&mut probes) {
        let label = format!("http_requests_total{{method=\"{name}\",route=\"");
        probe.route = metrics.lines().find_map(|l| {
            let rest = l.strip_prefix(&label)?;
            rest.split_once('"').map(|(route, _)| route.to_string())
        });
    }
    probes
}

/// Every route the router serves under `/api/v1` (catch-all routes, `{*…}`, left out): the
/// candidates are the path literals of `.route(…)` in `server/src` and the templates of
/// `extra`, under every `.nest(…)` prefix.
pub async fn served_api(app: &TestApp, extra: &BTreeSet<Route>) -> BTreeSet<Route> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut routes = BTreeSet::new();
    let mut nests = BTreeSet::new();
    for file in rust_files(&src) {
        let text = std::fs::read_to_string(&file).expect("read source");
        routes.extend(literal_arguments(&text, ".route("));
        nests.extend(literal_arguments(&text, ".nest("));
    }
    routes.extend(extra.iter().map(|(_, path)| path.clone()));
    let mut prefixes: BTreeSet<String> = [String::new()].into();
    for outer in &nests {
        prefixes.insert(outer.clone());
        for inner in &nests {
            prefixes.insert(format!("{outer}{inner}"));
        }
    }
    let mut candidates = BTreeSet::new();
    for prefix in &prefixes {
        for route in &routes {
            candidates.insert(match route.as_str() {
                "/" if !prefix.is_empty() => prefix.clone(),
                r => format!("{prefix}{r}"),
            });
        }
    }
    let paths: Vec<String> = candidates.iter().map(|t| concrete(t)).collect();
    let mut served = BTreeSet::new();
    for probe in probe(app, &paths).await {
        let Some(route) = probe.route else { continue };
        if route.starts_with("/api/v1/") && !route.contains("{*") {
            for method in probe.methods {
                served.insert((method, route.clone()));
            }
        }
    }
    served
}

/// The documented routes the router does not serve: no route of that template, or not with
/// that method.
pub async fn unserved(app: &TestApp, documented: &BTreeSet<Route>) -> Vec<Route> {
    let paths: Vec<String> = documented.iter().map(|(_, p)| concrete(p)).collect();
    let probes = probe(app, &paths).await;
    documented
        .iter()
        .zip(probes)
        .filter(|((method, path), probe)| {
            probe.route.as_deref().map(shape) != Some(shape(path))
                || !probe.methods.contains(method)
        })
        .map(|(route, _)| route.clone())
        .collect()
}

/// The first argument of each `call` (e.g. `.route(`) in `text` that is a string literal.
fn literal_arguments(text: &str, call: &str) -> Vec<String> {
    text.match_indices(call)
        .filter_map(|(at, _)| {
            let rest = text[at + call.len()..].trim_start().strip_prefix('"')?;
            rest.split_once('"').map(|(lit, _)| lit.to_string())
        })
        .collect()
}

fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read source dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}
