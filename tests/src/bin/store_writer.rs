//! Writes `tokens.json` through the engine's store over and over, printing `wrote <n>` after each
//! write, until killed. The crash-safety test kills it with SIGKILL at arbitrary moments.
//!
//! Usage: `store-writer <config-dir> <server-url>`

use mcp_remote::store::{ServerKey, Store, Tokens, FORMAT_VERSION};
use std::io::Write;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(root), Some(url)) = (args.next(), args.next()) else {
        eprintln!("usage: store-writer <config-dir> <server-url>");
        std::process::exit(2);
    };
    let server = Store::new(root).server(&ServerKey::new(&url, None));
    let stdout = std::io::stdout();
    for n in 0u64.. {
        // Sizes vary so that a torn write could not go unnoticed.
        let tokens = Tokens {
            version: FORMAT_VERSION,
            access_token: format!("access-{n}-{}", "x".repeat((n % 97) as usize * 41)),
            token_type: "Bearer".into(),
            refresh_token: Some(format!("refresh-{n}")),
            expires_at: Some(n),
            scope: Some("mcp".into()),
            issuer: None,
            resource: None,
            signed_in_at: None,
            extra: Default::default(),
        };
        server.save_tokens(&tokens).expect("save tokens");
        let mut out = stdout.lock();
        let _ = writeln!(out, "wrote {n}");
        let _ = out.flush();
    }
}
