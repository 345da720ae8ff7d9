//! A fault-injecting HTTP proxy for tests and benchmarks: it sits between
//! vpcform and moto on loopback and, per request, adds latency, answers with
//! AWS-shaped throttling or a 500 without forwarding, or drops the connection
//! before forwarding (so every fault is safe to retry, as on AWS).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What to inject; shares are per request, in [0, 1].
#[derive(Clone, Copy, Debug)]
pub struct Faults {
    pub throttle: f64,
    pub server_error: f64,
    pub drop: f64,
    /// Share of requests forwarded to moto whose answer is then lost (AWS acted;
    /// the client sees a dropped connection and retries).
    pub lose_answer: f64,
    /// Share of requests delayed by `latency`.
    pub latency_share: f64,
    pub latency: Duration,
    pub seed: u64,
    /// Answer AccessDenied to every call of these operations (e.g. `DescribeVpcs`).
    pub deny: &'static [&'static str],
    /// Hold the first call of this operation this long before forwarding it
    /// (a run that stalls at one step).
    pub hold: Option<(&'static str, Duration)>,
    /// Forward the first call of each of these operations at once, and hold
    /// its answer this long (AWS acted; its answer is late).
    pub late_answers: Option<(&'static [&'static str], Duration)>,
}

impl Faults {
    /// Only latency, on every request.
    pub fn latency(latency: Duration) -> Faults {
        Faults {
            throttle: 0.0,
            server_error: 0.0,
            drop: 0.0,
            lose_answer: 0.0,
            latency_share: 1.0,
            latency,
            seed: 1,
            deny: &[],
            hold: None,
            late_answers: None,
        }
    }

    /// Only a stall: the first call of `operation` waits `for_how_long`.
    pub fn hold(operation: &'static str, for_how_long: Duration) -> Faults {
        Faults {
            hold: Some((operation, for_how_long)),
            ..Faults::latency(Duration::ZERO)
        }
    }

    /// Only late answers: the first call of each of `operations` is carried
    /// out at once and answered `after` later.
    pub fn late_answers(operations: &'static [&'static str], after: Duration) -> Faults {
        Faults {
            late_answers: Some((operations, after)),
            ..Faults::latency(Duration::ZERO)
        }
    }

    /// Only AccessDenied for `operations`.
    pub fn deny(operations: &'static [&'static str]) -> Faults {
        Faults {
            deny: operations,
            ..Faults::latency(Duration::ZERO)
        }
    }
}

/// Counts of what the proxy did.
#[derive(Debug, Default)]
pub struct ProxyStats {
    pub requests: AtomicU64,
    pub throttled: AtomicU64,
    pub server_errors: AtomicU64,
    pub dropped: AtomicU64,
    pub delayed: AtomicU64,
    pub answers_lost: AtomicU64,
    pub held: AtomicU64,
    /// Operations whose first answer was held late.
    pub late: std::sync::Mutex<Vec<String>>,
}

impl ProxyStats {
    pub fn snapshot(&self) -> [u64; 5] {
        [
            self.requests.load(Ordering::Relaxed),
            self.throttled.load(Ordering::Relaxed),
            self.server_errors.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
            self.delayed.load(Ordering::Relaxed),
        ]
    }
}

/// A running proxy; stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    pub endpoint: String,
    pub stats: Arc<ProxyStats>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Low-discrepancy rolls (Weyl sequences): over any run of requests the
/// injected shares match the configured ones closely, which random rolls on
/// a few dozen requests do not.
struct Rolls {
    next: AtomicU64,
    offset: f64,
}

/// Per request: (fault roll, latency roll, lost-answer roll), each in [0, 1).
impl Rolls {
    fn take(&self) -> (f64, f64, f64) {
        let i = self.next.fetch_add(1, Ordering::Relaxed) as f64;
        let frac = |step: f64| (self.offset + i * step).fract();
        (
            frac(0.618_033_988_749_895),
            frac(0.414_213_562_373_095),
            frac(0.732_050_807_568_877),
        )
    }
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (e.g. `http://127.0.0.1:5000`) on a free loopback port.
    pub fn start(upstream: &str, faults: Faults) -> FaultProxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("proxy runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind a loopback port");
        let endpoint = format!("http://{}", listener.local_addr().expect("local address"));
        let stats = Arc::new(ProxyStats::default());
        let rolls = Arc::new(Rolls {
            next: AtomicU64::new(0),
            offset: (faults.seed % 1000) as f64 / 1000.0,
        });
        let shared = stats.clone();
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (upstream, stats, rolls) = (upstream.clone(), shared.clone(), rolls.clone());
                tokio::spawn(async move {
                    let _ = serve(client, &upstream, faults, &stats, &rolls).await;
                });
            }
        });
        FaultProxy {
            endpoint,
            stats,
            runtime: Some(runtime),
        }
    }
}

/// Reads one HTTP/1.1 request (headers and a Content-Length body).
async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(buf))
}

fn response(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// AWS's throttling answer in the protocol of the service addressed.
fn throttling(request: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(request);
    let lower = text.to_ascii_lowercase();
    if lower.contains("x-amz-target:") {
        response(
            "400 Bad Request",
            "application/x-amz-json-1.1",
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
        )
    } else if text.contains("Version=2010-05-08") {
        response(
            "400 Bad Request",
            "text/xml",
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>fault</RequestId></ErrorResponse>",
        )
    } else {
        response(
            "503 Service Unavailable",
            "text/xml",
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>fault</RequestID></Response>",
        )
    }
}

/// Whether a request calls `operation` (EC2's query protocol, or a JSON target).
fn names_operation(request: &[u8], operation: &str) -> bool {
    let text = String::from_utf8_lossy(request);
    text.contains(&format!("Action={operation}&")) || text.contains(&format!(".{operation}\r\n"))
}

async fn serve(
    mut client: TcpStream,
    upstream: &str,
    faults: Faults,
    stats: &ProxyStats,
    rolls: &Rolls,
) -> std::io::Result<()> {
    let Some(request) = read_request(&mut client).await? else {
        return Ok(());
    };
    stats.requests.fetch_add(1, Ordering::Relaxed);
    if let Some(operation) = faults
        .deny
        .iter()
        .find(|operation| names_operation(&request, operation))
    {
        return client
                .write_all(&response(
                    "403 Forbidden",
                    "text/xml",
                    &format!("<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ec2:{operation}</Message></Error></Errors><RequestID>fault</RequestID></Response>"),
                ))
                .await;
    }
    if let Some((operation, pause)) = faults.hold
        && names_operation(&request, operation)
        && stats.held.fetch_add(1, Ordering::Relaxed) == 0
    {
        tokio::time::sleep(pause).await;
    }
    let (roll, latency_roll, lose_roll) = rolls.take();
    if roll < faults.drop {
        stats.dropped.fetch_add(1, Ordering::Relaxed);
        return Ok(()); // closed without an answer, before moto saw it
    }
    if roll < faults.drop + faults.throttle {
        stats.throttled.fetch_add(1, Ordering::Relaxed);
        return client.write_all(&throttling(&request)).await;
    }
    if roll < faults.drop + faults.throttle + faults.server_error {
        stats.server_errors.fetch_add(1, Ordering::Relaxed);
        return client
            .write_all(&response("500 Internal Server Error", "text/xml", "<Response><Errors><Error><Code>InternalError</Code><Message>injected</Message></Error></Errors></Response>"))
            .await;
    }
    if latency_roll < faults.latency_share && !faults.latency.is_zero() {
        stats.delayed.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(faults.latency).await;
    }
    // Forward with `connection: close` so the answer ends at EOF.
    let header_end = request
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(request.len(), |p| p + 4);
    let head = String::from_utf8_lossy(&request[..header_end]);
    let mut rewritten: String = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:") && !l.is_empty())
        .map(|l| format!("{l}\r\n"))
        .collect();
    rewritten.push_str("connection: close\r\n\r\n");
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(rewritten.as_bytes()).await?;
    server.write_all(&request[header_end..]).await?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer).await?;
    if let Some((operations, after)) = faults.late_answers
        && let Some(op) = operations.iter().find(|op| names_operation(&request, op))
    {
        let first = {
            let mut late = stats.late.lock().unwrap_or_else(|e| e.into_inner());
            let first = !late.iter().any(|l| l == op);
            if first {
                late.push(op.to_string());
            }
            first
        };
        if first {
            tokio::time::sleep(after).await;
        }
    }
    if lose_roll < faults.lose_answer {
        stats.answers_lost.fetch_add(1, Ordering::Relaxed);
        return Ok(()); // moto acted, the client never hears of it
    }
    client.write_all(&answer).await?;
    client.shutdown().await
}
