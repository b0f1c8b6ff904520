//! The list of clients (`GET /environments/{env}/clients`): the store's records merged with
//! what this server knows and has not written yet.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use flag_sdk::wire::ClientInfo;

use super::{streaming, LocalClient, LISTED_FOR};
use crate::store::ClientRecord;

/// The instances seen at or after `now - LISTED_FOR`, from the store's records and this
/// server's, of the application `app` when given; sorted by application name (those without
/// one first), then instance id.
pub fn merge(
    stored: Vec<ClientRecord>,
    local: Vec<LocalClient>,
    now: DateTime<Utc>,
    app: Option<&str>,
) -> Vec<ClientInfo> {
    let mut local: HashMap<String, LocalClient> = local
        .into_iter()
        .map(|l| (l.record.instance_id.clone(), l))
        .collect();
    let mut records: Vec<ClientRecord> = stored
        .into_iter()
        .map(|mut r| {
            if let Some(l) = local.get(&r.instance_id) {
                r.merge(&l.record);
            }
            r
        })
        .collect();
    let known: std::collections::HashSet<String> =
        records.iter().map(|r| r.instance_id.clone()).collect();
    records.extend(
        local
            .values()
            .filter(|l| !known.contains(&l.record.instance_id))
            .map(|l| l.record.clone()),
    );
    let since = now - LISTED_FOR;
    let mut out: Vec<ClientInfo> = records
        .into_iter()
        .filter(|r| r.last_seen >= since)
        .filter(|r| app.is_none() || r.app_name.as_deref() == app)
        .map(|r| {
            let streaming = streaming(&r, local.remove(&r.instance_id).as_ref(), now);
            ClientInfo {
                instance_id: r.instance_id,
                app_name: r.app_name,
                app_version: r.app_version,
                sdk: r.sdk,
                first_seen: r.first_seen,
                last_seen: r.last_seen,
                streaming,
                flags: r.flags.into_iter().collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.app_name, &a.instance_id).cmp(&(&b.app_name, &b.instance_id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn rec(id: &str, app: Option<&str>, ago: i64, now: DateTime<Utc>) -> ClientRecord {
        ClientRecord {
            instance_id: id.into(),
            app_name: app.map(Into::into),
            app_version: Some("1.0.0".into()),
            sdk: None,
            first_seen: now - TimeDelta::seconds(ago),
            last_seen: now - TimeDelta::seconds(ago),
            stream_seen: None,
            flags: Default::default(),
        }
    }

    #[test]
    fn stored_and_local_records_merge_sorted_and_filtered() {
        let now = Utc::now();
        let stored = vec![
            rec("b", Some("web"), 10, now),
            rec("a", Some("web"), 10, now),
            rec("old", Some("web"), 7200, now),
            rec("z", None, 10, now),
        ];
        let mut newer = rec("a", Some("web"), 0, now);
        newer.app_version = Some("1.1.0".into());
        newer.flags.insert("f".into());
        let local = vec![
            LocalClient {
                record: newer,
                streaming_here: true,
                stream_closed: None,
            },
            LocalClient {
                record: rec("c", Some("api"), 0, now),
                streaming_here: false,
                stream_closed: None,
            },
        ];
        let all = merge(stored.clone(), local.clone(), now, None);
        let ids: Vec<_> = all.iter().map(|c| c.instance_id.as_str()).collect();
        assert_eq!(ids, ["z", "c", "a", "b"]);
        let a = &all[2];
        assert_eq!(a.app_version.as_deref(), Some("1.1.0"));
        assert_eq!(a.flags, ["f"]);
        assert!(a.streaming);
        assert!(!all[3].streaming);
        let web = merge(stored, local, now, Some("web"));
        let ids: Vec<_> = web.iter().map(|c| c.instance_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
    }
}
