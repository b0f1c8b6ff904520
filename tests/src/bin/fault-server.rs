//! `fault-server`: exactly flag-server's `main`, built as a binary of the test crate so that
//! fault tests can run the real server code in its own process and kill it with SIGKILL
//! (`tests::process::ServerProcess`).

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = flag_server::Config::parse();
    match flag_server::run(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("flag-server: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
