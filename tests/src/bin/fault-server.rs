//! `fault-server`: flag-server's `main` ([`flag_server::main_from_args`]), built as a binary of
//! the test crate so that fault tests can run the real server in its own process and kill it
//! with SIGKILL (`tests::process::ServerProcess`).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    flag_server::main_from_args().await
}
