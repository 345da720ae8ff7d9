//! Errors users can act on: one paragraph each, naming the API call.

use std::fmt::Debug;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error(
        "no AWS credentials were found. vpcform uses the standard chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
         a profile in ~/.aws/config or ~/.aws/credentials (--profile or AWS_PROFILE), SSO (`aws sso login`), \
         or the instance's metadata service. ({detail})"
    )]
    NoCredentials { detail: String },
    #[error(
        "no AWS region is set: give `region:` in the topology, pass --region, or set AWS_REGION (or a region in your AWS profile)"
    )]
    NoRegion,
    #[error(
        "cannot reach the AWS endpoint {endpoint} while calling {operation}: {detail}. Check the network, \
         --endpoint-url / AWS_ENDPOINT_URL (for moto or LocalStack, is the server running?), and proxies"
    )]
    Unreachable {
        operation: String,
        endpoint: String,
        detail: String,
    },
    #[error(
        "access denied calling {operation}: {message}. The credentials in use need permission for {operation}"
    )]
    AccessDenied { operation: String, message: String },
    #[error(
        "stack `{stack}` is locked by {} since {} (running `{}`, lock id {}). Wait for it to finish; if that run died, release the lock with `vpcform force-unlock {}`",
        // What a lock stream holds is data: shown, never obeyed.
        vpcform_topology::escape::terminal(&info.holder),
        info.since_text(),
        vpcform_topology::escape::terminal(&info.command),
        vpcform_topology::escape::terminal(&info.id),
        vpcform_topology::escape::terminal(&info.id)
    )]
    LockHeld {
        stack: String,
        info: Box<crate::lock::LockInfo>,
    },
    #[error("{operation}: the plan has no id for this object (a bug: please report it)")]
    MissingId { operation: String },
    #[error(
        "{address}: the plan gives no `{attr}` (a bug: please report it); nothing was sent to AWS"
    )]
    MissingAttr { address: String, attr: String },
    #[error(
        "{operation}: {detail}; nothing was changed. Run `vpcform plan` again and review what moved"
    )]
    PlanMoved { operation: String, detail: String },
    #[error(
        "{operation}: {detail}; vpcform plans only from a complete read, so nothing was planned"
    )]
    Incomplete { operation: String, detail: String },
    #[error("{operation}: this kind has no stand-in (a bug: please report it)")]
    Unsupported { operation: String },
    #[error("the Logs Insights query {query_id} ended as {status}")]
    QueryEnded { query_id: String, status: String },
    #[error("gave up waiting for {what} after {seconds}s")]
    WaitTimeout { what: String, seconds: u64 },
    #[error("{operation} failed: {code}: {message}")]
    Api {
        operation: String,
        code: String,
        message: String,
    },
}

impl AwsError {
    /// AWS's error code, when the error came from AWS.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Api { code, .. } => Some(code),
            AwsError::AccessDenied { .. } => Some("AccessDenied"),
            _ => None,
        }
    }

    pub fn message(&self) -> String {
        match self {
            AwsError::Api { message, .. } | AwsError::AccessDenied { message, .. } => {
                message.clone()
            }
            other => other.to_string(),
        }
    }
}

/// Classifies an SDK error of `operation`.
impl AwsError {
    /// Whether AWS may or may not have acted on the call (the request may
    /// have arrived): a timeout, a lost connection, a server error.
    pub(crate) fn is_ambiguous(&self) -> bool {
        match self {
            AwsError::Unreachable { .. } => true,
            AwsError::Api { code, .. } => matches!(
                code.as_str(),
                "InternalError"
                    | "InternalFailure"
                    | "ServiceUnavailable"
                    | "Unavailable"
                    | "Unknown"
            ),
            // Answers that say what happened, or errors before any call.
            AwsError::NoCredentials { .. }
            | AwsError::NoRegion
            | AwsError::AccessDenied { .. }
            | AwsError::LockHeld { .. }
            | AwsError::MissingId { .. }
            | AwsError::MissingAttr { .. }
            | AwsError::PlanMoved { .. }
            | AwsError::Incomplete { .. }
            | AwsError::Unsupported { .. }
            | AwsError::QueryEnded { .. }
            | AwsError::WaitTimeout { .. } => false,
        }
    }

    /// Whether AWS refused the call for its rate (and did not act).
    pub(crate) fn is_throttling(&self) -> bool {
        matches!(self, AwsError::Api { code, .. } if matches!(
            code.as_str(),
            "RequestLimitExceeded" | "Throttling" | "ThrottlingException" | "TooManyRequestsException"
        ))
    }
}

pub(crate) fn classify<E, R>(operation: &str, endpoint: &str, err: SdkError<E, R>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug,
{
    match &err {
        SdkError::DispatchFailure(failure) => {
            let detail = if failure.is_timeout() {
                "the connection timed out".to_string()
            } else if failure.is_io() {
                "the connection failed".to_string()
            } else {
                format!("{:?}", failure.as_connector_error().map(|e| e.to_string()))
            };
            AwsError::Unreachable {
                operation: operation.to_string(),
                endpoint: endpoint.to_string(),
                detail,
            }
        }
        SdkError::TimeoutError(_) => AwsError::Unreachable {
            operation: operation.to_string(),
            endpoint: endpoint.to_string(),
            detail: "the request timed out".into(),
        },
        _ => {
            let code = err.code().unwrap_or("Unknown").to_string();
            // Without a message, the SDK's description of the error holds the
            // raw response: bounded, and safe for a terminal.
            let message = err.message().map(str::to_string).unwrap_or_else(|| {
                let raw = aws_smithy_types::error::display::DisplayErrorContext(&err).to_string();
                vpcform_topology::escape::excerpt(&raw, 300)
            });
            if matches!(
                code.as_str(),
                "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" | "AuthFailure"
            ) {
                AwsError::AccessDenied {
                    operation: operation.to_string(),
                    message,
                }
            } else {
                AwsError::Api {
                    operation: operation.to_string(),
                    code,
                    message,
                }
            }
        }
    }
}
