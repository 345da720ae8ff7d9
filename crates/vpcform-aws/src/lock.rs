//! One apply at a time per stack: a lock held in AWS, correct under a
//! stall of any length at any step, whatever the clocks say, and whatever
//! anyone wrote into the lock group.
//!
//! Each run creates its own log stream `/vpcform/locks` → `<stack>/<id>`
//! (the id unique to the run), then lists the streams of the stack. It
//! holds the lock only if its stream is the only one; otherwise it deletes
//! its stream and reports the other as the holder. Mutual exclusion
//! follows from the order of two steps: a run lists only after its stream
//! exists, so of two runs whose streams overlap in time, the one listing
//! later sees the other's stream, and the one listing earlier saw the
//! other's stream too or the other had not created it yet, in which case
//! the other sees the first's. At worst both step back (and try again
//! later); never do both hold it. Nothing depends on timestamps or on the
//! events in a stream: the one event a run writes says who holds the lock,
//! for people only. Unlock deletes the run's own stream and nothing else.
//! A stream named exactly `<stack>` is a lock of an earlier vpcform.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::apply::is_code;
use crate::{Aws, AwsError};

pub const LOCK_GROUP: &str = "/vpcform/locks";

/// Who holds a stack's lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub id: String,
    pub holder: String,
    pub command: String,
    /// Seconds since the Unix epoch.
    pub since: u64,
}

impl LockInfo {
    /// When the lock was taken, e.g. `2026-11-26T17:50:02Z (3m 12s ago)`.
    pub fn since_text(&self) -> String {
        let at = UNIX_EPOCH + std::time::Duration::from_secs(self.since);
        let ago = SystemTime::now()
            .duration_since(at)
            .map(|d| std::time::Duration::from_secs(d.as_secs()))
            .unwrap_or_default();
        format!(
            "{} ({} ago)",
            humantime::format_rfc3339_seconds(at),
            humantime::format_duration(ago)
        )
    }
}

/// A held lock; release it with [`Aws::unlock`].
#[derive(Debug)]
pub struct Lock {
    pub stack: String,
    pub info: LockInfo,
}

fn holder() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into());
    format!("{user}@{host} (pid {})", std::process::id())
}

/// An id no other run has: the time, the process and the host together.
fn new_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    vpcform_diff::short_hash(&(nanos, std::process::id(), holder()))
}

/// The lock streams of `stack`: `<stack>/<id>`, and an earlier vpcform's `<stack>`.
fn is_lock_of(name: &str, stack: &str) -> bool {
    name == stack
        || name
            .strip_prefix(stack)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn stream_of(stack: &str, id: &str) -> String {
    format!("{stack}/{id}")
}

impl Aws {
    /// Takes the stack's lock, or says who holds it.
    pub async fn lock(&self, stack: &str, command: &str) -> Result<Lock, AwsError> {
        // Another run made the group first: it is shared.
        exists_is_fine(
            self.logs
                .create_log_group()
                .log_group_name(LOCK_GROUP)
                .send()
                .await
                .map_err(|e| self.error("logs:CreateLogGroup", e)),
        )?;
        let info = LockInfo {
            id: new_id(),
            holder: holder(),
            command: command.to_string(),
            since: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default(),
        };
        let mine = stream_of(stack, &info.id);
        // Our own name already there: a retried create whose first answer was lost.
        exists_is_fine(
            self.logs
                .create_log_stream()
                .log_group_name(LOCK_GROUP)
                .log_stream_name(&mine)
                .send()
                .await
                .map_err(|e| self.error("logs:CreateLogStream", e)),
        )?;
        self.describe_holder(&mine, &info).await?;
        let others: Vec<String> = self
            .lock_streams(stack)
            .await?
            .into_iter()
            .filter(|name| *name != mine)
            .collect();
        let Some(other) = others.first() else {
            return Ok(Lock {
                stack: stack.to_string(),
                info,
            });
        };
        // Someone else's stream exists: step back, and say whose.
        let held = self.holder_of(other).await?;
        self.delete_stream(&mine).await?;
        Err(AwsError::LockHeld {
            stack: stack.to_string(),
            info: Box::new(held),
        })
    }

    /// Writes who holds the lock into its stream, for people to read.
    async fn describe_holder(&self, stream: &str, info: &LockInfo) -> Result<(), AwsError> {
        let event = aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
            .timestamp((info.since * 1000) as i64)
            .message(serde_json::to_string(info).unwrap_or_default())
            .build()
            .map_err(|e| AwsError::Api {
                operation: "logs:PutLogEvents".into(),
                code: "Build".into(),
                message: e.to_string(),
            })?;
        self.logs
            .put_log_events()
            .log_group_name(LOCK_GROUP)
            .log_stream_name(stream)
            .log_events(event)
            .send()
            .await
            .map_err(|e| self.error("logs:PutLogEvents", e))?;
        Ok(())
    }

    /// The names of the stack's lock streams, every page.
    async fn lock_streams(&self, stack: &str) -> Result<Vec<String>, AwsError> {
        let mut pages = self
            .logs
            .describe_log_streams()
            .log_group_name(LOCK_GROUP)
            .log_stream_name_prefix(stack)
            .into_paginator()
            .items()
            .send();
        let mut out = Vec::new();
        while let Some(stream) = pages.next().await {
            let stream = match stream.map_err(|e| self.error("logs:DescribeLogStreams", e)) {
                Ok(s) => s,
                Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(out),
                Err(e) => return Err(e),
            };
            if let Some(name) = stream.log_stream_name().filter(|n| is_lock_of(n, stack)) {
                out.push(name.to_string());
            }
        }
        Ok(out)
    }

    /// Who a lock stream says holds the lock; what cannot be read is shown
    /// as it is (escaped), never trusted: the stream's name gives the id.
    async fn holder_of(&self, stream: &str) -> Result<LockInfo, AwsError> {
        let id = stream.rsplit_once('/').map_or(stream, |(_, id)| id);
        let unknown = |holder: String| LockInfo {
            id: id.to_string(),
            holder,
            command: "unknown".into(),
            since: 0,
        };
        let events = self
            .logs
            .get_log_events()
            .log_group_name(LOCK_GROUP)
            .log_stream_name(stream)
            .start_from_head(true)
            .limit(1)
            .send()
            .await
            .map_err(|e| self.error("logs:GetLogEvents", e));
        let message = match events {
            Ok(r) => r
                .events()
                .first()
                .and_then(|e| e.message())
                .map(str::to_string),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => None,
            Err(e) => return Err(e),
        };
        Ok(match message {
            None => unknown("unknown (its run has not said yet)".into()),
            Some(m) => match serde_json::from_str::<LockInfo>(&m) {
                // A legacy stream carries its id in its event.
                Ok(info) if stream.contains('/') => LockInfo {
                    id: id.to_string(),
                    ..info
                },
                Ok(info) => info,
                Err(_) => unknown(format!(
                    "unknown (the lock stream holds {})",
                    vpcform_topology::escape::excerpt(&m, 80)
                )),
            },
        })
    }

    /// Who holds the stack's lock, if anyone.
    pub async fn lock_holder(&self, stack: &str) -> Result<Option<LockInfo>, AwsError> {
        match self.lock_streams(stack).await?.first() {
            Some(stream) => Ok(Some(self.holder_of(stream).await?)),
            None => Ok(None),
        }
    }

    async fn delete_stream(&self, stream: &str) -> Result<(), AwsError> {
        let deleted = self
            .logs
            .delete_log_stream()
            .log_group_name(LOCK_GROUP)
            .log_stream_name(stream)
            .send()
            .await
            .map_err(|e| self.error("logs:DeleteLogStream", e));
        match deleted {
            // Already gone: a retried delete whose first answer was lost.
            Err(e) if !is_code(&e, &["ResourceNotFoundException"]) => Err(e),
            _ => Ok(()),
        }
    }

    /// Releases this run's lock: its own stream, nothing else.
    pub async fn unlock(&self, lock: Lock) -> Result<(), AwsError> {
        self.delete_stream(&stream_of(&lock.stack, &lock.info.id))
            .await
    }

    /// Removes a lock left behind by an aborted run, if its id is `id`.
    pub async fn force_unlock(&self, stack: &str, id: &str) -> Result<LockInfo, AwsError> {
        let streams = self.lock_streams(stack).await?;
        if streams.is_empty() {
            return Err(AwsError::Api {
                operation: "force-unlock".into(),
                code: "NotLocked".into(),
                message: format!("stack `{stack}` is not locked"),
            });
        }
        for stream in &streams {
            let info = self.holder_of(stream).await?;
            if info.id == id {
                self.delete_stream(stream).await?;
                return Ok(info);
            }
        }
        let held = self.holder_of(&streams[0]).await?;
        Err(AwsError::Api {
            operation: "force-unlock".into(),
            code: "LockIdMismatch".into(),
            message: format!(
                "stack `{stack}` is locked with id {}, not {id}; nothing was unlocked",
                held.id
            ),
        })
    }
}

/// A create whose object already exists counts as done.
fn exists_is_fine<T>(created: Result<T, AwsError>) -> Result<(), AwsError> {
    match created {
        Ok(_) => Ok(()),
        Err(e) if is_code(&e, &["ResourceAlreadyExistsException"]) => Ok(()),
        Err(e) => Err(e),
    }
}
