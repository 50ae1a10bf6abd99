//! Browser tests of the agent web UI: a real casedesk server on a temporary
//! SQLite database, driven through a real headless Chromium.
//!
//! One browser and one server serve every scenario, run one after another
//! (the machine has two cores); a failing scenario leaves a screenshot in
//! `target/browser-screenshots/` and the others still run.
//!
//! `CASEDESK_BROWSER_SCENARIOS=log_in,admin_settings` runs only the named
//! scenarios, in the suite's order (name `log_in` first: the scenarios
//! after it expect a signed-in browser).

/// `scenarios!(a, b, …)`: the module's `ALL`, each scenario under its
/// function's name (what `CASEDESK_BROWSER_SCENARIOS` names). Defined
/// before the modules, so that every one of them uses it.
macro_rules! scenarios {
    ($($name:ident),+ $(,)?) => {
        pub const ALL: &[(&str, $crate::scenarios::Scenario)] =
            &[$((stringify!($name), |app, b| Box::pin($name(app, b)))),+];
    };
}

mod console;
mod email;
mod harness;
mod help;
#[allow(dead_code)]
#[path = "../e2e/helpers.rs"]
mod helpers;
mod moves;
mod scenarios;
#[allow(dead_code)]
#[path = "../e2e/smtp.rs"]
mod smtp;
mod telegram;
mod widget;

use std::time::Instant;

use futures::FutureExt;

use harness::Browser;
use helpers::{Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agent_ui_in_a_real_browser() {
    // The Telegram scenario's Bot API, for this test's whole run.
    let bot_api = casedesk_telegram::fake::FakeBotApi::start(telegram::TOKEN).await;
    let api_url = bot_api.base().to_owned();
    assert!(
        telegram::BOT_API.set(bot_api).is_ok(),
        "one browser test run"
    );
    let app = TestApp::spawn_on_system_clock_with(Backend::Sqlite, move |c, _| {
        c.telegram_api_url = Some(api_url);
        c.telegram_poll_wait = Some(std::time::Duration::from_secs(5));
    })
    .await;
    let browser = Browser::start(&app.base).await;
    let all: Vec<_> = scenarios::ALL
        .iter()
        .chain(widget::ALL)
        .chain(help::ALL)
        .chain(telegram::ALL)
        .chain(email::ALL)
        .chain(console::ALL)
        .chain(moves::ALL)
        .collect();
    let only = std::env::var("CASEDESK_BROWSER_SCENARIOS").unwrap_or_default();
    let only: Vec<&str> = only
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    for name in &only {
        assert!(
            all.iter().any(|(n, _)| n == name),
            "CASEDESK_BROWSER_SCENARIOS names {name:?}, which is no scenario"
        );
    }
    let mut failures = Vec::new();
    for (name, scenario) in all {
        if !only.is_empty() && !only.contains(name) {
            continue;
        }
        let started = Instant::now();
        let outcome = std::panic::AssertUnwindSafe(scenario(&app, &browser))
            .catch_unwind()
            .await;
        match outcome {
            Ok(()) => eprintln!(
                "browser: {name} ok ({:.1} s)",
                started.elapsed().as_secs_f32()
            ),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                let shot = browser.screenshot(&format!("failed-{name}")).await;
                eprintln!("browser: {name} FAILED: {message} (screenshot: {shot:?})");
                failures.push(format!("{name}: {message}"));
            }
        }
    }
    browser.close().await;
    app.stop().await;
    assert!(
        failures.is_empty(),
        "failed scenarios:\n{}",
        failures.join("\n")
    );
}
