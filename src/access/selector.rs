//! Camera selectors: how a grant names the cameras it covers.
//!
//! The grammar has one reading for every string, so a grant can never cover
//! more than its issuer read it to cover:
//!
//! | selector          | covers                                                    |
//! |-------------------|-----------------------------------------------------------|
//! | `*`               | every camera, and the store as a whole (store-wide acts)  |
//! | `PREFIX*`         | every camera whose id starts with PREFIX                  |
//! | `label:KEY=VALUE` | every camera whose label KEY is exactly VALUE             |
//! | `id:ID`           | the camera whose id is exactly ID (any valid camera id)   |
//! | `ID`              | the camera whose id is exactly ID                         |
//!
//! A bare `ID` or `PREFIX` may not contain any of `* ? [ ] : =`: those
//! characters either have a meaning here or had one in earlier versions
//! (globs, `key=value` labels), so a selector using them another way is
//! refused at issue time instead of being read differently than meant. A
//! camera whose id holds such a character is named with `id:` (`id:gate*`,
//! `id:10.0.0.7:554`). Matching is exact and case-sensitive.

use std::collections::BTreeMap;

use crate::camera::validate_camera_id;

/// Characters a bare id or prefix may not hold (see the module comment).
pub const RESERVED: [char; 6] = ['*', '?', '[', ']', ':', '='];

/// The selector that makes a grant store-wide.
pub const ALL: &str = "*";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// `*`: every camera and the store itself.
    All,
    Prefix(String),
    Label {
        key: String,
        value: String,
    },
    Exact(String),
}

impl Selector {
    /// Parses one selector, or says what is wrong with it and how to write it.
    pub fn parse(text: &str) -> std::result::Result<Selector, String> {
        if text == ALL {
            return Ok(Selector::All);
        }
        if let Some(rest) = text.strip_prefix("label:") {
            return parse_label(text, rest);
        }
        if let Some(id) = text.strip_prefix("id:") {
            validate_camera_id(id).map_err(|e| format!("camera selector {text:?}: {e}"))?;
            return Ok(Selector::Exact(id.to_string()));
        }
        let (body, prefix) = match text.strip_suffix('*') {
            Some(p) => (p, true),
            None => (text, false),
        };
        if let Some(c) = body.chars().find(|c| RESERVED.contains(c)) {
            return Err(format!(
                "camera selector {text:?} uses {c:?}, which only means something in `*`, `PREFIX*` (one \
                 trailing *), `label:KEY=VALUE` and `id:ID`; write a camera whose id holds it as \"id:{text}\", \
                 a label as \"label:KEY=VALUE\""
            ));
        }
        if prefix {
            if body.chars().any(char::is_control) || body.trim() != body {
                return Err(format!(
                    "camera selector {text:?}: the prefix has control characters or edge spaces"
                ));
            }
            return Ok(Selector::Prefix(body.to_string()));
        }
        validate_camera_id(body).map_err(|e| format!("camera selector {text:?}: {e}"))?;
        Ok(Selector::Exact(body.to_string()))
    }

    /// Whether this selector covers `camera`, whose labels are `labels`.
    pub fn covers(&self, camera: &str, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Selector::All => true,
            Selector::Prefix(p) => camera.starts_with(p.as_str()),
            Selector::Label { key, value } => labels.get(key).is_some_and(|v| v == value),
            Selector::Exact(id) => camera == id,
        }
    }
}

fn parse_label(text: &str, rest: &str) -> std::result::Result<Selector, String> {
    match rest.split_once('=') {
        Some((key, value)) if !key.is_empty() && !text.chars().any(char::is_control) => {
            Ok(Selector::Label { key: key.to_string(), value: value.to_string() })
        }
        _ => Err(format!("camera selector {text:?}: a label selector is written label:KEY=VALUE")),
    }
}

/// Whether `text` covers `camera`; a selector that does not parse covers
/// nothing (a token signed before the grammar was tightened fails closed).
pub fn covers(text: &str, camera: &str, labels: &BTreeMap<String, String>) -> bool {
    Selector::parse(text).is_ok_and(|s| s.covers(camera, labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(s: &str) -> Selector {
        Selector::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn each_form_reads_one_way() {
        assert_eq!(parsed("*"), Selector::All);
        assert_eq!(parsed("3402*"), Selector::Prefix("3402".into()));
        assert_eq!(
            parsed("label:area=district-3"),
            Selector::Label { key: "area".into(), value: "district-3".into() }
        );
        assert_eq!(parsed("label:k=a=b"), Selector::Label { key: "k".into(), value: "a=b".into() });
        assert_eq!(parsed("34020000001320000001"), Selector::Exact("34020000001320000001".into()));
        assert_eq!(parsed("front door"), Selector::Exact("front door".into()));
        assert_eq!(parsed("id:gate*"), Selector::Exact("gate*".into()));
        assert_eq!(parsed("id:label:a=b"), Selector::Exact("label:a=b".into()));
        assert_eq!(parsed("id:10.0.0.7:554"), Selector::Exact("10.0.0.7:554".into()));
    }

    #[test]
    fn ambiguous_or_old_spellings_are_refused() {
        for bad in [
            "area=district-3",
            "gate-?",
            "cam[12]",
            "a*b",
            "**",
            "gate*x*",
            "10.0.0.7:554",
            "lable:area=x",
            "label:",
            "label:=x",
            "label:area",
            "id:",
            "id: x",
            "",
            " x",
            "a\nb",
        ] {
            assert!(Selector::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn matching_is_exact() {
        let none = BTreeMap::new();
        let labels = BTreeMap::from([("area".to_string(), "district-3".to_string())]);
        assert!(covers("3402*", "34020000001320000001", &none));
        assert!(!covers("3402*", "3403", &none));
        assert!(covers("id:gate*", "gate*", &none));
        assert!(!covers("id:gate*", "gate-1", &none), "id: is never a prefix");
        assert!(!covers("gate", "gate-1", &none));
        assert!(covers("label:area=district-3", "x", &labels));
        assert!(!covers("label:area=district", "x", &labels));
        assert!(!covers("area=district-3", "x", &labels), "the old label spelling covers nothing");
        assert!(!covers("cam?", "cam1", &none), "old globs cover nothing");
    }
}
