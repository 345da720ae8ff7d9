//! End-to-end test helpers: a private moto server per test (so tests run in
//! parallel without sharing state) and raw SDK clients to create or inspect
//! objects out of band. Only built with the `testkit` feature.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};

/// The SDK crates, for tests that act out of band.
pub use {
    aws_sdk_cloudwatch as cloudwatch, aws_sdk_cloudwatchlogs as logs, aws_sdk_ec2 as ec2,
    aws_sdk_iam as iam,
};

/// A moto server on a free loopback port, stopped on drop.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    /// Starts `$VPCFORM_MOTO_SERVER` (set by scripts/test.sh). Panics with
    /// instructions when it is missing: these tests never skip silently.
    pub fn start() -> Moto {
        let server = std::env::var("VPCFORM_MOTO_SERVER").unwrap_or_else(|_| {
            panic!("VPCFORM_MOTO_SERVER is not set: run the tests through scripts/test.sh, which installs moto and sets it")
        });
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start moto ({server}): {e}"));
        let endpoint = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto did not start within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto { child, endpoint }
    }

    /// Environment for a `vpcform` child process talking to this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// vpcform's own clients, through `endpoint` (moto's, or a proxy in front of it).
    pub async fn aws(&self, endpoint: &str) -> crate::Aws {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(aws_credential_types::Credentials::for_tests())
            .load()
            .await;
        crate::Aws::from_config(&config, endpoint.to_string(), "us-east-1".into())
    }

    /// Raw SDK clients for out-of-band changes and checks.
    pub async fn sdk(&self) -> Sdk {
        self.sdk_in("us-east-1").await
    }

    /// Raw SDK clients in another region.
    pub async fn sdk_in(&self, region: &str) -> Sdk {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_credential_types::Credentials::for_tests())
            .load()
            .await;
        Sdk {
            ec2: aws_sdk_ec2::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            sns: aws_sdk_sns::Client::new(&config),
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug, Clone)]
pub struct Sdk {
    pub ec2: aws_sdk_ec2::Client,
    pub iam: aws_sdk_iam::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub sns: aws_sdk_sns::Client,
}

/// EC2 tag specifications carrying ownership tags (and a Name).
pub fn tag_spec(
    resource: aws_sdk_ec2::types::ResourceType,
    stack: &str,
    address: &str,
    name: Option<&str>,
) -> aws_sdk_ec2::types::TagSpecification {
    let tag = |k: &str, v: &str| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build();
    let mut spec = aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(resource)
        .tags(tag("vpcform:stack", stack))
        .tags(tag("vpcform:address", address));
    if let Some(name) = name {
        spec = spec.tags(tag("Name", name));
    }
    spec.build()
}
