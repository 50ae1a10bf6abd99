//! Labels on cases and templates (macros).

use std::sync::Arc;

use casedesk_domain::{Action, Status};

use super::fixtures::*;
use crate::{CaseFilter, LabelRecord, Store, TemplateRecord};

fn label(id: &str, account_id: &str, name: &str) -> LabelRecord {
    LabelRecord {
        id: id.to_owned(),
        account_id: account_id.to_owned(),
        name: name.to_owned(),
        color: Some("#1f8a70".into()),
        created_at: t_micros(5, 123_456),
    }
}

pub async fn labels_on_cases_filter_and_delete(store: Arc<dyn Store>) {
    let store = &*store;
    let a = world(store, "lab-a").await;
    world(store, "lab-b").await;
    insert_cases(
        store,
        vec![
            a.case("lc-1", 1, 10),
            a.case("lc-2", 2, 20),
            a.case("lc-3", 3, 30),
        ],
    )
    .await;
    let (vip, refund) = (
        label("l-vip", "lab-a", "VIP"),
        label("l-ref", "lab-a", "Возврат"),
    );
    let (v, r) = (vip.clone(), refund.clone());
    write_ok(store, "insert labels", move |tx| {
        Box::pin(async move {
            tx.insert_label(&r).await?;
            tx.insert_label(&v).await
        })
    })
    .await;
    let listed = read_ok(store, "list labels", |tx| {
        Box::pin(async move { tx.list_labels("lab-a").await })
    })
    .await;
    assert_eq!(
        listed,
        vec![vip.clone(), refund.clone()],
        "sorted by name, every field kept"
    );
    // Names are unique per account ignoring case (also beyond ASCII), not across accounts.
    for (account, name, unique) in [
        ("lab-a", "vip", false),
        ("lab-a", "ВОЗВРАТ", false),
        ("lab-b", "VIP", true),
    ] {
        let l = label(&format!("l-{account}-{name}"), account, name);
        let result = try_write(store, move |tx| {
            Box::pin(async move { tx.insert_label(&l).await })
        })
        .await;
        if unique {
            result.unwrap_or_else(|e| panic!("{name} in {account}: {e}"));
        } else {
            assert_conflict(&format!("second label `{name}`"), result);
        }
    }
    assert_not_found(
        "label through another account",
        read_ok(store, "get label", |tx| {
            Box::pin(async move { Ok(tx.get_label("lab-b", "l-vip").await) })
        })
        .await,
    );

    let added = write_ok(store, "label cases", |tx| {
        Box::pin(async move {
            Ok([
                tx.add_case_label("lab-a", "lc-1", "l-vip", t(40)).await?,
                tx.add_case_label("lab-a", "lc-1", "l-vip", t(41)).await?,
                tx.add_case_label("lab-a", "lc-1", "l-ref", t(42)).await?,
                tx.add_case_label("lab-a", "lc-3", "l-vip", t(43)).await?,
            ])
        })
    })
    .await;
    assert_eq!(
        added,
        [true, false, true, true],
        "a label is on a case once"
    );
    let by_vip = CaseFilter {
        label_id: Some("l-vip".into()),
        ..a.filter()
    };
    let ids = |cases: Vec<crate::CaseRecord>| cases.into_iter().map(|c| c.id).collect::<Vec<_>>();
    let f = by_vip.clone();
    let listed = read_ok(store, "list by label", move |tx| {
        Box::pin(async move { tx.list_cases("lab-a", &f).await })
    })
    .await;
    assert_eq!(ids(listed), ["lc-3", "lc-1"]);
    let of_cases = read_ok(store, "case labels", |tx| {
        Box::pin(async move {
            tx.case_labels("lab-a", &["lc-1".into(), "lc-2".into(), "lc-3".into()])
                .await
        })
    })
    .await;
    let pairs: Vec<(String, String)> = of_cases
        .iter()
        .map(|(c, l)| (c.clone(), l.name.clone()))
        .collect();
    let expected = [("lc-1", "VIP"), ("lc-1", "Возврат"), ("lc-3", "VIP")];
    assert_eq!(
        pairs,
        expected.map(|(c, l)| (c.to_owned(), l.to_owned())),
        "by case, then name"
    );
    let none = read_ok(store, "labels of no case", |tx| {
        Box::pin(async move { tx.case_labels("lab-b", &["lc-1".into()]).await })
    })
    .await;
    assert!(none.is_empty(), "another account sees no labels: {none:?}");

    // Rename keeps the uniqueness rule; remove and delete take labels off.
    let mut renamed = vip.clone();
    renamed.name = "Very important".into();
    renamed.color = None;
    let r2 = renamed.clone();
    let clash = LabelRecord {
        name: "возврат".into(),
        ..vip.clone()
    };
    write_ok(store, "rename", move |tx| {
        Box::pin(async move { tx.update_label(&r2).await })
    })
    .await;
    assert_conflict(
        "rename onto a taken name",
        try_write(store, move |tx| {
            Box::pin(async move { tx.update_label(&clash).await })
        })
        .await,
    );
    let got = read_ok(store, "renamed", |tx| {
        Box::pin(async move { tx.get_label("lab-a", "l-vip").await })
    })
    .await;
    assert_eq!(got, renamed);
    let removed = write_ok(store, "remove", |tx| {
        Box::pin(async move {
            Ok([
                tx.remove_case_label("lc-1", "l-vip").await?,
                tx.remove_case_label("lc-1", "l-vip").await?,
            ])
        })
    })
    .await;
    assert_eq!(removed, [true, false]);
    write_ok(store, "delete label", |tx| {
        Box::pin(async move { tx.delete_label("lab-a", "l-ref").await })
    })
    .await;
    assert_not_found(
        "deleting a deleted label",
        try_write(store, |tx| {
            Box::pin(async move { tx.delete_label("lab-a", "l-ref").await })
        })
        .await,
    );
    let left = read_ok(store, "labels left", |tx| {
        Box::pin(async move {
            tx.case_labels("lab-a", &["lc-1".into(), "lc-3".into()])
                .await
        })
    })
    .await;
    let left: Vec<_> = left.into_iter().map(|(c, l)| (c, l.id)).collect();
    assert_eq!(left, [("lc-3".to_owned(), "l-vip".to_owned())]);
}

pub async fn templates_round_trip(store: Arc<dyn Store>) {
    let store = &*store;
    world(store, "tpl-a").await;
    world(store, "tpl-b").await;
    let owner = agent("tpl-agent", "tpl-a", "tpl@example.com");
    let template = TemplateRecord {
        id: "tp-1".into(),
        account_id: "tpl-a".into(),
        owner_id: Some("tpl-agent".into()),
        name: "Refund done".into(),
        body: "Hi {{customer.name}}, your refund for #{{case.number}} is on its way".into(),
        actions: vec![
            Action::AddLabel {
                label_id: "l-1".into(),
            },
            Action::FinishChat {
                status: Status::Closed,
            },
            Action::Assign { agent_id: None },
        ],
        created_at: t_micros(6, 1),
        updated_at: t_micros(6, 1),
    };
    let shared = TemplateRecord {
        id: "tp-2".into(),
        owner_id: None,
        name: "another".into(),
        body: String::new(),
        actions: vec![Action::SetStatus {
            status: Status::Pending,
        }],
        ..template.clone()
    };
    let (tp, sh) = (template.clone(), shared.clone());
    write_ok(store, "insert templates", move |tx| {
        Box::pin(async move {
            tx.insert_agent(&owner).await?;
            tx.insert_template(&tp).await?;
            tx.insert_template(&sh).await
        })
    })
    .await;
    let listed = read_ok(store, "list templates", |tx| {
        Box::pin(async move { tx.list_templates("tpl-a").await })
    })
    .await;
    assert_eq!(
        listed,
        vec![shared.clone(), template.clone()],
        "by name ignoring case"
    );
    let other = read_ok(store, "other account", |tx| {
        Box::pin(async move {
            Ok((
                tx.list_templates("tpl-b").await?,
                tx.get_template("tpl-b", "tp-1").await,
            ))
        })
    })
    .await;
    assert!(other.0.is_empty());
    assert_not_found("template through another account", other.1);

    let mut changed = template.clone();
    changed.name = "Refund sent".into();
    changed.owner_id = None;
    changed.actions.clear();
    changed.updated_at = t_micros(7, 2);
    let c2 = changed.clone();
    write_ok(store, "update template", move |tx| {
        Box::pin(async move { tx.update_template(&c2).await })
    })
    .await;
    let got = read_ok(store, "get template", |tx| {
        Box::pin(async move { tx.get_template("tpl-a", "tp-1").await })
    })
    .await;
    assert_eq!(got, changed);
    let missing = TemplateRecord {
        id: "tp-none".into(),
        ..changed
    };
    assert_not_found(
        "update of a missing template",
        try_write(store, move |tx| {
            Box::pin(async move { tx.update_template(&missing).await })
        })
        .await,
    );
    write_ok(store, "delete template", |tx| {
        Box::pin(async move { tx.delete_template("tpl-a", "tp-1").await })
    })
    .await;
    assert_not_found(
        "second delete",
        try_write(store, |tx| {
            Box::pin(async move { tx.delete_template("tpl-a", "tp-1").await })
        })
        .await,
    );
}

pub async fn rules_and_rule_timers(store: Arc<dyn Store>) {
    use casedesk_domain::rules::{Condition, Trigger};

    use crate::{RuleRecord, RuleTimer};
    let store = &*store;
    let a = world(store, "rul-a").await;
    world(store, "rul-b").await;
    insert_cases(store, vec![a.case("rc-1", 1, 10), a.case("rc-2", 2, 20)]).await;
    let rule = |id: &str, position: i64, trigger: Trigger| RuleRecord {
        id: id.to_owned(),
        account_id: "rul-a".into(),
        name: format!("Rule {id}"),
        enabled: true,
        position,
        trigger,
        conditions: vec![
            Condition::StatusIs {
                statuses: vec![Status::Pending],
            },
            Condition::InBusinessHours,
        ],
        actions: vec![
            Action::SendReply {
                text: "Still there, {{customer.name}}?".into(),
            },
            Action::SetStatus {
                status: Status::Closed,
            },
        ],
        created_at: t_micros(8, 7),
        updated_at: t_micros(8, 7),
    };
    let (r1, r2) = (
        rule("ru-1", 2, Trigger::PendingFor { seconds: 7200 }),
        rule(
            "ru-2",
            1,
            Trigger::StatusChanged {
                to: Some(Status::Open),
            },
        ),
    );
    let (x, y) = (r1.clone(), r2.clone());
    write_ok(store, "insert rules", move |tx| {
        Box::pin(async move {
            tx.insert_rule(&x).await?;
            tx.insert_rule(&y).await
        })
    })
    .await;
    let listed = read_ok(store, "list rules", |tx| {
        Box::pin(async move { tx.list_rules("rul-a").await })
    })
    .await;
    assert_eq!(
        listed,
        vec![r2.clone(), r1.clone()],
        "by position, every field kept"
    );
    let other = read_ok(store, "other account", |tx| {
        Box::pin(async move {
            Ok((
                tx.list_rules("rul-b").await?,
                tx.get_rule("rul-b", "ru-1").await,
            ))
        })
    })
    .await;
    assert!(other.0.is_empty());
    assert_not_found("rule through another account", other.1);
    let mut changed = r1.clone();
    changed.enabled = false;
    changed.position = 0;
    changed.conditions.clear();
    changed.updated_at = t_micros(9, 1);
    let c = changed.clone();
    write_ok(store, "update rule", move |tx| {
        Box::pin(async move { tx.update_rule(&c).await })
    })
    .await;
    let got = read_ok(store, "get rule", |tx| {
        Box::pin(async move { tx.get_rule("rul-a", "ru-1").await })
    })
    .await;
    assert_eq!(got, changed);

    // Timers: one per case and rule; `replace` decides whether a wait restarts.
    let timer = |case: &str, rule: &str, at: i64| RuleTimer {
        case_id: case.to_owned(),
        rule_id: rule.to_owned(),
        account_id: "rul-a".into(),
        due_at: t_micros(at, 5),
    };
    let (t1, t1_later, t1_replaced, t2, t3) = (
        timer("rc-1", "ru-1", 100),
        timer("rc-1", "ru-1", 150),
        timer("rc-1", "ru-1", 120),
        timer("rc-2", "ru-1", 300),
        timer("rc-2", "ru-2", 200),
    );
    let (a1, a2, a3, a4, a5) = (
        t1.clone(),
        t1_later,
        t1_replaced.clone(),
        t2.clone(),
        t3.clone(),
    );
    let kept = write_ok(store, "set timers", move |tx| {
        Box::pin(async move {
            tx.set_rule_timer(&a1, false).await?;
            tx.set_rule_timer(&a2, false).await?;
            tx.set_rule_timer(&a4, true).await?;
            tx.set_rule_timer(&a5, true).await?;
            let kept = tx.list_rule_timers("rc-1").await?;
            tx.set_rule_timer(&a3, true).await?;
            Ok(kept)
        })
    })
    .await;
    assert_eq!(kept, vec![t1], "without replace the earlier wait stays");
    let (next, due, of_case) = write_ok(store, "claim timers", |tx| {
        Box::pin(async move {
            Ok((
                tx.next_rule_timer_at().await?,
                tx.claim_due_rule_timers(t(250), 10).await?,
                tx.list_rule_timers("rc-2").await?,
            ))
        })
    })
    .await;
    assert_eq!(next, Some(t1_replaced.due_at), "replace moved the wait");
    assert_eq!(
        due,
        vec![t1_replaced.clone(), t3.clone()],
        "due ones, by due time"
    );
    assert_eq!(of_case, vec![t3.clone(), t2.clone()]);
    write_ok(store, "delete timers", |tx| {
        Box::pin(async move {
            tx.delete_rule_timer("rc-1", "ru-1").await?;
            tx.delete_rule_timers("ru-2").await
        })
    })
    .await;
    let left = write_ok(store, "claim the rest", |tx| {
        Box::pin(async move { tx.claim_due_rule_timers(t(1_000), 10).await })
    })
    .await;
    assert_eq!(left, vec![t2]);
    write_ok(store, "delete rule", |tx| {
        Box::pin(async move { tx.delete_rule("rul-a", "ru-1").await })
    })
    .await;
    let (left, next) = read_ok(store, "after delete", |tx| {
        Box::pin(async move {
            Ok((
                tx.list_rules("rul-a").await?,
                tx.next_rule_timer_at().await?,
            ))
        })
    })
    .await;
    assert_eq!(left, vec![r2]);
    assert_eq!(next, None, "a deleted rule's timers go with it");
    assert_not_found(
        "second delete",
        try_write(store, |tx| {
            Box::pin(async move { tx.delete_rule("rul-a", "ru-1").await })
        })
        .await,
    );
}

/// A backend may remember an account and its rules between units of work
/// (SQLite's writer does); what later units of work read is still what
/// was committed: a change is seen by the next one, and what a failed one
/// wrote — and read back — is gone.
pub async fn accounts_and_rules_read_as_committed(store: Arc<dyn Store>) {
    use casedesk_domain::AutoFinishSettings;
    use casedesk_domain::rules::Trigger;
    use futures::future::BoxFuture;

    use crate::{RuleRecord, StoreError, Tx};
    fn settings(tx: &mut dyn Tx) -> BoxFuture<'_, Result<AutoFinishSettings, StoreError>> {
        Box::pin(async move { Ok(tx.get_account("mem-a").await?.settings) })
    }
    fn rules(tx: &mut dyn Tx) -> BoxFuture<'_, Result<Vec<(String, bool)>, StoreError>> {
        Box::pin(async move {
            let rules = tx.list_rules("mem-a").await?;
            Ok(rules.into_iter().map(|r| (r.id, r.enabled)).collect())
        })
    }
    let store = &*store;
    world(store, "mem-a").await;
    let first = write_ok(store, "settings", settings).await;
    assert_eq!(write_ok(store, "rules", rules).await, vec![]);

    let changed = AutoFinishSettings::new(1800, 120).expect("valid settings");
    assert_ne!(first, changed);
    let rule = RuleRecord {
        id: s("mem-r"),
        account_id: s("mem-a"),
        name: s("Nudge"),
        enabled: true,
        position: 1,
        trigger: Trigger::PendingFor { seconds: 60 },
        conditions: vec![],
        actions: vec![],
        created_at: t(1),
        updated_at: t(1),
    };
    let (kept, again) = (rule.clone(), rule.clone());
    let failed = try_write(store, move |tx| {
        Box::pin(async move {
            tx.update_account_settings("mem-a", changed).await?;
            tx.insert_rule(&kept).await?;
            let seen = (
                tx.get_account("mem-a").await?.settings,
                tx.list_rules("mem-a").await?,
            );
            assert_eq!(seen.0, changed, "a unit of work reads its own change");
            assert_eq!(seen.1.len(), 1, "a unit of work reads its own rule");
            Err::<(), _>(StoreError::Other(s("changed its mind")))
        })
    })
    .await;
    assert!(failed.is_err());
    assert_eq!(
        write_ok(store, "settings after a rollback", settings).await,
        first,
        "settings a failed unit of work wrote and read back are gone"
    );
    assert_eq!(
        write_ok(store, "rules after a rollback", rules).await,
        vec![],
        "a rule a failed unit of work inserted and read back is gone"
    );

    write_ok(store, "change", move |tx| {
        Box::pin(async move {
            tx.update_account_settings("mem-a", changed).await?;
            tx.insert_rule(&again).await
        })
    })
    .await;
    assert_eq!(write_ok(store, "settings", settings).await, changed);
    assert_eq!(
        write_ok(store, "rules", rules).await,
        vec![(s("mem-r"), true)]
    );
    let mut off = rule.clone();
    off.enabled = false;
    write_ok(store, "turn off", move |tx| {
        Box::pin(async move { tx.update_rule(&off).await })
    })
    .await;
    assert_eq!(
        write_ok(store, "rules", rules).await,
        vec![(s("mem-r"), false)],
        "a changed rule is read as changed"
    );
    write_ok(store, "delete", |tx| {
        Box::pin(async move { tx.delete_rule("mem-a", "mem-r").await })
    })
    .await;
    assert_eq!(
        write_ok(store, "rules", rules).await,
        vec![],
        "a deleted rule is gone"
    );
}
