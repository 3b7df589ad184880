//! grace's JSON log (docs/logging.md), the documented interface the tests
//! read what grace did from, never its wording; and JSON read strictly.

use std::process::Command;

/// A JSON string literal, for the JSON and YAML the tests write and read.
pub fn json_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string is always JSON")
}

/// Makes grace write JSON log lines: tests that need to know what grace
/// did read those fields, the documented interface (docs/logging.md), not
/// its messages, whose wording may change.
pub fn json_log(command: &mut Command) {
    command.env("GRACE_LOG_FORMAT", "json");
}

/// grace's JSON log lines, read; a line still being written is left for
/// the next read. The processes grace runs share its stderr: lines that are
/// not JSON objects are theirs. One of grace's that is not valid JSON, or
/// that gives a key twice, fails the test.
pub fn log_events(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .split_inclusive('\n')
        .filter(|line| line.ends_with('\n') && line.starts_with('{'))
        .map(|line| parse_json(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect()
}

/// The events named `event`, in order.
pub fn named(stderr: &str, event: &str) -> Vec<serde_json::Value> {
    log_events(stderr)
        .into_iter()
        .filter(|line| line["event"] == event)
        .collect()
}

/// The `service` field of each `event`, in order.
pub fn services_of(stderr: &str, event: &str) -> Vec<String> {
    named(stderr, event)
        .iter()
        .map(|line| line["service"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// Whether grace's JSON log has a line for `event` with each of `fields`.
pub fn has_event(stderr: &str, event: &str, fields: &[(&str, serde_json::Value)]) -> bool {
    log_events(stderr).iter().any(|line| {
        line["event"] == event && fields.iter().all(|(key, value)| line[*key] == *value)
    })
}

/// JSON text as serde_json reads it, except that a key given twice in one
/// object is an error: serde_json keeps the last, and grace documents its
/// keys as unique (docs/logging.md), so a field written twice must fail.
pub fn parse_json(text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str::<Unique>(text)
        .map(|Unique(value)| value)
        .map_err(|error| error.to_string())
}

struct Unique(serde_json::Value);

impl<'de> serde::Deserialize<'de> for Unique {
    fn deserialize<D: serde::Deserializer<'de>>(reader: D) -> Result<Self, D::Error> {
        reader.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some((key, Unique(value))) = map.next_entry::<String, Unique>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("duplicate key {key:?}")));
            }
            object.insert(key, value);
        }
        Ok(Unique(object.into()))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        let mut items = Vec::new();
        while let Some(Unique(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Unique(items.into()))
    }

    fn visit_bool<E>(self, b: bool) -> Result<Unique, E> {
        Ok(Unique(b.into()))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Unique, E> {
        Ok(Unique(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Unique, E> {
        Ok(Unique(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Unique, E> {
        Ok(Unique(n.into()))
    }

    fn visit_str<E>(self, text: &str) -> Result<Unique, E> {
        Ok(Unique(text.into()))
    }

    fn visit_unit<E>(self) -> Result<Unique, E> {
        Ok(Unique(serde_json::Value::Null))
    }
}

#[test]
fn duplicate_keys_are_refused_at_any_depth() {
    let value = parse_json(r#"{"a":[1,-2.5,true,null,{"b":{}}],"c":"x\"\u00e9\n"}"#).unwrap();
    assert_eq!(value["c"], "x\"é\n");
    assert_eq!(value["a"][1], -2.5);
    for bad in [
        r#"{"a":1,"a":2}"#,
        r#"[{"a":{"b":1,"b":1}}]"#,
        "{\"a\":1,}",
        "{} x",
    ] {
        assert!(parse_json(bad).is_err(), "{bad:?}");
    }
}
