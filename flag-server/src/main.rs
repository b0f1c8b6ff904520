//! `flag-server`: parses the configuration (flags and `FLAG_*` variables) and runs the server.

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
