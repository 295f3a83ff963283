//! Who may see which footage, and the record of who did. `grants` is the
//! rule (signed, scoped grant tokens and the check of a request against
//! them); `audit` is the hash-chained, signed log every attempt is written
//! to. Neither knows the store: store/access.rs puts them in front of it.

pub mod audit;
pub mod grants;
pub mod selector;
