//! Instants as the pages show them: in UTC (what the server renders) and, once the page runs
//! in the browser, in the reader's own zone underneath.

use leptos::prelude::*;

use crate::api::format_utc;

/// `2026-11-24T20:08:40Z`, for `<time datetime>`.
pub fn iso_utc(ms: i64) -> String {
    let utc = format_utc(ms);
    let stamp = utc.trim_end_matches(" UTC");
    format!("{}Z", stamp.replacen(' ', "T", 1))
}

/// The same instant in a zone `offset_minutes` east of UTC: `2026-11-24 21:08:40 UTC+01:00`.
pub fn format_local(ms: i64, offset_minutes: i64) -> String {
    let shifted = format_utc(ms + offset_minutes * 60_000);
    let stamp = shifted.trim_end_matches(" UTC");
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let abs = offset_minutes.abs();
    format!("{stamp} UTC{sign}{:02}:{:02}", abs / 60, abs % 60)
}

/// The browser's offset from UTC at that instant, in minutes east (daylight saving included).
#[cfg(feature = "hydrate")]
fn browser_offset_minutes(ms: i64) -> Option<i64> {
    use leptos::wasm_bindgen::JsValue;
    use leptos::web_sys::js_sys::Date;
    let west = Date::new(&JsValue::from_f64(ms as f64)).get_timezone_offset();
    west.is_finite().then(|| -(west.round() as i64))
}

#[cfg(not(feature = "hydrate"))]
fn browser_offset_minutes(_ms: i64) -> Option<i64> {
    None
}

/// An instant in UTC and, in the browser, in the reader's own zone underneath (unless that
/// zone is UTC).
#[component]
pub fn Time(ms: i64) -> impl IntoView {
    let local = RwSignal::new(None::<String>);
    // Effects run only in the browser: the server has no idea of the reader's zone.
    Effect::new(move |_| {
        local.set(
            browser_offset_minutes(ms)
                .filter(|off| *off != 0)
                .map(|off| format_local(ms, off)),
        );
    });
    view! {
        <time class="when" datetime=iso_utc(ms)>{format_utc(ms)}</time>
        {move || local.get().map(|l| view! { <span class="when-local">{l}</span> })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_carry_their_zone() {
        assert_eq!(iso_utc(1_795_550_920_176), "2026-11-24T20:08:40Z");
        assert_eq!(
            format_local(1_795_550_920_176, 60),
            "2026-11-24 21:08:40 UTC+01:00"
        );
        assert_eq!(
            format_local(1_795_550_920_176, -330),
            "2026-11-24 14:38:40 UTC-05:30"
        );
    }
}
