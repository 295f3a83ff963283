//! store/replica.rs: `impl Store` for the replica of the store's metadata
//! in the object-storage tier (python/vidvault/tier/replica.py uploads it;
//! the blob format is src/replica.rs). The keys never leave the core: the
//! package hands plaintext in and gets blobs back.

use crate::error::{Error, IoContext, Result};
use crate::replica::{self, KEYSTORE_BLOB, REPLICA_SECRET};
use crate::segment::reader::{Identity, SealState, SegmentFile};
use crate::store::{fsck, row_file, Store};
use crate::SecretKey;

impl Store {
    /// The replica key, created (durably, in the keystore) the first time.
    fn replica_key(&self) -> Result<SecretKey> {
        if let Some(k) = self.shared().keystore_guard().secret(REPLICA_SECRET)? {
            return SecretKey::from_slice(&k);
        }
        let _io = self.shared().keystore_io_guard();
        let mut ks = self.shared().keystore_guard();
        if !ks.has_secret(REPLICA_SECRET) {
            ks.put_secret(REPLICA_SECRET, SecretKey::random()?.expose())?;
        }
        let k = ks.secret(REPLICA_SECRET)?.ok_or_else(|| Error::invalid("replica key not stored"))?;
        SecretKey::from_slice(&k)
    }

    /// The keystore file as it is now (read while no append or rewrite
    /// runs), sealed under the master key as blob `keys.vvk` of snapshot
    /// `seq`. Creates the replica key first, so the snapshot carries it.
    pub fn seal_keystore_replica(&self, seq: u64) -> Result<Vec<u8>> {
        self.replica_key()?;
        let _io = self.shared().keystore_io_guard();
        let ks = self.shared().keystore_guard();
        let bytes = std::fs::read(ks.path()).ctx("read keystore", ks.path())?;
        replica::seal(ks.master_key(), &self.shared().store_id, seq, KEYSTORE_BLOB, &bytes)
    }

    /// The keystore file as it is now (read while no append or rewrite
    /// runs), sealed under the replica key as blob `name` of snapshot `seq`:
    /// a snapshot's *tail* (python/vidvault/tier/replica_tail.py) carries
    /// the day keys created since the snapshot, so footage uploaded after
    /// it can be decrypted by a restore. The replica key comes from the
    /// snapshot's own keystore, which only the master key opens.
    pub fn seal_keystore_tail(&self, seq: u64, name: &str) -> Result<Vec<u8>> {
        if name == KEYSTORE_BLOB {
            return Err(Error::invalid(
                "the snapshot's own keystore blob is sealed by seal_keystore_replica",
            ));
        }
        let key = self.replica_key()?;
        let _io = self.shared().keystore_io_guard();
        let ks = self.shared().keystore_guard();
        let bytes = std::fs::read(ks.path()).ctx("read keystore", ks.path())?;
        replica::seal(&key, &self.shared().store_id, seq, name, &bytes)
    }

    /// `plain` (a copy of a metadata file) sealed under the replica key as
    /// blob `name` of snapshot `seq`.
    pub fn seal_replica_blob(&self, seq: u64, name: &str, plain: &[u8]) -> Result<Vec<u8>> {
        if name == KEYSTORE_BLOB {
            return Err(Error::invalid("the keystore's blob is sealed by seal_keystore_replica"));
        }
        replica::seal(&self.replica_key()?, &self.shared().store_id, seq, name, plain)
    }

    /// Segment ids up to `id` are taken: a restored store's bucket holds
    /// objects of segments its catalog copy does not list (uploaded after
    /// the snapshot), and a new segment under one of their ids would
    /// overwrite that footage in the bucket. Durable in the catalog.
    pub fn reserve_segment_ids_through(&self, id: u64) -> Result<()> {
        self.shared().catalog()?.raise_id_high_water(id)?;
        self.shared().reset_after_rebuild(id);
        Ok(())
    }

    /// Catalogues the sealed segment file at `rel` (a restore downloaded it:
    /// an object uploaded after the snapshot's catalog was taken). The file
    /// must authenticate under this store's keys, name this store in its
    /// header and sit where its own header says it lives; its camera must
    /// be known. Returns the segment id.
    pub fn index_segment_file(&self, rel: &str) -> Result<u64> {
        let path = self.root().join(rel);
        let gap_threshold = self.shared().options.gap_threshold_ns;
        // Lock order everywhere: keystore, then catalog.
        let mut ks = self.shared().keystore_guard();
        let seg = SegmentFile::open(&path, &mut |c, d| ks.kek(c, d), gap_threshold)?;
        let refuse = |detail: String| Error::invalid(format!("segment file {rel}: {detail}; not catalogued"));
        if !matches!(seg.seal, SealState::Sealed) {
            return Err(refuse("it is not sealed".into()));
        }
        let identity = Identity {
            store_id: self.shared().store_id,
            camera: seg.camera().to_string(),
            segment_id: seg.id(),
            kek_day: seg.header.kek_day,
        };
        identity.check(&seg.header, &path)?;
        if row_file::home(seg.camera(), seg.header.kek_day, seg.id()).as_deref() != Some(rel) {
            return Err(refuse(format!(
                "its header says it is segment {} of camera {:?}",
                seg.id(),
                seg.camera()
            )));
        }
        let (row, gaps) = fsck::sealed_row(&seg, rel.to_string(), &path)?;
        let mut catalog = self.shared().catalog()?;
        if catalog.camera(&row.camera)?.is_none() {
            return Err(refuse(format!("camera {:?} is not in the catalog", row.camera)));
        }
        if catalog.segment(row.id)?.is_some() {
            return Err(refuse(format!("segment {} is already catalogued", row.id)));
        }
        // Deleted once (retention, disk pressure): its tombstone stays the truth, the object is not
        // brought back as footage.
        if let Some(t) = catalog.tombstones(&row.camera)?.into_iter().find(|t| t.id == row.id) {
            return Err(refuse(format!(
                "segment {} was deleted ({}); its tombstone stays",
                row.id,
                t.reason.as_str()
            )));
        }
        catalog.insert_sealed_segment(&row, &gaps)?;
        drop(catalog);
        drop(ks);
        self.shared().reset_after_rebuild(row.id);
        Ok(row.id)
    }
}
