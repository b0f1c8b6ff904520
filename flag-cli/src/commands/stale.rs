//! `flags stale`: the flags whose code can probably be deleted, from the admin list's stale
//! filters; exit 2 when there are any (a CI lint, like `plan` on drift).

use flag_sdk::wire::{FlagList, StoredFlag};
use flag_sdk::StaleDays;

use super::{Ctx, Outcome};
use crate::cli::{Output, StaleArgs};
use crate::error::Result;
use crate::output;

/// Days of `--days` when no filter is given.
pub const DEFAULT_DAYS: u16 = 30;

/// The query string of the flag list for these filters: `stale_days` from `--days`, or 30
/// when no filter is given at all.
pub fn query(args: &StaleArgs) -> String {
    let mut params = Vec::new();
    if let Some(d) = args.not_evaluated {
        params.push(format!("not_evaluated_days={}", d.get()));
    }
    if args.expired {
        params.push("expired=true".to_owned());
    }
    if let Some(d) = args.settled {
        params.push(format!("settled_days={}", d.get()));
    }
    let days = match args.days {
        Some(d) => Some(d.get()),
        None if params.is_empty() => Some(DEFAULT_DAYS),
        None => None,
    };
    if let Some(d) = days {
        params.push(format!("stale_days={d}"));
    }
    params.join("&")
}

/// The stale flags of the environment, sorted by key.
pub async fn fetch(ctx: &Ctx, query: &str) -> Result<FlagList> {
    let mut list: FlagList = ctx
        .client
        .get(&ctx.env_path(&format!("/flags?{query}"))?, &ctx.env_what())
        .await?;
    list.flags.sort_by(|a, b| a.flag.key.cmp(&b.flag.key));
    Ok(list)
}

/// The flags stale in any way for `days` days.
pub async fn fetch_any(ctx: &Ctx, days: StaleDays) -> Result<FlagList> {
    fetch(ctx, &format!("stale_days={}", days.get())).await
}

/// Runs `flags stale`.
pub async fn run(ctx: &Ctx, args: &StaleArgs) -> Result<Outcome> {
    let list = fetch(ctx, &query(args)).await?;
    if ctx.output == Output::Json {
        output::json(&list)?;
    } else if !list.flags.is_empty() {
        output::table(
            &["KEY", "REASONS", "LAST EVALUATED", "LAST CHANGED", "OWNER"],
            list.flags.iter().map(row).collect(),
        )?;
    }
    if list.flags.is_empty() {
        output::note(format!("no stale flags in {}", ctx.env_what()));
        Ok(Outcome::Done)
    } else {
        Ok(Outcome::Drift)
    }
}

/// One table row: key, reasons, last evaluated, last changed, owner.
fn row(f: &StoredFlag) -> Vec<String> {
    let reasons: Vec<&str> = f.stale.iter().flatten().map(|r| r.as_str()).collect();
    let day = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d").to_string();
    vec![
        f.flag.key.to_string(),
        reasons.join(","),
        f.usage
            .and_then(|u| u.last_evaluated)
            .map_or_else(|| "never".to_owned(), day),
        f.flag.updated_at.map(day).unwrap_or_default(),
        f.flag.owner.clone().unwrap_or_default(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(
        days: Option<u64>,
        expired: bool,
        not_evaluated: Option<u64>,
        settled: Option<u64>,
    ) -> StaleArgs {
        let d = |n: Option<u64>| n.map(|n| StaleDays::new(n).unwrap());
        StaleArgs {
            days: d(days),
            expired,
            not_evaluated: d(not_evaluated),
            settled: d(settled),
        }
    }

    #[test]
    fn the_default_is_stale_for_30_days_only_without_other_filters() {
        assert_eq!(query(&args(None, false, None, None)), "stale_days=30");
        assert_eq!(query(&args(Some(90), false, None, None)), "stale_days=90");
        assert_eq!(query(&args(None, true, None, None)), "expired=true");
        assert_eq!(
            query(&args(None, false, Some(14), Some(60))),
            "not_evaluated_days=14&settled_days=60"
        );
        assert_eq!(
            query(&args(Some(7), true, None, None)),
            "expired=true&stale_days=7"
        );
    }
}
