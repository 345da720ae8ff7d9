//! One apply at a time per stack: a lock held in AWS. CloudWatch Logs creates
//! a log stream atomically (a second CreateLogStream of the same name fails),
//! so the stream `/vpcform/locks/<stack>` is the lock, and its first event
//! records who holds it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

fn new_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{:08x}",
        (nanos as u64 ^ u64::from(std::process::id()).rotate_left(32)) & 0xffff_ffff
    )
}

impl Aws {
    /// Takes the stack's lock, or says who holds it.
    pub async fn lock(&self, stack: &str, command: &str) -> Result<Lock, AwsError> {
        match self
            .logs
            .create_log_group()
            .log_group_name(LOCK_GROUP)
            .send()
            .await
            .map_err(|e| self.error("logs:CreateLogGroup", e))
        {
            Err(e) if !is_code(&e, &["ResourceAlreadyExistsException"]) => return Err(e),
            _ => {}
        }
        let info = LockInfo {
            id: new_id(),
            holder: holder(),
            command: command.to_string(),
            since: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default(),
        };
        let created = self
            .logs
            .create_log_stream()
            .log_group_name(LOCK_GROUP)
            .log_stream_name(stack)
            .send()
            .await;
        if let Err(e) = created {
            let e = self.error("logs:CreateLogStream", e);
            if !is_code(&e, &["ResourceAlreadyExistsException"]) {
                return Err(e);
            }
            // Held, unless the stream is still empty after its creator had time to
            // describe itself: then it was left by a create whose answer was lost.
            for wait in [Duration::ZERO, Duration::from_secs(2)] {
                tokio::time::sleep(wait).await;
                if let Some(held) = self.lock_holder(stack).await? {
                    return Err(AwsError::LockHeld {
                        stack: stack.to_string(),
                        info: Box::new(held),
                    });
                }
            }
        }
        let event = aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
            .timestamp((info.since * 1000) as i64)
            .message(serde_json::to_string(&info).unwrap_or_default())
            .build()
            .map_err(|e| AwsError::Api {
                operation: "logs:PutLogEvents".into(),
                code: "Build".into(),
                message: e.to_string(),
            })?;
        self.logs
            .put_log_events()
            .log_group_name(LOCK_GROUP)
            .log_stream_name(stack)
            .log_events(event)
            .send()
            .await
            .map_err(|e| self.error("logs:PutLogEvents", e))?;
        // The first description in the stream holds the lock; two runs that both
        // took over an empty stream agree on the winner.
        match self.lock_holder(stack).await? {
            Some(first) if first.id != info.id => Err(AwsError::LockHeld {
                stack: stack.to_string(),
                info: Box::new(first),
            }),
            _ => Ok(Lock {
                stack: stack.to_string(),
                info,
            }),
        }
    }

    /// Who holds the stack's lock, if anyone.
    pub async fn lock_holder(&self, stack: &str) -> Result<Option<LockInfo>, AwsError> {
        let events = self
            .logs
            .get_log_events()
            .log_group_name(LOCK_GROUP)
            .log_stream_name(stack)
            .start_from_head(true)
            .limit(1)
            .send()
            .await;
        let events = match events.map_err(|e| self.error("logs:GetLogEvents", e)) {
            Ok(r) => r,
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(events
            .events()
            .first()
            .and_then(|e| e.message())
            .and_then(|m| serde_json::from_str(m).ok()))
    }

    pub async fn unlock(&self, lock: Lock) -> Result<(), AwsError> {
        let deleted = self
            .logs
            .delete_log_stream()
            .log_group_name(LOCK_GROUP)
            .log_stream_name(&lock.stack)
            .send()
            .await
            .map_err(|e| self.error("logs:DeleteLogStream", e));
        match deleted {
            // Already gone: a retried delete whose first answer was lost.
            Err(e) if !is_code(&e, &["ResourceNotFoundException"]) => Err(e),
            _ => Ok(()),
        }
    }

    /// Removes a lock left behind by an aborted run, if its id is `id`.
    pub async fn force_unlock(&self, stack: &str, id: &str) -> Result<LockInfo, AwsError> {
        let Some(info) = self.lock_holder(stack).await? else {
            return Err(AwsError::Api {
                operation: "force-unlock".into(),
                code: "NotLocked".into(),
                message: format!("stack `{stack}` is not locked"),
            });
        };
        if info.id != id {
            return Err(AwsError::Api {
                operation: "force-unlock".into(),
                code: "LockIdMismatch".into(),
                message: format!(
                    "stack `{stack}` is locked with id {}, not {id}; nothing was unlocked",
                    info.id
                ),
            });
        }
        self.unlock(Lock {
            stack: stack.to_string(),
            info: info.clone(),
        })
        .await?;
        Ok(info)
    }
}
