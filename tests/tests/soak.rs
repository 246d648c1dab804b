//! The soak: mixed traffic through two sidecars for `SOAK_SECONDS` (default 60; 1800 for the
//! full run in TESTING.md), with each one's resident memory and open file descriptors sampled
//! every `SOAK_SECONDS / 6` (at most a minute). The later half of the samples must stay within
//! 10 % of the earlier half's peak: nothing may grow with the number of messages carried.
//!
//! Traffic: against rmcp (in process) calls, server notifications on the GET stream, 300 KB
//! results (spooled), 200 KB requests, and an expired session every 20 rounds; against the
//! Python SDK's authorization server, calls and a token refresh every 5 rounds.

use mcp_remote_tests::peers::OAuthScene;
use mcp_remote_tests::rmcp_server::{self, Mode};
use mcp_remote_tests::sidecar::Sidecar;
use serde_json::json;
use std::time::{Duration, Instant};

/// Resident memory (VmRSS) of a process, in kB.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    line.split_whitespace().nth(1).and_then(|kb| kb.parse().ok()).expect("kB")
}

fn open_fds(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd")).expect("proc fd").count() as u64
}

/// Fails unless the later half of `samples` peaks within 10 % of the earlier half's peak.
fn assert_flat(what: &str, samples: &[u64]) {
    let (early, late) = samples.split_at(samples.len() / 2);
    let (early, late) = (*early.iter().max().unwrap(), *late.iter().max().unwrap());
    assert!(late * 10 <= early * 11, "{what} grew from {early} to {late}: {samples:?}");
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_and_descriptors_stay_flat_under_mixed_traffic() {
    let seconds: u64 = std::env::var("SOAK_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let every = Duration::from_secs((seconds / 6).clamp(1, 60));
    let rmcp = rmcp_server::start(Mode::Stateful).await;
    let mut plain = Sidecar::spawn(&rmcp.url);
    plain.initialize().await;
    let scene = OAuthScene::start().await;
    let signed_in = Sidecar::spawn_with(scene.launch());
    signed_in.initialize().await;

    let started = Instant::now();
    let mut next_sample = started + every;
    let (mut rss, mut fds) = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
    let large_request = "r".repeat(200_000);
    let mut round = 0u64;
    while started.elapsed() < Duration::from_secs(seconds) {
        round += 1;
        let message = format!("round {round}");
        assert_eq!(plain.call_tool("echo", json!({ "message": message })).await, message);
        assert_eq!(plain.call_tool("notify", json!({ "count": 3 })).await, "sent 3");
        for _ in 0..3 {
            plain.next_notification().await;
        }
        assert_eq!(plain.call_tool("blob", json!({ "bytes": 300_000 })).await.len(), 300_000);
        assert_eq!(plain.call_tool("echo", json!({ "message": large_request })).await.len(), large_request.len());
        if round.is_multiple_of(20) {
            rmcp.expire_sessions().await;
        }
        if round.is_multiple_of(5) {
            assert_eq!(signed_in.call_tool("expire_token", json!({})).await, "expired");
        }
        assert_eq!(signed_in.call_tool("echo", json!({ "message": message })).await, message);
        if Instant::now() >= next_sample {
            next_sample += every;
            for (i, pid) in [plain.pid(), signed_in.pid()].into_iter().enumerate() {
                rss[i].push(rss_kb(pid));
                fds[i].push(open_fds(pid));
            }
            println!(
                "soak {:>5}s round {round:>6}: rss {:>6} / {:>6} kB, fds {:>3} / {:>3}",
                started.elapsed().as_secs(),
                rss[0].last().unwrap(),
                rss[1].last().unwrap(),
                fds[0].last().unwrap(),
                fds[1].last().unwrap()
            );
        }
    }
    assert!(rss[0].len() >= 4, "too few samples: run for longer");
    for (i, name) in ["plain", "signed in"].into_iter().enumerate() {
        assert_flat(&format!("{name}: resident memory (kB)"), &rss[i]);
        assert_flat(&format!("{name}: open descriptors"), &fds[i]);
    }
    assert!(plain.violations().is_empty() && signed_in.violations().is_empty());
    assert!(scene.events("refresh") >= 1, "no token was refreshed");
    println!("soak: {round} rounds in {} s", started.elapsed().as_secs());
}
