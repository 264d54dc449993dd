//! Per-response security headers set at the outermost edge: a Content-Security-Policy whose
//! `script-src` allows only this site's files and the inline scripts carrying this response's
//! fresh nonce (Leptos's hydration bootstrap and streamed resource chunks get it through
//! [`leptos::nonce::Nonce`] in the render context), and `Cache-Control: no-store` on every
//! answer except the static `/pkg` assets and answers that chose their own caching.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Bytes of randomness in a nonce (128 bits, as the CSP specification asks at least).
const NONCE_BYTES: usize = 16;

/// The script nonce of one response; the layer puts it in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CspNonce(pub Arc<str>);

impl CspNonce {
    /// A fresh random nonce (hex, so it is valid in a CSP source and an HTML attribute).
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; NONCE_BYTES];
        getrandom::getrandom(&mut bytes)?;
        Ok(Self(hex::encode(bytes).into()))
    }
}

/// The policy for a response with `nonce` (none: no inline script may run at all).
///
/// `'wasm-unsafe-eval'` lets the page compile its WebAssembly; styles keep `'unsafe-inline'`
/// because the pages use `style` attributes (bars, chart sizes), which nonces cannot cover.
pub fn content_security_policy(nonce: Option<&CspNonce>) -> String {
    let script_nonce = nonce
        .map(|n| format!(" 'nonce-{}'", n.0))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'{script_nonce} 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Whether answers under `path` may be cached by the browser (the hashed-by-build web assets).
fn cacheable(path: &str) -> bool {
    path.starts_with("/pkg/")
}

/// The layer (see the module documentation).
pub async fn security_headers(mut req: Request, next: Next) -> Response {
    let nonce = match CspNonce::generate() {
        Ok(n) => Some(n),
        Err(e) => {
            // Without a nonce no inline script runs: pages still read, they just do not hydrate.
            tracing::error!(error = %e, "cannot generate a CSP nonce");
            None
        }
    };
    if let Some(n) = &nonce {
        req.extensions_mut().insert(n.clone());
    }
    let may_cache = cacheable(req.uri().path());
    let mut resp = next.run(req).await;
    let headers = resp.headers_mut();
    match HeaderValue::from_str(&content_security_policy(nonce.as_ref())) {
        Ok(v) => {
            headers.insert(header::CONTENT_SECURITY_POLICY, v);
        }
        Err(e) => tracing::error!(error = %e, "cannot build the CSP header"),
    }
    if !may_cache && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// Puts this request's nonce into the Leptos render context, so the hydration scripts and the
/// streamed `<script>` chunks carry the nonce the CSP header names. Call it from the
/// additional-context closure of the Leptos routes.
pub fn provide_request_nonce() {
    use leptos::prelude::{provide_context, use_context};
    let nonce = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CspNonce>().cloned());
    if let Some(n) = nonce {
        provide_context(leptos::nonce::Nonce::from_value(n.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_nonce_and_allows_no_inline_script_otherwise() {
        let n = CspNonce("abc123".into());
        let csp = content_security_policy(Some(&n));
        let script_src = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap_or_default();
        assert_eq!(
            script_src,
            "script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval'"
        );
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!content_security_policy(None).contains("nonce-"));
    }

    #[test]
    fn nonces_are_fresh_hex() {
        let a = CspNonce::generate().expect("nonce");
        let b = CspNonce::generate().expect("nonce");
        assert_ne!(a, b);
        assert_eq!(a.0.len(), NONCE_BYTES * 2);
        assert!(a.0.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
