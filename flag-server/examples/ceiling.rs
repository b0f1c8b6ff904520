//! The benchmark ceiling (not a product route): a minimal actix-web server that answers every
//! request with the same bytes from memory, with no authentication, routing or state. The
//! flag server's `GET /api/v1/sdk/flags` is measured against it (see `bench/wrk.sh`).
//!
//! ```text
//! cargo run --release -p flag-server --example ceiling -- 127.0.0.1:9090 snapshot.json
//! ```

use actix_web::{web, App, HttpResponse, HttpServer};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:9090".into());
    let body = match args.next() {
        Some(path) => std::fs::read(&path)?,
        None => br#"{"environment":"production","version":0,"flags":[]}"#.to_vec(),
    };
    let body = web::Bytes::from(body);
    eprintln!("ceiling: serving {} bytes on http://{listen}", body.len());
    HttpServer::new(move || {
        let body = body.clone();
        App::new().default_service(web::to(move || {
            let body = body.clone();
            async move {
                HttpResponse::Ok()
                    .content_type("application/json")
                    .insert_header(("etag", "\"0\""))
                    .body(body)
            }
        }))
    })
    .bind(listen)?
    .run()
    .await
}
