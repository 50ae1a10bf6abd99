//! The behaviour every storage backend must show, as one generic suite.
//!
//! A backend's test crate runs it with [`conformance_tests!`](crate::conformance_tests),
//! given an async expression that yields a fresh, empty, migrated store:
//!
//! ```text
//! casedesk_store::conformance_tests!(my_backend::fresh_store());
//! ```
//!
//! The calling crate needs `tokio` (with `macros` and `rt-multi-thread`) as
//! a dependency: each case becomes one `#[tokio::test]`. A case panics with
//! a message saying what the store did wrong.
//!
//! The suite asks only what the [`Tx`](crate::Tx) contract promises, never
//! how a backend keeps it: a store may run writes one at a time or in
//! parallel, as long as each unit of work is atomic and the per-customer and
//! claim guarantees hold.

mod catalog;
mod concurrency;
mod email;
mod fixtures;
mod imports;
mod limits;
mod live;
mod messenger;
mod queries;
mod records;
mod reports;
mod scheduling;
mod widget;

pub use catalog::{
    accounts_and_rules_read_as_committed, labels_on_cases_filter_and_delete, rules_and_rule_timers,
    templates_round_trip,
};
pub use concurrency::{
    concurrent_deadline_claims_never_overlap, concurrent_messages_of_one_customer_make_one_case,
};
pub use email::{
    automatic_replies_to_a_customer_are_counted, letters_are_stored_once_and_found_by_their_thread,
    one_persons_profiles_link_and_unlink,
};
pub use imports::{
    import_rows_are_staged_once_and_read_by_customer, imports_are_claimed_by_one_worker_at_a_time,
    imports_round_trip_in_their_account,
};
pub use limits::{
    concurrent_limit_entries_never_pass_the_maximum, limit_entries_count_until_they_expire,
};
pub use live::{
    a_running_unit_of_work_holds_later_notices_back, notices_are_read_in_order_of_place_and_pruned,
};
pub use messenger::{
    channel_secrets_round_trip_and_stay_out_of_debug,
    channel_updates_are_stored_once_and_claimed_in_each_chats_order,
    concurrent_update_workers_keep_each_chats_order,
    messenger_edits_albums_requeues_and_deliveries, one_server_at_a_time_holds_a_bots_poll,
};
pub use queries::{
    account_isolation, case_numbers_are_sequential_per_account, list_cases_filters,
    list_cases_paging_and_merged, list_cases_search, list_cases_search_is_the_domains,
    list_cases_sorted_and_paged_by_each_order, message_summary,
    move_messages_moves_exactly_the_given_ids, search_columns_of_older_rows_are_filled_on_open,
};
pub use records::{
    accounts_agents_and_tokens_round_trip, cases_round_trip_every_state_field,
    channels_and_customers_round_trip, closed_store_is_unavailable, failed_job_rolls_back,
    many_customers_cases_and_messages_at_once, messages_reactions_and_events_round_trip,
    routing_reads_what_was_committed,
};
pub use reports::{
    account_time_zone_round_trips, export_cases_pages_with_names,
    seed_bulk_inserts_customers_cases_and_events,
    stats_follow_reassignment_and_events_need_their_case,
    stats_tally_history_samples_and_active_chats,
};
pub use scheduling::{
    batch_reads_and_writes_of_cases_deadlines_and_events, deadlines,
    outbox_dead_letters_are_listed_and_requeued, outbox_lease_and_finish,
};
pub use widget::{
    attachments_follow_their_message, help_center_emails_and_tokens,
    widget_visitors_channels_and_conversations,
};

/// Generates one `#[tokio::test]` per conformance case. `$make` is an async
/// expression producing an `Arc<dyn Store>` that is fresh, empty and
/// migrated; every test gets its own and closes it at the end.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@cases $make;
            accounts_agents_and_tokens_round_trip,
            channels_and_customers_round_trip,
            cases_round_trip_every_state_field,
            messages_reactions_and_events_round_trip,
            failed_job_rolls_back,
            closed_store_is_unavailable,
            account_isolation,
            case_numbers_are_sequential_per_account,
            list_cases_filters,
            list_cases_search,
            list_cases_search_is_the_domains,
            list_cases_paging_and_merged,
            list_cases_sorted_and_paged_by_each_order,
            move_messages_moves_exactly_the_given_ids,
            message_summary,
            deadlines,
            batch_reads_and_writes_of_cases_deadlines_and_events,
            outbox_lease_and_finish,
            outbox_dead_letters_are_listed_and_requeued,
            concurrent_deadline_claims_never_overlap,
            concurrent_messages_of_one_customer_make_one_case,
            account_time_zone_round_trips,
            stats_tally_history_samples_and_active_chats,
            stats_follow_reassignment_and_events_need_their_case,
            export_cases_pages_with_names,
            seed_bulk_inserts_customers_cases_and_events,
            labels_on_cases_filter_and_delete,
            templates_round_trip,
            rules_and_rule_timers,
            accounts_and_rules_read_as_committed,
            routing_reads_what_was_committed,
            many_customers_cases_and_messages_at_once,
            widget_visitors_channels_and_conversations,
            help_center_emails_and_tokens,
            attachments_follow_their_message,
            channel_secrets_round_trip_and_stay_out_of_debug,
            channel_updates_are_stored_once_and_claimed_in_each_chats_order,
            one_server_at_a_time_holds_a_bots_poll,
            concurrent_update_workers_keep_each_chats_order,
            messenger_edits_albums_requeues_and_deliveries,
            letters_are_stored_once_and_found_by_their_thread,
            one_persons_profiles_link_and_unlink,
            automatic_replies_to_a_customer_are_counted,
            notices_are_read_in_order_of_place_and_pruned,
            a_running_unit_of_work_holds_later_notices_back,
            limit_entries_count_until_they_expire,
            concurrent_limit_entries_never_pass_the_maximum,
            imports_round_trip_in_their_account,
            import_rows_are_staged_once_and_read_by_customer,
            imports_are_claimed_by_one_worker_at_a_time,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let store: ::std::sync::Arc<dyn $crate::Store> = $make.await;
                $crate::conformance::$case(::std::sync::Arc::clone(&store)).await;
                $crate::Store::close(&*store).await;
            }
        )+
    };
}
