//! The web console in a real browser (issue 12): `tests/console/console.test.mjs` drives
//! Debian's Chromium (headless, through playwright-core) against a real server started here
//! on port 0 with the embedded store, and checks what a person does with the console: sign
//! in, create, toggle, roll out with the confirm step, edit a rule, read the audit diff, see a
//! change made with curl arrive live, see a bad input's error beside its field, issue and
//! revoke an SDK key, with no request leaving the server's origin.
//!
//! `.ci/console.sh` installs Chromium (apt) and playwright-core (`npm ci` in tests/console)
//! and runs this with `FLAG_CONSOLE_REQUIRED=1`; it also refreshes the screenshots in
//! `docs/console/` when `FLAG_CONSOLE_SCREENSHOTS` names that folder. Without the browser or
//! the npm package (a plain `cargo test`) the test says so and passes.

use std::path::{Path, PathBuf};
use std::process::Command;

use flag_tests::app::{StoreChoice, TestApp, ADMIN_TOKEN};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_works_in_a_real_browser() {
    let dir = root().join("tests/console");
    let installed = dir.join("node_modules/playwright-core").exists() && chromium().exists();
    if !installed {
        assert!(
            std::env::var_os("FLAG_CONSOLE_REQUIRED").is_none(),
            "FLAG_CONSOLE_REQUIRED is set but Chromium or playwright-core is missing (run .ci/console.sh)"
        );
        eprintln!("Chromium or playwright-core not installed: skipped (run .ci/console.sh)");
        return;
    }
    let app = TestApp::spawn(StoreChoice::Embedded).await;
    let screenshots = std::env::var("FLAG_CONSOLE_SCREENSHOTS").unwrap_or_else(|_| {
        root()
            .join("target/console-screenshots")
            .to_string_lossy()
            .into_owned()
    });
    let address = app.address.clone();
    let status = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("--test")
            .arg("--test-concurrency=1")
            .arg("console.test.mjs")
            .current_dir(&dir)
            .env("FLAG_CONSOLE_URL", &address)
            .env("FLAG_CONSOLE_TOKEN", ADMIN_TOKEN)
            .env("FLAG_CONSOLE_SCREENSHOTS", &screenshots)
            .env("CHROMIUM", chromium())
            .status()
    })
    .await
    .expect("join")
    .expect("run node (is Node.js installed?)");
    assert!(
        status.success(),
        "the console's browser tests failed: {status}"
    );
}
