//! Checks that an answer of the server is exactly a `flag_sdk::wire` type.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// Reads `json` (an answer of the server) as a `T` and asserts that `T` writes it back
/// identically: no member is lost, renamed, added or written differently.
#[track_caller]
pub fn round_trip<T: Serialize + DeserializeOwned>(json: &Value) -> T {
    let typed: T = serde_json::from_value(json.clone())
        .unwrap_or_else(|e| panic!("not a {}: {e}\n{json:#}", std::any::type_name::<T>()));
    let back = serde_json::to_value(&typed).expect("serialises");
    assert_eq!(
        &back,
        json,
        "{} does not write back what the server sent",
        std::any::type_name::<T>()
    );
    typed
}
