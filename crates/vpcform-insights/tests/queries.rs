//! The Logs Insights engine on AWS's documented flow-log records: the seed's
//! four queries, AWS's sample queries for VPC flow logs, and each command
//! and function with the answers Logs Insights gives.

use std::io::BufReader;

use vpcform_insights::{Event, QueryResult, compile, read_input};

fn events() -> Vec<Event> {
    // The runtime value: a test binary reused from a build cache shared by
    // several checkouts keeps the compile-time path of the first one.
    let dir = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string());
    let file = std::fs::File::open(format!("{dir}/tests/data/aws-examples.log")).unwrap();
    read_input(BufReader::new(file), "123456789010:flow-logs", 0)
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn run(query: &str) -> QueryResult {
    compile(query)
        .unwrap_or_else(|e| panic!("{}", e.render(query)))
        .run(events().into_iter())
}

/// Rows as `field=value` lines, for short assertions.
fn table(r: &QueryResult) -> Vec<String> {
    r.rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[test]
fn seed_query_1_all_events_newest_first() {
    let r =
        run("fields @timestamp, srcAddr, dstAddr, action, bytes, protocol | sort @timestamp desc");
    assert_eq!(
        r.fields,
        [
            "@timestamp",
            "srcAddr",
            "dstAddr",
            "action",
            "bytes",
            "protocol"
        ]
    );
    assert_eq!(r.rows.len(), 6);
    assert_eq!(
        table(&r)[0],
        "@timestamp=2015-05-29 16:31:34.000 srcAddr=172.31.16.139 dstAddr=203.0.113.12 action=REJECT bytes=336 protocol=1"
    );
    // NODATA and SKIPDATA records have no addresses: those fields are absent.
    assert!(table(&r).contains(&"@timestamp=2015-05-10 18:01:16.000".to_string()));
    assert_eq!(r.statistics.records_scanned, 6.0);
    assert_eq!(r.statistics.records_matched, 6.0);
}

#[test]
fn seed_query_2_rejected_traffic() {
    let r = run(
        "filter action = 'REJECT' | fields @timestamp, srcAddr, dstAddr, protocol, bytes | sort @timestamp desc",
    );
    assert_eq!(
        table(&r),
        [
            "@timestamp=2015-05-29 16:31:34.000 srcAddr=172.31.16.139 dstAddr=203.0.113.12 protocol=1 bytes=336",
            "@timestamp=2014-12-14 04:06:50.000 srcAddr=172.31.9.69 dstAddr=172.31.9.12 protocol=6 bytes=4249",
        ]
    );
    assert_eq!(r.statistics.records_matched, 2.0);
}

#[test]
fn seed_query_3_traffic_of_two_addresses() {
    let r = run(
        "filter srcAddr = '172.31.16.139' or srcAddr = '203.0.113.12' | fields @timestamp, srcAddr, dstAddr, action, bytes | sort @timestamp desc",
    );
    assert_eq!(r.rows.len(), 3);
    assert_eq!(
        table(&r)[1],
        "@timestamp=2015-05-29 16:30:27.000 srcAddr=203.0.113.12 dstAddr=172.31.16.139 action=ACCEPT bytes=336"
    );
}

#[test]
fn seed_query_4_count_by_protocol() {
    let r = run("stats count() by protocol");
    assert_eq!(r.fields, ["protocol", "count()"]);
    // Records without a protocol (NODATA, SKIPDATA) form their own group.
    assert_eq!(
        table(&r),
        ["protocol=1 count()=2", "protocol=6 count()=2", "count()=2"]
    );
}

#[test]
fn aws_sample_queries_for_vpc_flow_logs() {
    let top = run(
        "stats sum(packets) as packetsTransferred by srcAddr, dstAddr | sort packetsTransferred desc | limit 15",
    );
    assert_eq!(top.rows.len(), 5);
    assert_eq!(
        top.rows[0][2],
        ("packetsTransferred".to_string(), "20".to_string())
    );

    let subnet = run(
        "filter isIpv4InSubnet(srcAddr, \"172.31.0.0/16\") | stats sum(bytes) as bytesTransferred by dstAddr | sort bytesTransferred desc | limit 15",
    );
    assert_eq!(
        table(&subnet),
        [
            "dstAddr=172.31.16.21 bytesTransferred=4249",
            "dstAddr=172.31.9.12 bytesTransferred=4249",
            "dstAddr=203.0.113.12 bytesTransferred=336"
        ]
    );

    let udp = run("filter protocol=17 | stats count(*) by srcAddr");
    assert!(udp.rows.is_empty());

    let skipped = run("filter logStatus=\"SKIPDATA\" | stats count(*) by bin(1h) as t | sort t");
    assert_eq!(table(&skipped), ["t=2015-05-10 18:00:00.000 count(*)=1"]);

    let one_per_connection = run(
        "fields @timestamp, srcAddr, dstAddr, srcPort, dstPort, protocol, bytes | filter interfaceId = 'eni-1235b8ca123456789' | sort @timestamp desc | dedup srcAddr, dstAddr, srcPort, dstPort, protocol | limit 20",
    );
    // The NODATA record lacks the key fields: never a duplicate, kept.
    assert_eq!(one_per_connection.rows.len(), 5);

    let rejects = run(
        "fields @timestamp, @message | filter action=\"REJECT\" | stats count(*) as numRejections by srcAddr | sort numRejections desc | limit 20",
    );
    assert_eq!(
        table(&rejects),
        [
            // Equal counts keep the groups' natural order (9 before 16).
            "srcAddr=172.31.9.69 numRejections=1",
            "srcAddr=172.31.16.139 numRejections=1"
        ]
    );
}

#[test]
fn filter_without_fields_shows_timestamp_and_message() {
    let r = run("filter dstPort = 3389");
    assert_eq!(r.fields, ["@timestamp", "@message"]);
    assert_eq!(r.rows.len(), 1);
    assert!(r.rows[0][1].1.contains("49761 3389"));
}

#[test]
fn display_shows_only_its_fields_and_fields_compute() {
    let r = run(
        "fields bytes / packets as perPacket, concat(srcAddr, ':', srcPort) as source | filter ispresent(srcAddr) | display source, perPacket | sort perPacket desc | limit 2",
    );
    assert_eq!(r.fields, ["source", "perPacket"]);
    assert_eq!(
        table(&r),
        [
            "source=172.31.16.139:20641 perPacket=212.45",
            "source=172.31.9.69:49761 perPacket=212.45"
        ]
    );
}

#[test]
fn aggregates_give_insights_answers() {
    let r = run(
        "filter ispresent(bytes) | stats count(*) as n, count_distinct(srcAddr) as sources, sum(bytes) as total, avg(bytes) as mean, min(bytes) as low, max(bytes) as high, pct(bytes, 50) as median, earliest(srcAddr) as first, latest(srcAddr) as last",
    );
    assert_eq!(
        table(&r),
        [
            "n=4 sources=3 total=9170 mean=2292.5 low=336 high=4249 median=336 first=172.31.16.139 last=172.31.16.139"
        ]
    );
}

#[test]
fn operators_and_functions() {
    let cases = [
        ("filter dstPort in [22, 3389] | stats count(*) as n", "n=2"),
        (
            "filter dstPort not in [22, 3389] and ispresent(dstPort) | stats count(*) as n",
            "n=2",
        ),
        (
            "filter interfaceId like 'b8ca' | stats count(*) as n",
            "n=5",
        ),
        (
            "filter interfaceId like /aaaa$/ | stats count(*) as n",
            "n=1",
        ),
        ("filter srcAddr =~ /^203\\./ | stats count(*) as n", "n=1"),
        ("filter action = 'accept' | stats count(*) as n", "n=0"),
        // A missing field is neither equal nor unequal; either side may be the field.
        (
            "filter srcAddr != '172.31.16.139' | stats count(*) as n",
            "n=2",
        ),
        (
            "filter '172.31.16.139' = srcAddr | stats count(*) as n",
            "n=2",
        ),
        (
            "filter not (srcAddr = '172.31.16.139') | stats count(*) as n",
            "n=4",
        ),
        (
            "filter action like /(?i)accept/ | stats count(*) as n",
            "n=2",
        ),
        (
            "filter bytes > 1000 and bytes <= 4249 | stats count(*) as n",
            "n=2",
        ),
        ("filter not ispresent(srcAddr) | stats count(*) as n", "n=2"),
        (
            "filter isValidIpV4(dstAddr) and strlen(dstAddr) > 11 | stats count(*) as n",
            "n=3",
        ),
        (
            "filter toupper(logStatus) = 'NODATA' | stats count(*) as n",
            "n=1",
        ),
        (
            "fields floor(bytes / 1000) as kb | filter kb = 4 | stats count(*) as n",
            "n=2",
        ),
        (
            "fields coalesce(srcAddr, interfaceId) as who | filter who = 'eni-11111111aaaaaaaaa' | stats count(*) as n",
            "n=1",
        ),
        (
            "fields substr(interfaceId, 0, 4) as prefix | stats count(*) as n by prefix",
            "prefix=eni- n=6",
        ),
        (
            "fields replace(action, 'ACC', 'acc') as a | filter a = 'accEPT' | stats count(*) as n",
            "n=2",
        ),
        (
            "fields `srcAddr` as s | filter s = '172.31.9.69' | stats count(*) as n",
            "n=1",
        ),
        (
            "stats count(*) as n by datefloor(@timestamp, 1d) as day | sort day desc | limit 1",
            "day=2015-05-29 00:00:00.000 n=2",
        ),
        (
            "fields fromMillis(toMillis(@timestamp) + 1000) as later | sort later asc | limit 1 | display later",
            "later=2014-12-14 04:06:51.000",
        ),
        (
            "filter abs(-1 * srcPort) = 20641 | stats count(*) as n",
            "n=1",
        ),
        (
            "stats sum(bytes) as b by bin(1y) as year | sort year",
            "year=2014-01-01 00:00:00.000 b=8498",
        ),
    ];
    for (query, want) in cases {
        let r = run(query);
        assert_eq!(
            table(&r).first().map(String::as_str).unwrap_or("n=0"),
            want,
            "{query}"
        );
    }
}

#[test]
fn parse_with_glob_and_regex() {
    let r = run(
        "parse @message '* * * * * *' as version, account, eni, src, dst, rest | filter src = '203.0.113.12' | display eni, dst",
    );
    assert_eq!(table(&r), ["eni=eni-1235b8ca123456789 dst=172.31.16.139"]);
    let r = run(
        "parse @message /(?<eni>eni-\\w+) (?<src>[\\d.]+)/ | filter ispresent(src) | stats count(*) by eni",
    );
    assert_eq!(table(&r), ["eni=eni-1235b8ca123456789 count(*)=4"]);
}

#[test]
fn limit_and_the_default_order() {
    let r = run("fields srcAddr | limit 2");
    assert_eq!(r.rows.len(), 2);
    // No sort: newest first.
    assert_eq!(r.rows[0][0].1, "172.31.16.139");
}

#[test]
fn errors_point_at_the_column_with_did_you_mean() {
    let cases = [
        ("filtr action = 'REJECT'", 1, "did you mean `filter`?"),
        (
            "filter action = 'REJECT' | stast count()",
            28,
            "did you mean `stats`?",
        ),
        ("fields tolowr(action)", 8, "did you mean `tolower`?"),
        ("filter srcaddr = '10.0.0.1'", 8, "did you mean `srcAddr`?"),
        ("stats count() by dstport", 18, "did you mean `dstPort`?"),
        ("fields count()", 8, "use it in `stats`"),
        ("limit 20000", 7, "1 to 10000"),
        ("filter action = 'REJECT", 17, "not closed"),
        (
            "stats count() | stats count() | stats count()",
            0,
            "at most two stats",
        ),
        (
            "sort @timestamp | dedup srcAddr | fields srcAddr",
            0,
            "only `limit` may follow `dedup`",
        ),
    ];
    for (query, column, text) in cases {
        let e = compile(query).expect_err(query);
        assert_eq!(e.column, column, "{query}: {e}");
        assert!(e.message.contains(text), "{query}: {e}");
    }
}

#[test]
fn filter_log_events_json_is_read_too() {
    let json = r#"{"events": [
        {"logStreamName": "eni-1-all", "timestamp": 1418530010000, "message": "2 1 eni-1 10.0.0.1 10.0.0.2 1 22 6 1 100 1418530010 1418530070 ACCEPT OK", "ingestionTime": 1418530100000, "eventId": "1"},
        {"logStreamName": "eni-1-all", "timestamp": 1418530011000, "message": "2 1 eni-1 10.0.0.3 10.0.0.2 1 22 6 1 50 1418530011 1418530070 REJECT OK", "eventId": "2"}
    ], "searchedLogStreams": []}"#;
    let events: Vec<Event> = read_input(
        BufReader::new(std::io::Cursor::new(json.to_string())),
        "1:g",
        0,
    )
    .unwrap()
    .map(Result::unwrap)
    .collect();
    let r = compile("stats sum(bytes) as b by @logStream")
        .unwrap()
        .run(events.into_iter());
    assert_eq!(table(&r), ["@logStream=eni-1-all b=150"]);
}
