//! Tag templates: the tag a scheduled run gets, from the schedule's name and the run's due
//! time on the schedule's wall clock. Every scheduled tag starts with
//! [`SCHEDULED_PREFIX`](crate::snapshots::validate::SCHEDULED_PREFIX), so a scan knows a
//! scheduled snapshot from its tag alone, even with a lost catalog.

use chrono::DateTime;
use chrono_tz::Tz;

use crate::snapshots::validate::{MAX_TAG_LEN, SCHEDULED_PREFIX};

/// The template a schedule gets when none is given.
pub const DEFAULT_TEMPLATE: &str = "{name}-{datetime}";

/// The placeholders a template may use.
pub const PLACEHOLDERS: &str =
    "{name}, {date} (yyyymmdd), {time} (hhmmss), {datetime} (yyyymmddThhmmss)";

/// Why a template is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error(
        "tag template `{template}` has an unknown placeholder `{{{name}}}`; use {PLACEHOLDERS}"
    )]
    Placeholder { template: String, name: String },
    #[error("tag template `{template}` has an unclosed `{{`; placeholders are {PLACEHOLDERS}")]
    Unclosed { template: String },
    #[error(
        "tag template `{template}` gives tag `{tag}`, which is not a snapshot tag: tags are 1 to {MAX_TAG_LEN} characters from [A-Za-z0-9_.-] (the `{SCHEDULED_PREFIX}` prefix included)"
    )]
    BadTag { template: String, tag: String },
    #[error(
        "tag template `{template}` gives two runs the same tag `{tag}`; add {{time}} or {{datetime}} so every run gets its own"
    )]
    Collides { template: String, tag: String },
}

/// The tag of a run of schedule `name` due at `due` (wall clock of the schedule's zone).
pub fn render(template: &str, name: &str, due: &DateTime<Tz>) -> Result<String, TemplateError> {
    let mut out = String::from(SCHEDULED_PREFIX);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| TemplateError::Unclosed {
            template: template.to_string(),
        })?;
        match &after[..close] {
            "name" => out.push_str(name),
            "date" => out.push_str(&due.format("%Y%m%d").to_string()),
            "time" => out.push_str(&due.format("%H%M%S").to_string()),
            "datetime" => out.push_str(&due.format("%Y%m%dT%H%M%S").to_string()),
            other => {
                return Err(TemplateError::Placeholder {
                    template: template.to_string(),
                    name: other.to_string(),
                });
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    if !app::names::is_tag(&out) || out.starts_with('-') {
        return Err(TemplateError::BadTag {
            template: template.to_string(),
            tag: out,
        });
    }
    Ok(out)
}

/// The tags of the runs due at `dues`, refused when two are the same.
pub fn distinct_tags(
    template: &str,
    name: &str,
    dues: &[DateTime<Tz>],
) -> Result<Vec<String>, TemplateError> {
    let mut tags: Vec<String> = Vec::with_capacity(dues.len());
    for due in dues {
        let tag = render(template, name, due)?;
        if tags.contains(&tag) {
            return Err(TemplateError::Collides {
                template: template.to_string(),
                tag,
            });
        }
        tags.push(tag);
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Tz> {
        chrono_tz::Europe::Berlin
            .with_ymd_and_hms(2026, 12, 1, h, m, s)
            .single()
            .expect("exists")
    }

    #[test]
    fn placeholders_are_filled_on_the_schedules_wall_clock() {
        assert_eq!(
            render("nightly-{date}", "n", &at(2, 0, 0)).expect("render"),
            "snapkeep-sched-nightly-20261201"
        );
        assert_eq!(
            render(DEFAULT_TEMPLATE, "shop", &at(2, 5, 9)).expect("render"),
            "snapkeep-sched-shop-20261201T020509"
        );
        assert_eq!(
            render("{name}.{time}", "a_b", &at(23, 59, 1)).expect("render"),
            "snapkeep-sched-a_b.235901"
        );
    }

    #[test]
    fn unknown_placeholders_bad_characters_and_collisions_are_refused() {
        let e = render("x-{hour}", "n", &at(1, 0, 0)).expect_err("unknown");
        assert!(e.to_string().contains("`{hour}`"), "{e}");
        let e = render("x-{date", "n", &at(1, 0, 0)).expect_err("unclosed");
        assert!(matches!(e, TemplateError::Unclosed { .. }), "{e}");
        let e = render("night ly", "n", &at(1, 0, 0)).expect_err("space");
        assert!(e.to_string().contains("snapkeep-sched-night ly"), "{e}");
        let e = render(&"x".repeat(90), "n", &at(1, 0, 0)).expect_err("long");
        assert!(matches!(e, TemplateError::BadTag { .. }), "{e}");
        let e = distinct_tags("nightly-{date}", "n", &[at(1, 0, 0), at(13, 0, 0)])
            .expect_err("same day");
        assert!(
            e.to_string().contains("snapkeep-sched-nightly-20261201")
                && e.to_string().contains("{time}"),
            "{e}"
        );
        assert_eq!(
            distinct_tags("h-{datetime}", "n", &[at(1, 0, 0), at(13, 0, 0)])
                .expect("distinct")
                .len(),
            2
        );
    }
}
