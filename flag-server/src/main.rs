//! `flag-server`: parses the configuration (flags and `FLAG_*` variables) and runs the server.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    flag_server::main_from_args().await
}
