//! Attachments, on both databases: a widget visitor and an agent exchange
//! files; each file is served only to those who may see its message (the
//! case's agents, its customer's widget and Help Center, never a note's file
//! to a customer); types come from the bytes; limits, bad input and retries
//! leave no stray files behind.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, s};
use crate::on_both;

on_both!(
    visitors_and_agents_exchange_files_seen_only_by_their_case,
    uploads_refuse_bad_files_and_leave_nothing_behind,
);

fn png(extra: usize) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend((0..extra).map(|i| (i % 251) as u8));
    v
}

async fn download(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = app.http.get(format!("{}/api/v1/{path}", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("download")
}

/// Uploads `chunks` chunks of 8 KiB with `Transfer-Encoding: chunked`
/// (no declared length) over a raw connection; returns the status code.
async fn chunked_upload(app: &TestApp, path: &str, token: &str, chunks: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut conn = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /api/v1/{path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.expect("head");
    for i in 0..chunks {
        let chunk = if i == 0 {
            png((8 << 10) - 8)
        } else {
            vec![7u8; 8 << 10]
        };
        let framed = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk,
            b"\r\n".to_vec(),
        ]
        .concat();
        if conn.write_all(&framed).await.is_err() {
            break; // the server answered and closed early
        }
    }
    let _ = conn.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    answer.split(' ').nth(1).unwrap_or("").to_owned()
}

/// Files of the account's folder, and whether `tmp` is empty.
fn stored(dir: &Path) -> (usize, bool) {
    let tmp_empty = std::fs::read_dir(dir.join("tmp")).map_or(true, |mut d| d.next().is_none());
    let files = std::fs::read_dir(dir)
        .expect("attachments dir")
        .flatten()
        .filter(|e| e.file_name() != "tmp")
        .map(|e| std::fs::read_dir(e.path()).map_or(0, |d| d.count()))
        .sum();
    (files, tmp_empty)
}

async fn visitors_and_agents_exchange_files_seen_only_by_their_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ch = app.widget_channel(&[]).await.0;
    let (ann, bob) = (app.new_visitor(&ch).await, app.new_visitor(&ch).await);
    let photo = png(5000);
    let path = format!("widget/{ch}/attachments?filename=..%2F..%2Fphoto.png&client_id=f-1");
    let (st, posted) = app.upload(&path, &ann, photo.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{posted}");
    assert_eq!(posted["outcome"], "created");
    let message = &posted["message"];
    assert_eq!(
        message["text"], "photo.png",
        "the file's name, without its path"
    );
    let file = &message["attachments"][0];
    assert_eq!(
        (
            s(&file["filename"]),
            s(&file["content_type"]),
            file["size_bytes"].as_i64()
        ),
        (
            "photo.png".into(),
            "image/png".into(),
            Some(photo.len() as i64)
        )
    );
    let (file_id, case_id) = (s(&file["id"]), s(&message["case_id"]));
    // A retry with the same client id is the same message and keeps one file.
    let (st, again) = app.upload(&path, &ann, photo.clone()).await;
    assert_eq!(
        (st, s(&again["outcome"])),
        (StatusCode::CREATED, "duplicate".into())
    );
    assert_eq!(again["message"]["attachments"][0]["id"], file_id.as_str());
    assert_eq!(stored(app.db.files.path()), (1, true));

    // The agent sees and downloads it.
    let msgs = app.messages(&case_id).await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["attachments"][0]["id"], file_id.as_str());
    let resp = download(&app, &format!("attachments/{file_id}"), Some(&app.token)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers().clone();
    assert_eq!(h["content-type"], "image/png");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(
        h["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains("sandbox")
    );
    assert!(
        h["content-disposition"]
            .to_str()
            .expect("cd")
            .starts_with("inline;")
    );
    assert_eq!(resp.bytes().await.expect("bytes").to_vec(), photo);
    // Ann's widget downloads it; Bob and strangers cannot.
    let own = format!("widget/{ch}/attachments/{file_id}");
    let resp = download(&app, &own, Some(&ann)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.bytes().await.expect("bytes").to_vec(), photo);
    assert_eq!(
        download(&app, &own, Some(&bob)).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        download(&app, &own, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        download(&app, &format!("attachments/{file_id}"), None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // The agent answers with a PDF, and files a private screenshot in a note.
    let pdf = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n".to_vec();
    let (st, reply) = app
        .upload(
            &format!(
                "cases/{case_id}/attachments?filename=invoice%20%E2%84%961.pdf&text=Your%20invoice"
            ),
            &app.token,
            pdf.clone(),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{reply}");
    assert_eq!(
        (s(&reply["kind"]), s(&reply["text"])),
        ("message".into(), "Your invoice".into())
    );
    let pdf_id = s(&reply["attachments"][0]["id"]);
    assert_eq!(reply["attachments"][0]["content_type"], "application/pdf");
    let (st, note) = app
        .upload(
            &format!("cases/{case_id}/attachments?filename=internal.png&kind=note"),
            &app.token,
            png(10),
        )
        .await;
    assert_eq!(
        (st, s(&note["kind"])),
        (StatusCode::CREATED, "note".into()),
        "{note}"
    );
    let note_file = s(&note["attachments"][0]["id"]);
    // Ann's conversation has the invoice, not the note; she downloads it.
    let resp = app
        .http
        .get(format!("{}/api/v1/widget/{ch}/messages", app.base))
        .bearer_auth(&ann)
        .send()
        .await
        .expect("messages");
    let conv = resp.json::<Value>().await.expect("json");
    let items = conv["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{conv}");
    assert_eq!(items[1]["attachments"][0]["id"], pdf_id.as_str());
    let resp = download(
        &app,
        &format!("widget/{ch}/attachments/{pdf_id}"),
        Some(&ann),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let cd = resp.headers()["content-disposition"]
        .to_str()
        .expect("cd")
        .to_owned();
    assert!(
        cd.starts_with("attachment;") && cd.contains("filename*=UTF-8''invoice%20%E2%84%961.pdf"),
        "{cd}"
    );
    assert_eq!(resp.bytes().await.expect("bytes").to_vec(), pdf);
    assert_eq!(
        download(
            &app,
            &format!("widget/{ch}/attachments/{note_file}"),
            Some(&ann)
        )
        .await
        .status(),
        StatusCode::NOT_FOUND,
        "a note's file is for agents only"
    );

    // The Help Center shows and serves the same files to Ann.
    let resp = app
        .http
        .post(format!("{}/api/v1/widget/{ch}/help-link", app.base))
        .bearer_auth(&ann)
        .send()
        .await
        .expect("link");
    let url = s(&resp.json::<Value>().await.expect("json")["url"]);
    let (account, token) = url
        .split_once("/help/")
        .and_then(|(_, rest)| rest.split_once("#login="))
        .map(|(a, t)| (a.to_owned(), t.to_owned()))
        .expect("help link");
    let resp = app
        .http
        .post(format!("{}/api/v1/help/{account}/session", app.base))
        .json(&json!({ "token": token }))
        .send()
        .await
        .expect("session");
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    let help_get = |path: String| {
        app.http
            .get(format!("{}/api/v1/help/{account}/{path}", app.base))
            .header("cookie", cookie.clone())
            .send()
    };
    let detail = help_get(format!("cases/{case_id}"))
        .await
        .expect("case")
        .json::<Value>()
        .await
        .expect("json");
    assert_eq!(
        detail["messages"][0]["attachments"][0]["id"],
        file_id.as_str()
    );
    assert_eq!(
        detail["messages"].as_array().map(Vec::len),
        Some(2),
        "no note"
    );
    let resp = help_get(format!("attachments/{pdf_id}"))
        .await
        .expect("file");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.bytes().await.expect("bytes").to_vec(), pdf);
    let resp = help_get(format!("attachments/{note_file}"))
        .await
        .expect("file");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(stored(app.db.files.path()), (3, true));
    app.stop().await;
}

async fn uploads_refuse_bad_files_and_leave_nothing_behind(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config, _| {
        config.attachment_max_bytes = Some(64 << 10);
    })
    .await;
    let ch = app.widget_channel(&[]).await.0;
    let visitor = app.new_visitor(&ch).await;
    let up = |name: &str| format!("widget/{ch}/attachments?filename={name}");
    // Too large: by its declared length, and by what a chunked body turns out to be.
    let (st, v) = app.upload(&up("big.png"), &visitor, png(70 << 10)).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(
        chunked_upload(&app, &up("stream.png"), &visitor, 20).await,
        "413",
        "a chunked body is cut off at the limit"
    );
    // Kinds the bytes do not vouch for, and nothing at all.
    for (bytes, want) in [
        (
            b"MZ\x90\x00\x03\x00\x00\x00".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            vec![0xff, 0xfe, 0x00, 0x00, 0x01],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (Vec::new(), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (st, v) = app.upload(&up("setup.exe"), &visitor, bytes).await;
        assert_eq!(st, want, "{v}");
    }
    // An HTML page is stored as text and served as a download, never a page.
    let (st, posted) = app
        .upload(
            &up("page.html"),
            &visitor,
            b"<script>alert(document.cookie)</script>".to_vec(),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{posted}");
    let id = s(&posted["message"]["attachments"][0]["id"]);
    let resp = download(&app, &format!("attachments/{id}"), Some(&app.token)).await;
    assert_eq!(resp.headers()["content-type"], "text/plain; charset=utf-8");
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .expect("cd")
            .starts_with("attachment;")
    );
    // Bad tokens, ids, cases, captions.
    let (st, _) = app.upload(&up("a.png"), "not-a-visitor", png(10)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = app
        .upload(
            "cases/no-such-case/attachments?filename=a.png",
            &app.token,
            png(10),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let long = "x".repeat(20_000);
    let (st, _) = app
        .upload(
            &format!("widget/{ch}/attachments?filename=a.png&text={long}"),
            &visitor,
            png(10),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    for bad in ["no-such-id", "..%2F..%2Fetc%2Fpasswd", "%2e%2e"] {
        let resp = download(&app, &format!("attachments/{bad}"), Some(&app.token)).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{bad}");
    }
    assert_eq!(
        stored(app.db.files.path()),
        (1, true),
        "only the accepted file is kept; nothing is left in tmp"
    );
    app.stop().await;

    // A server keeping no attachments says so.
    let app = TestApp::spawn_with(backend, |config, _| config.attachments_dir = None).await;
    let ch = app.widget_channel(&[]).await.0;
    let visitor = app.new_visitor(&ch).await;
    let (st, v) = app
        .upload(
            &format!("widget/{ch}/attachments?filename=a.png"),
            &visitor,
            png(10),
        )
        .await;
    assert_eq!(
        (st, s(&v["error"]["code"])),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "attachments_disabled".into()
        )
    );
    app.stop().await;
}
