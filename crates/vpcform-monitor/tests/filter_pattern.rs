//! Filter patterns on AWS's documented examples: the Apache access log of
//! "Matching terms in space-delimited log events", and the flow-log metric
//! filter of "Create a CloudWatch metric filter and alarm for flow logs"
//! (SSH rejected: destport "22", protocol "6", action "REJECT").

use vpcform_monitor::filter_pattern::{FilterPattern, split_event};

const APACHE: [&str; 3] = [
    r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534"#,
    r#"127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324"#,
    r#"127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /apache_pb.gif HTTP/1.0" 200 4355"#,
];

fn count(pattern: &str, events: &[&str]) -> usize {
    let p = FilterPattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
    events.iter().filter(|e| p.matches(e).is_some()).count()
}

#[test]
fn quoted_and_bracketed_runs_are_one_field() {
    assert_eq!(
        split_event(APACHE[0]),
        [
            "127.0.0.1",
            "-",
            "frank",
            "10/Oct/2000:13:25:15 -0700",
            "GET /apache_pb.gif HTTP/1.0",
            "200",
            "1534"
        ]
    );
}

#[test]
fn space_delimited_patterns_match_as_documented() {
    let cases = [
        (
            "[ip, user, username, timestamp, request, status_code, bytes]",
            3,
        ),
        (
            "[ip, user, username, timestamp, request, status_code = 500, bytes]",
            1,
        ),
        (
            "[ip, user, username, timestamp, request, status_code != 500, bytes]",
            2,
        ),
        (
            "[ip, user, username, timestamp, request, status_code = 5*, bytes]",
            1,
        ),
        (
            "[ip, user, username, timestamp, request, status_code = 200 || status_code = 500, bytes]",
            3,
        ),
        (
            "[ip, user, username, timestamp, request, status_code, bytes > 4000]",
            2,
        ),
        (
            "[ip, user, username, timestamp, request, status_code, bytes >= 1534 && bytes < 5000]",
            2,
        ),
        ("[..., status_code = 500, bytes]", 1),
        ("[ip, ...]", 3),
        ("[ip = 127.0.0.*, ..., bytes < 2000]", 1),
        ("[ip, user, username = \"frank\", ...]", 3),
        // Fewer fields than the event has, without an ellipsis: no match.
        ("[ip, user, username]", 0),
        (
            "[ip, user, username, timestamp, request, status_code, bytes, more]",
            0,
        ),
        ("", 3),
        ("frank 500", 1),
        ("\"GET /apache_pb.gif\"", 3),
        ("?5324 ?4355", 2),
        ("frank -5324", 2),
    ];
    for (pattern, expected) in cases {
        assert_eq!(count(pattern, &APACHE), expected, "{pattern}");
    }
}

#[test]
fn the_flow_log_ssh_rejected_pattern_counts_rejected_ssh_only() {
    let pattern = r#"[version, account, eni, source, destination, srcport, destport="22", protocol="6", packets, bytes, windowstart, windowend, action="REJECT", flowlogstatus]"#;
    let records = [
        "2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 22 6 1 40 1563108188 1563108227 REJECT OK",
        "2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 22 6 1 40 1563108188 1563108227 ACCEPT OK",
        "2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 3389 6 1 40 1563108188 1563108227 REJECT OK",
        "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
    ];
    assert_eq!(count(pattern, &records), 1);
    let p = FilterPattern::parse(pattern).unwrap();
    let fields = p.matches(records[0]).unwrap();
    assert!(fields.contains(&("bytes", "40")));
}

#[test]
fn patterns_vpcform_does_not_evaluate_are_refused_with_a_position() {
    for (pattern, offset) in [
        ("{ $.x = 1 }", 0),
        ("  %ERR.*%", 2),
        ("[a, b > x]", 4),
        ("[a, b", 4),
        ("[a, b = 1 c]", 4),
        ("[a, b = 1 || c = 2]", 4),
    ] {
        let e = FilterPattern::parse(pattern).expect_err(pattern);
        assert_eq!(e.offset, offset, "{pattern}: {e}");
    }
}

#[test]
fn term_patterns_that_cannot_be_meant_are_refused_where_they_go_wrong() {
    let err = |p: &str| FilterPattern::parse(p).unwrap_err();
    assert_eq!(err("\"REJECT").offset, 0);
    assert!(err("\"REJECT").message.contains("not closed"));
    let e = err("?REJECT ?");
    assert_eq!((e.offset, e.message.starts_with("`?`")), (8, true));
    let e = err("REJECT -");
    assert_eq!((e.offset, e.message.starts_with("`-`")), (7, true));
    assert!(FilterPattern::parse("?REJECT ?ACCEPT -NODATA").is_ok());
}
