//! Any bytes as WebSocket messages to the local cloud's WebSocket gateway: route selection from
//! the body (`$request.body.action`), `$default`, text and binary frames, limits, replies and the
//! disconnect — the gateway answers or closes, never crashes, and keeps serving the next
//! connection.
#![no_main]

use futures_util::{SinkExt as _, StreamExt as _};
use std::sync::OnceLock;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// The running cloud, kept (reachable) for the whole run.
static CLOUD: OnceLock<std::sync::Mutex<svless::cloud::Running>> = OnceLock::new();

fn gateway() -> &'static String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("svless-fuzz-ws-{}", std::process::id()));
        let running = svless_fuzz::runtime().block_on(async {
            svless::cloud::Cloud::new(svless_fuzz::app_with_state())
                .data_dir(&dir)
                .http_addr(([127, 0, 0, 1], 0).into())
                .services_addr(([127, 0, 0, 1], 0).into())
                .websocket_addr(([127, 0, 0, 1], 0).into())
                .start()
                .await
                .expect("the local cloud starts")
        });
        let url = running.websocket_url().expect("WebSocket routes");
        let _ = CLOUD.set(std::sync::Mutex::new(running));
        url
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let url = gateway().clone();
    let Some((&kind, payload)) = data.split_first() else {
        return;
    };
    svless_fuzz::runtime().block_on(async move {
        let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .expect("the gateway takes connections");
        let message = match kind % 4 {
            0 | 1 => Message::text(String::from_utf8_lossy(payload).into_owned()),
            2 => Message::binary(payload.to_vec()),
            _ => Message::text(format!(
                "{{\"action\": {}}}",
                String::from_utf8_lossy(payload)
            )),
        };
        if socket.send(message).await.is_ok() {
            let _ = tokio::time::timeout(Duration::from_millis(200), socket.next()).await;
        }
        let _ = socket.close(None).await;
    });
});
