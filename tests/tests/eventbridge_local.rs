//! The local cloud's EventBridge: event patterns matched as EventBridge matches them (the
//! examples of "Content filtering in Amazon EventBridge event patterns" and "Arrays in
//! EventBridge event patterns", EventBridge user guide), and schedule expressions as
//! EventBridge reads them (the examples of "Cron expressions" and "Rate expressions",
//! EventBridge Scheduler user guide).

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use svless_local::events::{EventPattern, Schedule};

fn pattern(p: Value) -> EventPattern {
    EventPattern::parse(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// The example event of "Content filtering" (an EC2 state change with extra fields).
fn event() -> Value {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "111122223333",
        "time": "2017-12-22T18:43:48Z",
        "region": "us-west-1",
        "resources": [
            "arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"
        ],
        "detail": {
            "instance-id": "i-1234567890abcdef0",
            "state": "terminated",
            "c-count": 5,
            "d-count": 7,
            "x-limit": 301.8,
            "source-ip": "10.0.0.123",
            "location": "us-west-1a",
            "tags": ["prod", "web"],
            "responseElements": null,
            "eventVersion": ""
        }
    })
}

#[test]
fn the_documented_content_filters_match_as_documented() {
    let cases: Vec<(Value, bool)> = vec![
        // Prefix matching.
        (json!({"time": [{"prefix": "2017-12-22"}]}), true),
        (json!({"time": [{"prefix": "2017-12-23"}]}), false),
        (
            json!({"detail": {"state": [{"prefix": {"equals-ignore-case": "TERM"}}]}}),
            true,
        ),
        // Suffix matching.
        (json!({"detail": {"location": [{"suffix": "1a"}]}}), true),
        (
            json!({"detail": {"location": [{"suffix": {"equals-ignore-case": "1A"}}]}}),
            true,
        ),
        // Anything-but matching.
        (
            json!({"detail": {"state": [{"anything-but": "initializing"}]}}),
            true,
        ),
        (
            json!({"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}}),
            false,
        ),
        (json!({"detail": {"c-count": [{"anything-but": 5}]}}), false),
        (
            json!({"detail": {"state": [{"anything-but": {"prefix": "term"}}]}}),
            false,
        ),
        (
            json!({"detail": {"state": [{"anything-but": {"suffix": "ated"}}]}}),
            false,
        ),
        (
            json!({"detail": {"state": [{"anything-but": {"equals-ignore-case": ["RUNNING"]}}]}}),
            true,
        ),
        // Anything-but does not match an absent field.
        (
            json!({"detail": {"missing": [{"anything-but": "x"}]}}),
            false,
        ),
        // Numeric matching.
        (
            json!({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"numeric": ["=", 3.018e2]}]}}),
            true,
        ),
        (
            json!({"detail": {"c-count": [{"numeric": [">", 5]}]}}),
            false,
        ),
        // Numbers compare as numbers.
        (json!({"detail": {"c-count": [5.0]}}), true),
        // IP address matching.
        (
            json!({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}),
            true,
        ),
        (
            json!({"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}),
            false,
        ),
        // Exists matching.
        (json!({"detail": {"c-count": [{"exists": true}]}}), true),
        (json!({"detail": {"missing": [{"exists": false}]}}), true),
        (json!({"detail": {"c-count": [{"exists": false}]}}), false),
        // Equals-ignore-case.
        (
            json!({"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]}),
            true,
        ),
        // Wildcard.
        (
            json!({"resources": [{"wildcard": "arn:aws:ec2:*:123456789012:instance/*"}]}),
            true,
        ),
        (
            json!({"resources": [{"wildcard": "arn:aws:ec2:*:999999999999:instance/*"}]}),
            false,
        ),
        // $or.
        (
            json!({"$or": [{"detail": {"c-count": [{"numeric": [">", 10]}]}}, {"detail": {"d-count": [{"numeric": ["<", 10]}]}}]}),
            true,
        ),
        (
            json!({"$or": [{"detail": {"c-count": [{"numeric": [">", 10]}]}}, {"detail": {"d-count": [{"numeric": [">", 10]}]}}]}),
            false,
        ),
        // Arrays: an event array matches if any of its elements does.
        (json!({"detail": {"tags": ["web"]}}), true),
        (json!({"detail": {"tags": ["dev", "test"]}}), false),
        (
            json!({"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0", "arn:aws:ec2:us-east-1:111122223333:instance/i-other"]}),
            true,
        ),
        // Null and empty values.
        (json!({"detail": {"responseElements": [null]}}), true),
        (json!({"detail": {"eventVersion": [""]}}), true),
        (json!({"detail": {"eventVersion": [null]}}), false),
        // Every field must match.
        (
            json!({"source": ["aws.ec2"], "detail": {"state": ["running"]}}),
            false,
        ),
        (
            json!({"source": ["aws.ec2"], "detail": {"state": ["running", "terminated"]}}),
            true,
        ),
    ];
    let event = event();
    for (p, expected) in cases {
        assert_eq!(pattern(p.clone()).matches(&event), expected, "{p}");
    }
}

#[test]
fn patterns_eventbridge_refuses_are_refused() {
    for p in [
        json!("aws.ec2"),
        json!({}),
        json!({"source": "aws.ec2"}),
        json!({"source": []}),
        json!({"detail": {"n": [{"numeric": [">>", 1]}]}}),
        json!({"detail": {"n": [{"numeric": [">", "one"]}]}}),
        json!({"detail": {"n": [{"unknown": 1}]}}),
        json!({"detail": {"n": [{"prefix": 1}]}}),
        json!({"detail": {"ip": [{"cidr": "10.0.0.0/33"}]}}),
        json!({"$or": [{"a": ["b"]}]}),
        json!({"detail": {"w": [{"wildcard": "a**b"}]}}),
    ] {
        assert!(EventPattern::parse(&p).is_err(), "{p} should be refused");
    }
}

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("a time")
}

fn next(expression: &str, after: DateTime<Utc>) -> DateTime<Utc> {
    Schedule::parse(expression)
        .unwrap_or_else(|e| panic!("{expression}: {e}"))
        .next_after(after)
        .unwrap_or_else(|| panic!("{expression} never fires"))
}

#[test]
fn the_documented_cron_examples_fire_when_documented() {
    // Monday 30 November 2026, 23:10.
    let now = at(2026, 11, 30, 23, 10);
    // 10:15 AM (UTC) every day.
    assert_eq!(next("cron(15 10 * * ? *)", now), at(2026, 12, 1, 10, 15));
    // 6:00 PM Monday through Friday.
    assert_eq!(
        next("cron(0 18 ? * MON-FRI *)", now),
        at(2026, 12, 1, 18, 0)
    );
    // 8:00 AM on the first day of the month.
    assert_eq!(next("cron(0 8 1 * ? *)", now), at(2026, 12, 1, 8, 0));
    // Every 10 minutes on weekdays.
    assert_eq!(
        next("cron(0/10 * ? * MON-FRI *)", now),
        at(2026, 11, 30, 23, 20)
    );
    // Every 5 minutes between 8:00 AM and 5:55 PM weekdays.
    assert_eq!(
        next("cron(0/5 8-17 ? * MON-FRI *)", now),
        at(2026, 12, 1, 8, 0)
    );
    // 9:00 AM on the first Monday of each month.
    assert_eq!(next("cron(0 9 ? * 2#1 *)", now), at(2026, 12, 7, 9, 0));
    // The last day of the month, and the last Friday.
    assert_eq!(next("cron(0 0 L * ? *)", now), at(2026, 12, 31, 0, 0));
    assert_eq!(next("cron(0 0 ? * 6L *)", now), at(2026, 12, 25, 0, 0));
    // The weekday nearest the 5th: 5 December 2026 is a Saturday, so Friday the 4th.
    assert_eq!(next("cron(0 0 5W * ? *)", now), at(2026, 12, 4, 0, 0));
    // Names and lists; a year.
    assert_eq!(
        next("cron(30 6 ? JAN,JUL SAT 2027)", now),
        at(2027, 1, 2, 6, 30)
    );
    // A minute exactly on the schedule is not "after" it.
    assert_eq!(next("cron(10 23 * * ? *)", now), at(2026, 12, 1, 23, 10));
    // Rates count from the time given.
    assert_eq!(next("rate(5 minutes)", now), at(2026, 11, 30, 23, 15));
    assert_eq!(next("rate(1 day)", now), at(2026, 12, 1, 23, 10));
    // A schedule whose years are over never fires again.
    assert_eq!(
        Schedule::parse("cron(0 0 1 1 ? 2020)")
            .expect("valid")
            .next_after(now),
        None
    );
}

#[test]
fn schedule_expressions_eventbridge_refuses_are_refused() {
    for expression in [
        "rate(1 minutes)",
        "rate(5 minute)",
        "rate(0 minutes)",
        "rate(-1 hours)",
        "rate(5 weeks)",
        "cron(0 12 * * * *)",
        "cron(0 12 ? * ? *)",
        "cron(60 12 * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 12 32 * ? *)",
        "cron(0 12 * 13 ? *)",
        "cron(0 12 ? * 8 *)",
        "cron(0 12 ? * MON#6 *)",
        "cron(0 12 * * ?)",
        "cron(0 12 * * ? 1969)",
        "every day",
    ] {
        assert!(
            Schedule::parse(expression).is_err(),
            "{expression} should be refused"
        );
    }
}
