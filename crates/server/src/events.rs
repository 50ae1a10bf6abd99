//! Change notices for live clients (server-sent events).
//!
//! Use cases publish a [`Notice`] after their transaction commits; each SSE
//! subscriber sees the notices of its own account only.

use serde::Serialize;
use tokio::sync::broadcast;

#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    #[serde(skip)]
    pub account_id: String,
    /// Whose case it is: a widget visitor hears of their own cases only.
    #[serde(skip)]
    pub customer_id: String,
    /// `case.created`, `case.updated`, `message.created`, `case.auto_finish_warning`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub case_id: String,
    pub case_number: i64,
    pub data: serde_json::Value,
}

#[derive(Clone)]
pub struct Bus {
    tx: broadcast::Sender<Notice>,
}

impl Default for Bus {
    fn default() -> Self {
        Bus {
            tx: broadcast::channel(4096).0,
        }
    }
}

impl Bus {
    pub fn publish(&self, notices: impl IntoIterator<Item = Notice>) {
        for n in notices {
            // No subscriber is not an error.
            let _ = self.tx.send(n);
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.tx.subscribe()
    }
}
