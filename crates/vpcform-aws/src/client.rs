//! AWS configuration as users expect it, the service clients, and the
//! interceptor that counts (and traces) every API call.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::AwsError;

/// Where and as whom to talk to AWS. Unset fields fall back to the standard
/// chain (environment, shared config and profiles, SSO, instance metadata).
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub profile: Option<String>,
    /// `--region`, else the topology's, else the environment's.
    pub region: Option<String>,
    /// `--endpoint-url`; `AWS_ENDPOINT_URL` is honoured by the SDK itself.
    pub endpoint_url: Option<String>,
    /// A role to assume with the credentials found (an environment's `role-arn`).
    pub role_arn: Option<String>,
}

/// How long one attempt of a call may take: 30 s, or `VPCFORM_ATTEMPT_TIMEOUT`
/// seconds (tests shorten it to show what happens after a timeout).
fn attempt_timeout() -> Duration {
    std::env::var("VPCFORM_ATTEMPT_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(30), Duration::from_secs)
}

/// Counts API calls (operations, not retries) made through the clients,
/// and attempts by operation (`EC2:DescribeVpcs`), for benchmarks.
#[derive(Debug, Clone, Default)]
pub struct CallCounter(
    Arc<AtomicU64>,
    Arc<std::sync::Mutex<std::collections::BTreeMap<String, u64>>>,
);

impl CallCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Attempts so far, by operation.
    pub fn by_operation(&self) -> std::collections::BTreeMap<String, u64> {
        self.1.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

#[derive(Debug)]
struct CountCalls(CallCounter);

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "vpcform::CountCalls"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Each attempt, named (`-v`): the operation's metadata is in the bag by now.
    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(meta) = cfg.load::<Metadata>() {
            tracing::debug!("AWS call {}:{}", meta.service(), meta.name());
            if let Ok(mut by) = self.0.1.lock() {
                *by.entry(format!("{}:{}", meta.service(), meta.name()))
                    .or_default() += 1;
            }
        }
        Ok(())
    }
}

/// The service clients vpcform uses, sharing one configuration and counter.
#[derive(Debug, Clone)]
pub struct Aws {
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) iam: aws_sdk_iam::Client,
    pub(crate) logs: aws_sdk_cloudwatchlogs::Client,
    pub(crate) cloudwatch: aws_sdk_cloudwatch::Client,
    pub(crate) sns: aws_sdk_sns::Client,
    pub(crate) ssm: aws_sdk_ssm::Client,
    pub(crate) tagging: aws_sdk_resourcegroupstagging::Client,
    pub(crate) calls: CallCounter,
    pub(crate) endpoint: String,
    region: String,
}

impl Aws {
    /// Loads the configuration and checks that a region and credentials exist.
    pub async fn connect(options: &AwsOptions) -> Result<Aws, AwsError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::adaptive().with_max_attempts(8))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(attempt_timeout())
                    .build(),
            );
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &options.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let mut config = loader.load().await;
        if let Some(role) = &options.role_arn {
            let provider = aws_config::sts::AssumeRoleProvider::builder(role.clone())
                .session_name("vpcform")
                .configure(&config)
                .build()
                .await;
            config = config
                .into_builder()
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                )
                .build();
        }
        let region = config.region().ok_or(AwsError::NoRegion)?.to_string();
        let Some(provider) = config.credentials_provider() else {
            return Err(AwsError::NoCredentials {
                detail: "no credentials provider is configured".into(),
            });
        };
        if let Err(e) =
            aws_credential_types::provider::ProvideCredentials::provide_credentials(&provider).await
        {
            return Err(AwsError::NoCredentials {
                detail: e.to_string(),
            });
        }
        let endpoint = options
            .endpoint_url
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .unwrap_or_else(|| format!("the AWS API in {region}"));
        Ok(Aws::from_config(&config, endpoint, region))
    }

    /// The clients of one loaded configuration, each counting its calls.
    pub(crate) fn from_config(
        config: &aws_config::SdkConfig,
        endpoint: String,
        region: String,
    ) -> Aws {
        let calls = CallCounter::default();
        let ec2 = aws_sdk_ec2::Client::from_conf(
            aws_sdk_ec2::config::Builder::from(config)
                .interceptor(CountCalls(calls.clone()))
                .build(),
        );
        let iam = aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(config)
                .interceptor(CountCalls(calls.clone()))
                .build(),
        );
        let logs = aws_sdk_cloudwatchlogs::Client::from_conf(
            aws_sdk_cloudwatchlogs::config::Builder::from(config)
                .interceptor(CountCalls(calls.clone()))
                .build(),
        );
        let cloudwatch = aws_sdk_cloudwatch::Client::from_conf(
            aws_sdk_cloudwatch::config::Builder::from(config)
                .interceptor(CountCalls(calls.clone()))
                .build(),
        );
        let sns = aws_sdk_sns::Client::from_conf(
            aws_sdk_sns::config::Builder::from(config)
                .interceptor(CountCalls(calls.clone()))
                .build(),
        );
        let ssm = aws_sdk_ssm::Client::from_conf(
            aws_sdk_ssm::config::Builder::from(config)
                .interceptor(CountCalls(calls.clone()))
                .build(),
        );
        let tagging = aws_sdk_resourcegroupstagging::Client::from_conf(
            aws_sdk_resourcegroupstagging::config::Builder::from(config)
                .interceptor(CountCalls(calls.clone()))
                .build(),
        );
        Aws {
            ec2,
            iam,
            logs,
            cloudwatch,
            sns,
            ssm,
            tagging,
            calls,
            endpoint,
            region,
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn calls(&self) -> &CallCounter {
        &self.calls
    }

    pub(crate) fn error<E, R>(
        &self,
        operation: &str,
        err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
    ) -> AwsError
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: std::fmt::Debug,
    {
        crate::error::classify(operation, &self.endpoint, err)
    }
}
