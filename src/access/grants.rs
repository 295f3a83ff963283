//! Access grants: signed tokens that say which principal may do what, to
//! which cameras, over which footage, for how long and for which case, and
//! the check of a request against them.
//!
//! The library trusts its caller to have authenticated the principal; a
//! grant binds what that principal may do. Tokens are signed with the
//! store's admin key (Ed25519, kept in the keystore), so a token cannot be
//! widened, forged, or used on another store. Token layout: docs/FORMAT.md,
//! section 7.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use serde_json::{json, Value};

use crate::access::selector::{self, Selector};
use crate::error::{Error, Result};
use crate::time::{TimeRange, Timestamp};

pub const TOKEN_PREFIX: &str = "vvg1";

/// Everything a principal can be granted.
pub const ACTIONS: [&str; 7] =
    ["view_redacted", "view_raw", "export", "export_raw", "hold", "manage", "audit_read"];

/// Actions that act on a camera's whole timeline (or the store's), never on
/// a stretch of footage: a grant with a footage window cannot allow them.
pub fn is_timeline_wide(action: &str) -> bool {
    action == "manage" || action == "audit_read"
}

/// Actions that hand footage out of the system need a named approver.
pub fn needs_approver(action: &str) -> bool {
    action == "export" || action == "export_raw"
}

/// The stronger action whose grant also allows `action`. Whoever may see or
/// export footage unredacted may see or export the same footage redacted:
/// it reveals strictly less, under the same approval. The audit entry still
/// names the action actually taken.
pub fn implied_by(action: &str) -> Option<&'static str> {
    match action {
        "view_redacted" => Some("view_raw"),
        "export" => Some("export_raw"),
        _ => None,
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    pub store_id: String,
    pub principal: String,
    pub actions: Vec<String>,
    /// Camera selectors (access/selector.rs): `*` (every camera and the
    /// store itself), `PREFIX*`, `label:KEY=VALUE`, `id:ID` or a plain id.
    pub cameras: Vec<String>,
    /// The footage the grant covers: `[footage_from, footage_to)`.
    pub footage_from: Option<Timestamp>,
    pub footage_to: Option<Timestamp>,
    pub valid_from: Timestamp,
    pub valid_until: Timestamp,
    pub case: String,
    pub purpose: String,
    pub approver: Option<String>,
    pub issued_at: Timestamp,
    pub issued_by: String,
}

impl Grant {
    /// Rejects grants that could never be used as meant.
    pub fn validate(&self) -> Result<()> {
        if self.principal.trim().is_empty() {
            return Err(Error::invalid("a grant needs a principal"));
        }
        if self.actions.is_empty() {
            return Err(Error::invalid(format!("a grant needs actions, from: {}", ACTIONS.join(", "))));
        }
        if let Some(a) = self.actions.iter().find(|a| !ACTIONS.contains(&a.as_str())) {
            return Err(Error::invalid(format!("unknown action {a:?}; actions are: {}", ACTIONS.join(", "))));
        }
        if self.cameras.is_empty() {
            return Err(Error::invalid(
                "a grant needs cameras: ids, prefixes like 3402*, labels like label:area=x, or * for the whole store",
            ));
        }
        for c in &self.cameras {
            Selector::parse(c).map_err(Error::invalid)?;
        }
        if self.valid_until <= self.valid_from {
            return Err(Error::invalid("the grant's validity period is empty"));
        }
        if let (Some(f), Some(t)) = (self.footage_from, self.footage_to) {
            if t <= f {
                return Err(Error::invalid("the grant's footage window is empty"));
            }
        }
        if let Some(a) = self.actions.iter().find(|a| is_timeline_wide(a)) {
            if self.footage_from.is_some() || self.footage_to.is_some() {
                return Err(Error::invalid(format!(
                    "{a:?} acts on whole cameras (or the whole store), so a footage window cannot apply to it; \
                     issue it in a grant without footage_from/footage_to"
                )));
            }
        }
        if self.actions.iter().any(|a| needs_approver(a))
            && self.approver.as_deref().is_none_or(|a| a.trim().is_empty())
        {
            return Err(Error::invalid("export grants need an approver"));
        }
        if self.case.trim().is_empty() {
            return Err(Error::invalid("a grant needs a case or purpose reference"));
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        json!({
            "v": 1, "id": self.id, "store": self.store_id, "principal": self.principal,
            "actions": self.actions, "cameras": self.cameras,
            "footage_from": self.footage_from.map(|t| t.0), "footage_to": self.footage_to.map(|t| t.0),
            "valid_from": self.valid_from.0, "valid_until": self.valid_until.0,
            "case": self.case, "purpose": self.purpose, "approver": self.approver,
            "issued_at": self.issued_at.0, "issued_by": self.issued_by,
        })
    }

    fn from_json(v: &Value) -> Option<Grant> {
        let strings = |k: &str| -> Option<Vec<String>> {
            v[k].as_array()?.iter().map(|x| x.as_str().map(str::to_string)).collect()
        };
        (v["v"].as_i64()? == 1).then_some(())?;
        Some(Grant {
            id: v["id"].as_str()?.into(),
            store_id: v["store"].as_str()?.into(),
            principal: v["principal"].as_str()?.into(),
            actions: strings("actions")?,
            cameras: strings("cameras")?,
            footage_from: v["footage_from"].as_i64().map(Timestamp),
            footage_to: v["footage_to"].as_i64().map(Timestamp),
            valid_from: Timestamp(v["valid_from"].as_i64()?),
            valid_until: Timestamp(v["valid_until"].as_i64()?),
            case: v["case"].as_str()?.into(),
            purpose: v["purpose"].as_str().unwrap_or_default().into(),
            approver: v["approver"].as_str().map(str::to_string),
            issued_at: Timestamp(v["issued_at"].as_i64()?),
            issued_by: v["issued_by"].as_str().unwrap_or_default().into(),
        })
    }

    /// Whether the grant names `action`, or the stronger action implying it.
    pub fn allows(&self, action: &str) -> bool {
        self.actions.iter().any(|a| a == action || implied_by(action) == Some(a.as_str()))
    }

    fn covers_camera(&self, camera: &str, labels: &BTreeMap<String, String>) -> bool {
        self.cameras.iter().any(|sel| selector::covers(sel, camera, labels))
    }

    /// A store-wide grant: selector `*` and no footage window.
    fn covers_store(&self) -> bool {
        self.cameras.iter().any(|c| c == selector::ALL) && self.has_no_window()
    }

    fn has_no_window(&self) -> bool {
        self.footage_from.is_none() && self.footage_to.is_none()
    }

    /// `None`: the camera's whole timeline, which only a grant without a
    /// footage window covers.
    fn covers_footage(&self, r: Option<&TimeRange>) -> bool {
        match r {
            Some(r) => {
                self.footage_from.is_none_or(|f| r.start >= f) && self.footage_to.is_none_or(|t| r.end <= t)
            }
            None => self.has_no_window(),
        }
    }

    /// Selectors of this grant that no longer parse (a token signed before
    /// the selector grammar was tightened): they cover nothing.
    fn invalid_selectors(&self) -> Vec<String> {
        self.cameras.iter().filter_map(|c| Selector::parse(c).err()).collect()
    }
}

/// `vvg1.<base64url(canonical JSON)>.<base64url(Ed25519 signature)>`; the
/// signature covers `vvg1.<payload>`.
pub fn encode_token(grant: &Grant, admin: &SigningKey) -> String {
    // serde_json orders object keys, so the payload is canonical.
    let payload = URL_SAFE_NO_PAD.encode(grant.to_json().to_string());
    let signed = format!("{TOKEN_PREFIX}.{payload}");
    let sig = admin.sign(signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}

/// Why a token is not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    Malformed,
    BadSignature,
    OtherStore(String),
    NotYetValid(Timestamp),
    Expired(Timestamp),
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::Malformed => write!(f, "not a vidvault grant token"),
            Rejection::BadSignature => {
                write!(f, "its signature does not verify (altered, or not issued by this store's admin key)")
            }
            Rejection::OtherStore(s) => write!(f, "it was issued for store {s}"),
            Rejection::NotYetValid(t) => write!(f, "it is not valid before {t}"),
            Rejection::Expired(t) => write!(f, "it expired at {t}"),
        }
    }
}

/// Decodes and checks a token: signature, store and validity period at `now`.
pub fn decode_token(
    token: &str,
    admin: &VerifyingKey,
    store_id: &str,
    now: Timestamp,
) -> std::result::Result<Grant, Rejection> {
    let token = token.trim();
    let mut parts = token.split('.');
    let (Some(TOKEN_PREFIX), Some(payload), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Rejection::Malformed);
    };
    let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| Rejection::Malformed)?;
    let sig = ed25519_dalek::Signature::from_slice(&sig).map_err(|_| Rejection::Malformed)?;
    admin
        .verify(format!("{TOKEN_PREFIX}.{payload}").as_bytes(), &sig)
        .map_err(|_| Rejection::BadSignature)?;
    let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| Rejection::Malformed)?;
    let value: Value = serde_json::from_slice(&json).map_err(|_| Rejection::Malformed)?;
    let grant = Grant::from_json(&value).ok_or(Rejection::Malformed)?;
    if grant.store_id != store_id {
        return Err(Rejection::OtherStore(grant.store_id));
    }
    if now < grant.valid_from {
        return Err(Rejection::NotYetValid(grant.valid_from));
    }
    if now >= grant.valid_until {
        return Err(Rejection::Expired(grant.valid_until));
    }
    Ok(grant)
}

/// What a request is about. There is no "unscoped" request: every check
/// names a camera or the whole store.
#[derive(Clone, Debug)]
pub enum Scope<'a> {
    /// The store as a whole: a sweep over every camera, the whole audit log,
    /// a hold whose camera is unknown. Only a store-wide grant (`*`, no
    /// footage window) covers it.
    Store,
    /// One camera, over `footage`; `None` is its whole timeline (settings,
    /// its audit entries), which only a grant without a footage window covers.
    Camera { id: &'a str, labels: &'a BTreeMap<String, String>, footage: Option<TimeRange> },
}

/// One thing a principal wants to do.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    pub principal: &'a str,
    pub action: &'a str,
    pub scope: Scope<'a>,
}

/// The grant that allows `req`, or why none does (naming what is missing).
pub fn check<'g>(grants: &'g [Grant], req: &Request) -> std::result::Result<&'g Grant, String> {
    let mine: Vec<&Grant> = grants.iter().filter(|g| g.principal == req.principal).collect();
    if mine.is_empty() {
        return Err(if grants.is_empty() {
            format!("no grant presented; {:?} needs a grant for {:?}", req.principal, req.action)
        } else {
            format!("the grants presented are for other principals, not {:?}", req.principal)
        });
    }
    let with_action: Vec<&Grant> = mine.iter().copied().filter(|g| g.allows(req.action)).collect();
    if with_action.is_empty() {
        return Err(format!("no grant of {:?} allows {:?}", req.principal, req.action));
    }
    let g = match &req.scope {
        Scope::Store => with_action.iter().copied().find(|g| g.covers_store()).ok_or_else(|| {
            format!(
                "no grant of {:?} for {:?} covers the whole store (store-wide actions need a grant for \
                 cameras [\"*\"] without a footage window)",
                req.principal, req.action
            )
        })?,
        Scope::Camera { id, labels, footage } => {
            let with_camera: Vec<&Grant> =
                with_action.iter().copied().filter(|g| g.covers_camera(id, labels)).collect();
            if with_camera.is_empty() {
                return Err(camera_denial(req, id, &with_action));
            }
            with_camera
                .iter()
                .copied()
                .find(|g| g.covers_footage(footage.as_ref()))
                .ok_or_else(|| footage_denial(req, id, footage.as_ref()))?
        }
    };
    if needs_approver(req.action) && g.approver.as_deref().is_none_or(|a| a.trim().is_empty()) {
        return Err(format!("grant {} allows {:?} but names no approver", g.id, req.action));
    }
    Ok(g)
}

fn camera_denial(req: &Request, camera: &str, grants: &[&Grant]) -> String {
    let mut why = format!("no grant of {:?} for {:?} covers camera {camera:?}", req.principal, req.action);
    for g in grants {
        for e in g.invalid_selectors() {
            why.push_str(&format!("; grant {} covers no camera through {e}", g.id));
        }
    }
    why
}

fn footage_denial(req: &Request, camera: &str, footage: Option<&TimeRange>) -> String {
    match footage {
        Some(r) => format!(
            "no grant of {:?} for {:?} on {camera:?} covers footage {} .. {}",
            req.principal, req.action, r.start, r.end
        ),
        None => format!(
            "no grant of {:?} for {:?} on {camera:?} covers footage of all time ({:?} acts on the camera's \
             whole timeline; a grant with a footage window does not allow it)",
            req.principal, req.action, req.action
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000_000;

    fn grant(actions: &[&str], cameras: &[&str]) -> Grant {
        Grant {
            id: "g-1".into(),
            store_id: "s".into(),
            principal: "officer.wang".into(),
            actions: actions.iter().map(|s| s.to_string()).collect(),
            cameras: cameras.iter().map(|s| s.to_string()).collect(),
            footage_from: Some(Timestamp(10 * DAY)),
            footage_to: Some(Timestamp(11 * DAY)),
            valid_from: Timestamp(0),
            valid_until: Timestamp(100 * DAY),
            case: "CASE-1".into(),
            purpose: "investigation".into(),
            approver: Some("chief.li".into()),
            issued_at: Timestamp(0),
            issued_by: "admin".into(),
        }
    }

    #[test]
    fn tokens_round_trip_and_resist_tampering() {
        let admin = SigningKey::from_bytes(&[3; 32]);
        let g = grant(&["view_raw"], &["3402*"]);
        let t = encode_token(&g, &admin);
        let vk = admin.verifying_key();
        assert_eq!(decode_token(&t, &vk, "s", Timestamp(DAY)).unwrap(), g);
        assert_eq!(decode_token(&t, &vk, "other", Timestamp(DAY)), Err(Rejection::OtherStore("s".into())));
        assert!(matches!(decode_token(&t, &vk, "s", Timestamp(200 * DAY)), Err(Rejection::Expired(_))));
        // Widening the grant in the payload breaks the signature.
        let mut wider = g.clone();
        wider.cameras = vec!["*".into()];
        let forged_payload = URL_SAFE_NO_PAD.encode(wider.to_json().to_string());
        let parts: Vec<&str> = t.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(decode_token(&forged, &vk, "s", Timestamp(DAY)), Err(Rejection::BadSignature));
        let other = SigningKey::from_bytes(&[4; 32]).verifying_key();
        assert_eq!(decode_token(&t, &other, "s", Timestamp(DAY)), Err(Rejection::BadSignature));
        assert_eq!(decode_token("junk", &vk, "s", Timestamp(DAY)), Err(Rejection::Malformed));
    }

    fn on_camera<'a>(
        action: &'a str,
        camera: &'a str,
        labels: &'a BTreeMap<String, String>,
        footage: Option<(i64, i64)>,
    ) -> Request<'a> {
        Request {
            principal: "officer.wang",
            action,
            scope: Scope::Camera {
                id: camera,
                labels,
                footage: footage.map(|(s, e)| TimeRange::new(Timestamp(s), Timestamp(e))),
            },
        }
    }

    #[test]
    fn checks_name_what_is_missing() {
        let labels = BTreeMap::from([("area".to_string(), "district-3".to_string())]);
        let grants = vec![grant(&["view_raw", "export_raw"], &["3402*", "label:area=district-3"])];
        let req = |action, camera, s: i64, e: i64| on_camera(action, camera, &labels, Some((s, e)));
        assert!(check(&grants, &req("view_raw", "34020000001320000001", 10 * DAY, 10 * DAY + 5)).is_ok());
        assert!(check(&grants, &req("view_raw", "gate", 10 * DAY, 10 * DAY + 5)).is_ok(), "by label");
        let no_labels = BTreeMap::new();
        let r = on_camera("view_raw", "gate", &no_labels, Some((10 * DAY, 10 * DAY + 5)));
        assert!(check(&grants, &r).unwrap_err().contains("covers camera"));
        assert!(check(&grants, &req("hold", "34020000001320000001", 10 * DAY, 10 * DAY + 5))
            .unwrap_err()
            .contains("allows \"hold\""));
        assert!(check(&grants, &req("view_raw", "34020000001320000001", 9 * DAY, 10 * DAY + 5))
            .unwrap_err()
            .contains("covers footage"));
        let mut r = req("view_raw", "34020000001320000001", 10 * DAY, 10 * DAY + 5);
        r.principal = "someone.else";
        assert!(check(&grants, &r).unwrap_err().contains("other principals"));
        assert!(check(&[], &r).unwrap_err().contains("no grant presented"));
    }

    #[test]
    fn store_wide_requests_need_a_store_wide_grant() {
        let labels = BTreeMap::new();
        let store = |action| Request { principal: "officer.wang", action, scope: Scope::Store };
        let mut one_camera = grant(&["manage", "audit_read"], &["34020000001320000001"]);
        (one_camera.footage_from, one_camera.footage_to) = (None, None);
        let err = check(std::slice::from_ref(&one_camera), &store("manage")).unwrap_err();
        assert!(err.contains("whole store"), "{err}");
        let mut prefix = one_camera.clone();
        prefix.cameras = vec!["3402*".into()];
        assert!(
            check(std::slice::from_ref(&prefix), &store("audit_read")).is_err(),
            "a prefix is not the store"
        );
        let mut windowed = grant(&["view_raw"], &["*"]);
        windowed.actions.push("hold".into());
        assert!(check(std::slice::from_ref(&windowed), &store("hold")).is_err(), "a window is not the store");
        let mut all = one_camera.clone();
        all.cameras = vec!["*".into()];
        assert!(check(std::slice::from_ref(&all), &store("manage")).is_ok());
        // The camera's whole timeline: granted by a camera grant without a window.
        let whole = on_camera("manage", "34020000001320000001", &labels, None);
        assert!(check(std::slice::from_ref(&one_camera), &whole).is_ok());
        let other = on_camera("manage", "34020000001320000002", &labels, None);
        assert!(check(std::slice::from_ref(&one_camera), &other).unwrap_err().contains("covers camera"));
        let timeline = on_camera("view_raw", "34020000001320000001", &labels, None);
        let err = check(&[grant(&["view_raw"], &["3402*"])], &timeline).unwrap_err();
        assert!(err.contains("whole timeline"), "{err}");
    }

    #[test]
    fn selectors_signed_under_the_old_grammar_cover_nothing() {
        let labels = BTreeMap::from([("area".to_string(), "district-3".to_string())]);
        let old = grant(&["view_raw"], &["area=district-3", "3402000000132000000?"]);
        let r = on_camera("view_raw", "34020000001320000001", &labels, Some((10 * DAY, 10 * DAY + 5)));
        let err = check(&[old], &r).unwrap_err();
        assert!(err.contains("covers camera") && err.contains("label:KEY=VALUE"), "{err}");
    }

    #[test]
    fn raw_rights_imply_their_redacted_counterparts_and_not_the_reverse() {
        let labels = BTreeMap::new();
        let req = |action| on_camera(action, "34020000001320000001", &labels, Some((10 * DAY, 10 * DAY + 5)));
        let raw = vec![grant(&["export_raw", "view_raw"], &["3402*"])];
        assert!(check(&raw, &req("export")).is_ok());
        assert!(check(&raw, &req("view_redacted")).is_ok());
        let redacted = vec![grant(&["export", "view_redacted"], &["3402*"])];
        assert!(check(&redacted, &req("export_raw")).unwrap_err().contains("allows \"export_raw\""));
        assert!(check(&redacted, &req("view_raw")).unwrap_err().contains("allows \"view_raw\""));
        // An implied export still needs the grant's approver.
        let mut unapproved = grant(&["export_raw"], &["3402*"]);
        unapproved.approver = None;
        assert!(check(&[unapproved], &req("export")).unwrap_err().contains("no approver"));
    }

    #[test]
    fn validation() {
        let mut g = grant(&["export"], &["*"]);
        g.approver = None;
        assert!(g.validate().unwrap_err().to_string().contains("approver"));
        assert!(grant(&["fly"], &["*"]).validate().is_err());
        assert!(grant(&["view_raw"], &["[bad"]).validate().is_err());
        assert!(grant(&["view_raw"], &["area=district-3"])
            .validate()
            .unwrap_err()
            .to_string()
            .contains("label:"));
        assert!(grant(&["view_raw"], &["id:gate*", "label:area=x", "3402*"]).validate().is_ok());
        let err = grant(&["view_raw", "manage"], &["3402*"]).validate().unwrap_err().to_string();
        assert!(err.contains("footage window"), "{err}");
        let mut whole = grant(&["manage", "audit_read"], &["3402*"]);
        (whole.footage_from, whole.footage_to) = (None, None);
        assert!(whole.validate().is_ok());
    }
}
