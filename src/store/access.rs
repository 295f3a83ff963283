//! store/access.rs: `impl Store` for access control and audit: issuing grants, checking a
//! session's request against its grants (every attempt logged), and reading
//! and verifying the audit log. Token rules live in access/grants.rs, the
//! log in access/audit.rs.

use serde_json::json;

use crate::access::audit::{self, AuditEntry, AuditVerification, NewEntry};
use crate::access::grants::{self, Grant, Request, Scope};
use crate::error::{Error, Result};
use crate::keys::{ADMIN_SIGNING_KEY, EXPORT_SIGNING_KEY};
use crate::store::Store;
use crate::time::{TimeRange, Timestamp};

/// The action every principal may take without a grant: desensitized viewing.
pub const DEFAULT_ACTION: &str = "view_redacted";

/// What a request is about: the whole store, or one camera over a stretch
/// of footage (`None`: its whole timeline). Every request names one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target<'a> {
    Store,
    Camera { id: &'a str, footage: Option<TimeRange> },
}

/// A request that was allowed: by which grant, and where it was logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    /// None when the default (desensitized viewing) allowed it.
    pub grant_id: Option<String>,
    /// The footage window of the grant that allowed it (None: unbounded on
    /// that side). Whatever the request reads is clamped to it.
    pub footage_from: Option<Timestamp>,
    pub footage_to: Option<Timestamp>,
    pub audit_seq: u64,
    pub audit_hash: [u8; 32],
}

impl Store {
    /// The Ed25519 key that verifies grant tokens of this store.
    pub fn admin_public_key(&self) -> Result<[u8; 32]> {
        Ok(self.signing_key(ADMIN_SIGNING_KEY)?.verifying_key().to_bytes())
    }

    /// Signs a grant with the admin key and returns its token; the issuance
    /// is audited.
    pub fn issue_grant(&self, mut grant: Grant) -> Result<String> {
        grant.store_id = self.store_id();
        if grant.id.is_empty() {
            grant.id = uuid::Uuid::new_v4().to_string();
        }
        grant.issued_at = Timestamp::now();
        grant.validate()?;
        let token = grants::encode_token(&grant, &self.signing_key(ADMIN_SIGNING_KEY)?);
        self.shared().audit(NewEntry {
            principal: grant.issued_by.clone(),
            action: "grant_issue".into(),
            // An open-ended window is logged with its open side at the end of time,
            // never dropped (a lone bound would otherwise vanish from the log).
            footage: match (grant.footage_from, grant.footage_to) {
                (None, None) => None,
                (from, to) => {
                    Some(TimeRange::new(from.unwrap_or(Timestamp::MIN), to.unwrap_or(Timestamp::MAX)))
                }
            },
            outcome: audit::DONE.into(),
            case: grant.case.clone(),
            grant_id: grant.id.clone(),
            details: json!({
                "to": grant.principal, "actions": grant.actions, "cameras": grant.cameras,
                "valid_from": grant.valid_from.0, "valid_until": grant.valid_until.0,
                "approver": grant.approver, "purpose": grant.purpose,
            })
            .to_string(),
            ..NewEntry::default()
        })?;
        Ok(token)
    }

    /// Checks whether `principal`, holding `tokens`, may do `action` on
    /// `target`, and logs the attempt either way. Denials are
    /// `Error::AccessDenied` naming the missing grant.
    pub fn authorize(
        &self,
        principal: &str,
        tokens: &[String],
        action: &str,
        target: Target<'_>,
        reason: &str,
    ) -> Result<Authorization> {
        if principal.trim().is_empty() {
            return Err(Error::invalid("a session needs a principal name"));
        }
        if !grants::ACTIONS.contains(&action) {
            return Err(Error::invalid(format!("unknown action {action:?}")));
        }
        let (camera, footage) = match target {
            Target::Store => (None, None),
            Target::Camera { id, footage } => (Some(id), footage),
        };
        let labels = match camera {
            // An unknown camera has no labels; the attempt is still logged,
            // and the call that follows an allowed check reports it unknown.
            Some(c) => match self.camera(c) {
                Ok(row) => row.labels,
                Err(Error::UnknownCamera(_)) => Default::default(),
                Err(e) => return Err(e),
            },
            None => Default::default(),
        };
        let (grants, rejected) = self.decode_tokens(tokens)?;
        let scope = match camera {
            Some(id) => Scope::Camera { id, labels: &labels, footage },
            None => Scope::Store,
        };
        let request = Request { principal, action, scope };
        let checked = grants::check(&grants, &request).map(|g| Some(g.clone()));
        // Desensitized viewing of a camera needs no grant; of "the store" it means nothing.
        let decision = match checked {
            Err(_) if action == DEFAULT_ACTION && camera.is_some() => Ok(None),
            other => other,
        };
        let (outcome, why, grant) = match &decision {
            Ok(g) => (
                audit::ALLOWED,
                g.as_ref().map_or("default: desensitized viewing".into(), |_| String::new()),
                g.clone(),
            ),
            Err(e) => {
                let mut why = e.clone();
                if !rejected.is_empty() {
                    why = format!("{why}; {}", rejected.join("; "));
                }
                (audit::DENIED, why, None)
            }
        };
        let entry = self.shared().audit(NewEntry {
            principal: principal.into(),
            action: action.into(),
            camera: camera.map(str::to_string),
            footage,
            outcome: outcome.into(),
            reason: if why.is_empty() { reason.to_string() } else { why.clone() },
            case: grant.as_ref().map(|g| g.case.clone()).unwrap_or_default(),
            grant_id: grant.as_ref().map(|g| g.id.clone()).unwrap_or_default(),
            details: json!({
                "purpose": reason,
                "approver": grant.as_ref().and_then(|g| g.approver.clone()),
                "scope": if camera.is_some() { "camera" } else { "store" },
            })
            .to_string(),
        })?;
        match decision {
            Ok(g) => Ok(Authorization {
                grant_id: g.as_ref().map(|g| g.id.clone()),
                footage_from: g.as_ref().and_then(|g| g.footage_from),
                footage_to: g.as_ref().and_then(|g| g.footage_to),
                audit_seq: entry.seq,
                audit_hash: entry.hash,
            }),
            Err(_) => Err(Error::AccessDenied {
                principal: principal.into(),
                action: action.into(),
                reason: why,
                audit_seq: entry.seq,
            }),
        }
    }

    /// The grant a bearer token carries, checked now (signature, store,
    /// validity period), or why it is refused: for front ends that know a
    /// caller only by the token it presents (`vidvault serve`). Nothing is
    /// logged here; the request that follows is checked and logged by
    /// `authorize`, and a refused token by the front end.
    pub fn verify_grant(&self, token: &str) -> Result<std::result::Result<Grant, String>> {
        let admin = self.signing_key(ADMIN_SIGNING_KEY)?.verifying_key();
        Ok(grants::decode_token(token, &admin, &self.store_id(), Timestamp::now()).map_err(|r| r.to_string()))
    }

    /// The grants among `tokens` that verify now, and why each other one does not.
    fn decode_tokens(&self, tokens: &[String]) -> Result<(Vec<Grant>, Vec<String>)> {
        let admin = self.signing_key(ADMIN_SIGNING_KEY)?.verifying_key();
        let now = Timestamp::now();
        let mut grants = Vec::new();
        let mut rejected = Vec::new();
        for (i, t) in tokens.iter().enumerate() {
            match grants::decode_token(t, &admin, &self.store_id(), now) {
                Ok(g) => grants.push(g),
                Err(r) => rejected.push(format!("grant #{} rejected: {r}", i + 1)),
            }
        }
        Ok((grants, rejected))
    }

    /// Logs something that happened (an export completed, an operator action).
    pub fn audit_record(&self, entry: NewEntry) -> Result<AuditEntry> {
        self.shared().audit(entry)
    }

    pub fn audit_entries(
        &self,
        camera: Option<&str>,
        action: Option<&str>,
        since: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>> {
        self.shared().audit_log().entries(camera, action, since, limit)
    }

    pub fn audit_entry(&self, seq: u64) -> Result<Option<AuditEntry>> {
        self.shared().audit_log().entry(seq)
    }

    pub fn audit_head(&self) -> (u64, [u8; 32]) {
        self.shared().audit_log().head()
    }

    /// Verifies the whole log against this store's own public key.
    pub fn audit_verify(&self) -> Result<AuditVerification> {
        let key = self.signing_key(EXPORT_SIGNING_KEY)?.verifying_key();
        let path = self.shared().audit_log().path().to_path_buf();
        let recorded = self.shared().keystore_guard().audit_head().cloned();
        audit::verify(&path, &key, recorded.as_ref())
    }
}
