//! Badges: a restore request's or a journal step's state, a schema verdict, a snapshot's kind,
//! and a check that passed or not. Each carries its raw value in a `data-` attribute for
//! tests and styles.

use leptos::prelude::*;

use crate::api::{Verdict, is_undo_kind};

/// A state in words: `awaiting_approval` reads "awaiting approval".
pub fn state_text(state: &str) -> String {
    state.replace('_', " ")
}

/// A restore request's or a journal step's state as a badge.
#[component]
pub fn StateBadge(state: String, #[prop(optional)] testid: Option<&'static str>) -> impl IntoView {
    view! {
        <span class=format!("badge restore-state state-{state}") data-state=state.clone() data-testid=testid>
            {state_text(&state)}
        </span>
    }
}

/// The schema verdict in words.
pub fn verdict_text(v: Verdict) -> &'static str {
    match v {
        Verdict::Compatible => "compatible",
        Verdict::CompatibleWithWarnings => "compatible with warnings",
        Verdict::Incompatible => "incompatible",
    }
}

/// The schema verdict as the API spells it (`compatible_with_warnings`), for attributes.
pub fn verdict_key(v: Verdict) -> &'static str {
    match v {
        Verdict::Compatible => "compatible",
        Verdict::CompatibleWithWarnings => "compatible_with_warnings",
        Verdict::Incompatible => "incompatible",
    }
}

/// A schema verdict as a badge: green, amber or red.
#[component]
pub fn VerdictBadge(
    verdict: Verdict,
    #[prop(optional)] testid: Option<&'static str>,
) -> impl IntoView {
    let key = verdict_key(verdict);
    view! {
        <span class=format!("badge verdict verdict-{key}") data-verdict=key data-testid=testid>
            {verdict_text(verdict)}
        </span>
    }
}

/// A snapshot's kind as a badge; the kinds that can undo a TRUNCATE or DROP are loud.
#[component]
pub fn KindBadge(kind: String) -> impl IntoView {
    let class = if is_undo_kind(&kind) {
        "badge kind loud"
    } else {
        "badge kind"
    };
    let data_kind = kind.clone();
    view! { <span class=class data-kind=data_kind>{kind}</span> }
}

/// A check's outcome: green with the words `yes`, or red with the words `no`.
#[component]
pub fn OkBadge(ok: bool, yes: &'static str, no: &'static str) -> impl IntoView {
    let (class, text) = if ok {
        ("badge ok", yes)
    } else {
        ("badge bad", no)
    };
    view! { <span class=class>{text}</span> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_verdicts_read_as_words() {
        assert_eq!(state_text("awaiting_approval"), "awaiting approval");
        assert_eq!(state_text("done"), "done");
        assert_eq!(
            verdict_text(Verdict::CompatibleWithWarnings),
            "compatible with warnings"
        );
        assert_eq!(verdict_key(Verdict::Incompatible), "incompatible");
    }
}
