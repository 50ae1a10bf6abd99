//! A small SMTP server on loopback that keeps every message it is given:
//! enough of RFC 5321 for lettre (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// One delivered message: its envelope and raw content.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub to: Vec<String>,
    pub data: String,
}

impl Delivered {
    /// The text body, quoted-printable decoded when it is so encoded
    /// (soft line breaks joined, `=XX` bytes restored).
    pub fn body(&self) -> String {
        let (head, body) = self.data.split_once("\n\n").unwrap_or(("", &self.data));
        if !head
            .to_ascii_lowercase()
            .contains("content-transfer-encoding: quoted-printable")
        {
            return body.to_owned();
        }
        let joined = body.replace("=\n", "");
        let mut out = Vec::new();
        let bytes = joined.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match (bytes[i], bytes.get(i + 1..i + 3)) {
                (b'=', Some(hex)) if hex.iter().all(u8::is_ascii_hexdigit) => {
                    let hex = std::str::from_utf8(hex).expect("ascii");
                    out.push(u8::from_str_radix(hex, 16).expect("hex"));
                    i += 3;
                }
                (b, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[derive(Clone, Default)]
pub struct FakeSmtp {
    pub url: String,
    mails: Arc<Mutex<Vec<Delivered>>>,
    arrived: Arc<Notify>,
}

impl FakeSmtp {
    pub async fn start() -> FakeSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
        let smtp = FakeSmtp {
            url: format!("smtp://{}", listener.local_addr().expect("addr")),
            ..FakeSmtp::default()
        };
        let me = smtp.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let me = me.clone();
                tokio::spawn(async move { me.session(stream).await });
            }
        });
        smtp
    }

    async fn session(&self, stream: tokio::net::TcpStream) {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let _ = write.write_all(b"220 fake.smtp ESMTP\r\n").await;
        let mut to = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" | "HELO" => b"250-fake.smtp\r\n250 8BITMIME\r\n",
                "MAIL" => b"250 OK\r\n",
                "RCPT" => {
                    to.push(line[8..].trim().trim_matches(['<', '>']).to_owned());
                    b"250 OK\r\n"
                }
                "DATA" => {
                    let _ = write.write_all(b"354 go on\r\n").await;
                    let mut data = String::new();
                    while let Ok(Some(l)) = lines.next_line().await {
                        if l == "." {
                            break;
                        }
                        data.push_str(l.strip_prefix('.').unwrap_or(&l));
                        data.push('\n');
                    }
                    self.mails.lock().expect("mails").push(Delivered {
                        to: std::mem::take(&mut to),
                        data,
                    });
                    self.arrived.notify_waiters();
                    b"250 queued\r\n"
                }
                "RSET" | "NOOP" => b"250 OK\r\n",
                "QUIT" => {
                    let _ = write.write_all(b"221 bye\r\n").await;
                    return;
                }
                _ => b"502 not here\r\n",
            };
            if write.write_all(reply).await.is_err() {
                return;
            }
        }
    }

    pub fn count(&self) -> usize {
        self.mails.lock().expect("mails").len()
    }

    /// Waits up to 10 s for the `n`-th message (1-based) and returns it.
    pub async fn nth(&self, n: usize) -> Delivered {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let arrived = self.arrived.notified();
            if let Some(m) = self.mails.lock().expect("mails").get(n - 1) {
                return m.clone();
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("mail #{n} did not arrive within 10 s");
            }
        }
    }
}

/// The sign-in token of a Help Center mail (after `#login=`).
pub fn login_token(mail: &Delivered) -> String {
    let body = mail.body();
    let at = body.find("#login=").expect("a sign-in link in the mail") + 7;
    body[at..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect()
}
