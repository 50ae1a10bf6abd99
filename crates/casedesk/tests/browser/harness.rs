//! A real headless Chromium driven through chromedriver (WebDriver), with
//! polling helpers: tests wait for conditions, never for fixed times.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long a condition may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(15);

pub struct Browser {
    pub client: Client,
    pub base: String,
    driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

/// Where failure screenshots go: `target/browser-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("browser-screenshots")
}

impl Browser {
    /// Starts chromedriver and a headless Chromium; fails (never skips)
    /// with a clear message when either is missing.
    pub async fn start(base: &str) -> Browser {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                std::path::Path::new(path).exists(),
                "{path} is missing: the browser tests need Debian's `{package}` package \
                 (apt-get install -y chromium chromium-driver; scripts/test installs both \
                 when run as root)"
            );
        }
        // Port 0: chromedriver takes a port the kernel picks and says which
        // (ChromeDriver 128 and later), so no port is guessed.
        let mut driver = tokio::process::Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let stdout = driver.stdout.take().expect("piped stdout");
        let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
        let said = tokio::time::timeout(PATIENCE, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some((_, port)) = line.split_once("started successfully on port ") {
                    return port.trim().trim_end_matches('.').parse::<u16>().ok();
                }
            }
            None
        })
        .await;
        let port = said.ok().flatten().expect(
            "chromedriver did not say which port it listens on (it needs to be version 128 or \
             later)",
        );
        // The rest of its output is read and dropped: a full pipe would
        // stall it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let ready = http.get(format!("{url}/status")).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver did not answer on {url}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--window-size=1280,900".to_owned(),
            "--lang=en-US".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        });
        let caps = match caps {
            Value::Object(m) => m,
            _ => unreachable!("a JSON object"),
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&url)
            .await
            .expect("a Chromium session through chromedriver");
        Browser {
            client,
            base: base.to_owned(),
            driver,
            _profile: profile,
        }
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill().await;
    }

    /// Opens a path of the app (`/`, `/#/case/…`).
    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("navigate");
    }

    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Waits until `predicate` (a JS expression) is true.
    pub async fn wait_js(&self, what: &str, predicate: &str) {
        let script = format!("return !!({predicate});");
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if self.js(&script).await == Value::Bool(true) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}: {predicate}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for a visible element.
    pub async fn wait_css(&self, css: &str) -> Element {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Ok(el) = self.client.find(Locator::Css(css)).await
                && el.is_displayed().await.unwrap_or(false)
            {
                return el;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for a visible {css}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until no visible element matches.
    pub async fn wait_gone(&self, css: &str) {
        let quoted = serde_json::to_string(css).expect("json");
        self.wait_js(
            &format!("{css} to disappear"),
            &format!(
                "[...document.querySelectorAll({quoted})].every(e => e.offsetParent === null)"
            ),
        )
        .await;
    }

    /// Waits until the element's text contains `text`.
    pub async fn wait_text(&self, css: &str, text: &str) {
        let (q, t) = (
            serde_json::to_string(css).expect("json"),
            serde_json::to_string(text).expect("json"),
        );
        self.wait_js(
            &format!("{css} to show {text:?}"),
            &format!("[...document.querySelectorAll({q})].some(e => e.textContent.includes({t}))"),
        )
        .await;
    }

    /// Clicks the element; a live page may replace it between finding and
    /// clicking, so a stale element is looked up again. The element is
    /// scrolled to the middle of the window first, as a person would: the
    /// case page's sticky head and reply box cover its edges.
    pub async fn click(&self, css: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let el = self.wait_css(css).await;
            let centred = match serde_json::to_value(&el) {
                Ok(arg) => self
                    .client
                    .execute("arguments[0].scrollIntoView({block: 'center'});", vec![arg])
                    .await
                    .map(drop),
                Err(e) => panic!("element as an argument: {e}"),
            };
            let clicked = match centred {
                Ok(()) => el.click().await,
                Err(e) => Err(e),
            };
            match clicked {
                Ok(()) => return,
                Err(e) if tokio::time::Instant::now() < deadline && is_stale(&e) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("click {css}: {e}"),
            }
        }
    }

    pub async fn type_into(&self, css: &str, keys: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            match self.wait_css(css).await.send_keys(keys).await {
                Ok(()) => return,
                Err(e) if tokio::time::Instant::now() < deadline && is_stale(&e) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("type into {css}: {e}"),
            }
        }
    }

    pub async fn text(&self, css: &str) -> String {
        self.wait_css(css).await.text().await.expect("text")
    }

    /// The `#/case/<id>` id of the current page, if any.
    pub async fn case_in_url(&self) -> Option<String> {
        let url = self.client.current_url().await.ok()?;
        url.fragment()?
            .strip_prefix("/case/")
            .map(|s| s.split('?').next().unwrap_or(s).to_owned())
    }

    pub async fn screenshot(&self, name: &str) -> Option<PathBuf> {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).ok()?;
        let png = self.client.screenshot().await.ok()?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).ok()?;
        Some(path)
    }

    /// The serious and critical WCAG 2 A/AA findings of axe-core on the
    /// page as it is now, one line each (rule, impact, the elements).
    pub async fn accessibility_findings(&self) -> Vec<String> {
        let loaded = self.js("return typeof window.axe === 'object'").await;
        if loaded != Value::Bool(true) {
            self.js(&axe_source()).await;
        }
        let report = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1]; \
                 axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, \
                                     resultTypes: ['violations'] }) \
                   .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical') \
                     .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' — ' + \
                       v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' [' + (n.failureSummary || '').replace(/\\s+/g, ' ') + ']').join('; ')))) \
                   .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .expect("axe runs");
        report
            .as_array()
            .expect("a list")
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect()
    }

    pub async fn set_window(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("resize window");
    }
}

/// axe-core's script: `CASEDESK_AXE` (scripts/test fetches it from npm
/// and sets it), else `target/axe-core/4.10.3/axe.min.js`. The scan fails, never
/// skips, without it.
fn axe_source() -> String {
    let path = std::env::var_os("CASEDESK_AXE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/axe-core/4.10.3/axe.min.js")
        });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; the accessibility scan needs axe-core (scripts/test fetches it: \
             npm pack axe-core@4.10.3, then package/axe.min.js)",
            path.display()
        )
    })
}

fn is_stale(e: &fantoccini::error::CmdError) -> bool {
    e.to_string().contains("stale element")
}

/// WebDriver key codes.
pub mod keys {
    pub const CONTROL: char = '\u{E009}';
    pub const ENTER: char = '\u{E007}';
    pub const ALT: char = '\u{E00A}';
    pub const SHIFT: char = '\u{E008}';
    pub const ESCAPE: char = '\u{E00C}';
}
