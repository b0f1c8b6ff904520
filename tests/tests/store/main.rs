//! The store conformance suite: one set of behaviours, run against the embedded store,
//! against a Redis store on a real `redis-server`, on a real Redis Cluster and on a real
//! Sentinel deployment (`embedded::*`, `redis::*`, `cluster::*`, `sentinel::*`), plus
//! backend-specific persistence and fault tests (`specific::*`).

mod clients;
mod events;
mod flags;
mod log;
mod records;
mod segments;
mod specific;
mod support;

support::conformance!(
    flags::environments_create_list_delete,
    flags::delete_environment_removes_everything,
    flags::writes_get_consecutive_versions,
    flags::flags_round_trip_exactly,
    flags::failed_batch_writes_nothing,
    flags::expected_versions_are_checked,
    flags::racing_writers_one_wins,
    log::changes_since_is_exact,
    log::change_log_is_trimmed,
    log::wait_wakes_up_on_a_write,
    log::wait_returns_pending_changes_at_once,
    log::wait_times_out_empty,
    log::wait_ignores_other_environments,
    records::audit_is_newest_first_with_paging,
    records::sdk_keys_create_list_revoke,
    records::usage_sums_reports,
    records::ping_and_kind,
    records::jobs_are_compare_and_set,
    events::events_record_environments_and_keys,
    events::identity_and_leases,
    events::restore_writes_only_when_behind,
    segments::segments_are_written_like_flags,
    segments::write_at_checks_the_environment_version,
    segments::segments_are_restored_and_deleted_with_their_environment,
    clients::clients_merge_per_instance,
    clients::clients_are_pruned_and_go_with_their_environment,
);
