//! Typed query strings: [`Query<T>`] deserializes the query into a struct whose fields are the
//! route's parameters (`#[serde(deny_unknown_fields)]`). An unknown parameter (a misspelt
//! `dryrun`), a repeated one or a malformed value is a 400 problem+json naming it.

use std::collections::HashSet;
use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::Deserialize;

use crate::error::{ApiError, Result};

/// A query string deserialized into `T`. Values reach `T` as strings: fields use
/// [`flag`] or [`whole_number`] (or take strings).
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Query<T>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_query(req.query_string()).map(Query))
    }
}

/// Parses a query string into `T`, checking the names against `T`'s fields first.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query)
        .map_err(|e| ApiError::BadRequest(format!("invalid query string: {e}")))?
        .into_inner();
    let known = field_names::<T>();
    let mut seen = HashSet::new();
    for (name, _) in &pairs {
        if !known.contains(&name.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "unknown query parameter {name:?}; this endpoint takes {}",
                known.join(", ")
            )));
        }
        if !seen.insert(name.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "query parameter {name:?} is given twice"
            )));
        }
    }
    let map = de::value::MapDeserializer::<_, de::value::Error>::new(pairs.into_iter());
    serde_path_to_error::deserialize(map)
        .map_err(|e| ApiError::BadRequest(format!("query parameter {} {}", e.path(), e.inner())))
}

/// A boolean parameter: `true`/`false` or `1`/`0`, in any case.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    let v = String::deserialize(d)?.to_ascii_lowercase();
    match v.as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(de::Error::custom(format!(
            "must be true or false, got {v:?}"
        ))),
    }
}

/// An optional whole-number parameter.
pub fn whole_number<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<u64>, D::Error> {
    let v = String::deserialize(d)?;
    v.parse::<u64>()
        .map(Some)
        .map_err(|_| de::Error::custom(format!("must be a whole number, got {v:?}")))
}

/// An optional text parameter, as given.
pub fn text<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

/// An optional count: a whole number, saturated to `usize`.
pub fn count<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<usize>, D::Error> {
    Ok(whole_number(d)?.map(|n| usize::try_from(n).unwrap_or(usize::MAX)))
}

/// An optional number of days for the stale filters: a whole number from 1 to 3650.
pub fn days<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<flag_sdk::StaleDays>, D::Error> {
    let v = String::deserialize(d)?;
    let n = v.parse::<u64>().map_err(|_| {
        de::Error::custom(format!(
            "must be a whole number of days from 1 to {}, got {v:?}",
            flag_sdk::StaleDays::MAX
        ))
    })?;
    flag_sdk::StaleDays::new(n)
        .map(Some)
        .map_err(de::Error::custom)
}

/// The field names of a struct `T`, as its `Deserialize` implementation declares them.
fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
}

/// A deserializer that only records the field names a struct asks for, then stops.
struct FieldNames<'a>(&'a mut &'static [&'static str]);

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names recorded")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> std::result::Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> std::result::Result<V::Value, Stop> {
        *self.0 = fields;
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Q {
        #[serde(default, deserialize_with = "flag")]
        dry_run: bool,
        #[serde(default, deserialize_with = "whole_number")]
        limit: Option<u64>,
    }

    #[test]
    fn typed_queries() {
        let q: Q = parse_query("dry_run=TRUE&limit=7").unwrap();
        assert!(q.dry_run);
        assert_eq!(q.limit, Some(7));
        let q: Q = parse_query("").unwrap();
        assert!(!q.dry_run);
        assert_eq!(q.limit, None);
        let e = parse_query::<Q>("dry_run=maybe").unwrap_err().to_string();
        assert!(e.contains("dry_run must be true or false"), "{e}");
        let e = parse_query::<Q>("limit=ten").unwrap_err().to_string();
        assert!(e.contains("limit must be a whole number"), "{e}");
        let e = parse_query::<Q>("dryrun=1").unwrap_err().to_string();
        assert!(
            e.contains("unknown query parameter \"dryrun\"; this endpoint takes dry_run, limit"),
            "{e}"
        );
        let e = parse_query::<Q>("limit=1&limit=2").unwrap_err().to_string();
        assert!(e.contains("given twice"), "{e}");
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct D {
        #[serde(default, deserialize_with = "days")]
        within: Option<flag_sdk::StaleDays>,
    }

    #[test]
    fn days_from_one_to_ten_years() {
        let q: D = parse_query("within=30").unwrap();
        assert_eq!(q.within.map(|d| d.get()), Some(30));
        assert!(parse_query::<D>("").unwrap().within.is_none());
        for bad in ["0", "3651", "-1", "7d", ""] {
            let e = parse_query::<D>(&format!("within={bad}"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("within must be a whole number of days from 1 to 3650"),
                "{bad}: {e}"
            );
        }
    }
}
