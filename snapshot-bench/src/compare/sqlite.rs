//! SQLite (the bundled library) in one file: one row per device with its
//! record as a packed nvlist, guest memory as one blob per 1 MiB chunk
//! (all-zero chunks have no row). Default settings: rollback journal,
//! `synchronous = FULL`, so a commit is durable.
//!
//! SQLite decides nothing about the device fields: how a changed struct
//! loads is the record codec's business, here the derive's.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use rusqlite::{params, Connection};

use crate::compare::files;
use crate::compare::schema::{self, Outcomes, SchemaCodec, Shape};
use crate::compare::state::{self, VmState};
use crate::compare::{Format, Spot};

const FILE: &str = "vm.sqlite";
const CHUNK: usize = 1 << 20;

const SCHEMA: &str = "
    CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    CREATE TABLE device(name TEXT PRIMARY KEY, record BLOB NOT NULL);
    CREATE TABLE memory(chunk INTEGER PRIMARY KEY, data BLOB NOT NULL);
";

/// The SQLite file.
pub struct Sqlite;

fn open(dir: &Path) -> Result<Connection> {
    let path = dir.join(FILE);
    Connection::open(&path).with_context(|| format!("opening {}", path.display()))
}

impl Format for Sqlite {
    fn name(&self) -> &'static str {
        "SQLite"
    }

    fn description(&self) -> &'static str {
        "`vm.sqlite`: a row per device (packed nvlist record), a blob row per non-zero 1 MiB memory chunk"
    }

    fn state_bytes(&self, dir: &Path) -> Result<u64> {
        let n: i64 =
            open(dir)?.query_row("SELECT sum(length(record)) FROM device", [], |r| r.get(0))?;
        Ok(u64::try_from(n)?)
    }

    fn save(&self, state: &VmState, dir: &Path) -> Result<()> {
        let mut db = open(dir)?;
        db.execute_batch(SCHEMA)?;
        let tx = db.transaction()?;
        tx.execute(
            "INSERT INTO meta VALUES ('memory_size', ?1)",
            params![state.memory.len() as i64],
        )?;
        {
            let mut put = tx.prepare("INSERT INTO device VALUES (?1, ?2)")?;
            for (name, record) in state::records(&state.devices) {
                put.execute(params![name, record])?;
            }
            let mut put = tx.prepare("INSERT INTO memory VALUES (?1, ?2)")?;
            for (i, chunk) in state.memory.chunks(CHUNK).enumerate() {
                if chunk.iter().any(|&b| b != 0) {
                    put.execute(params![i as i64, chunk])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn restore(&self, dir: &Path) -> Result<VmState> {
        let db = open(dir)?;
        let size: i64 = db.query_row(
            "SELECT value FROM meta WHERE key = 'memory_size'",
            [],
            |r| r.get(0),
        )?;
        let mut rows = db.prepare("SELECT name, record FROM device")?;
        let rows = rows
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let devices = state::from_records(rows.iter().map(|(n, b)| (n.as_str(), b.as_slice())))?;
        let mut memory = vec![0u8; usize::try_from(size)?];
        let mut chunks = db.prepare("SELECT chunk, data FROM memory")?;
        let mut chunks = chunks.query([])?;
        while let Some(row) = chunks.next()? {
            let at = usize::try_from(row.get::<_, i64>(0)?)? * CHUNK;
            let data = row.get_ref(1)?.as_blob()?;
            memory
                .get_mut(at..at + data.len())
                .ok_or_else(|| anyhow!("memory chunk at {at} past the memory size"))?
                .copy_from_slice(data);
        }
        Ok(VmState { devices, memory })
    }

    fn read_probe(&self, dir: &Path) -> Result<u64> {
        let db = open(dir)?;
        let record: Vec<u8> = db.query_row(
            "SELECT record FROM device WHERE name = ?1",
            [state::PROBE_RECORD],
            |r| r.get(0),
        )?;
        state::probe_record(&record)
    }

    fn write_probe(&self, dir: &Path, value: u64) -> Result<()> {
        let mut db = open(dir)?;
        let tx = db.transaction()?;
        let record: Vec<u8> = tx.query_row(
            "SELECT record FROM device WHERE name = ?1",
            [state::PROBE_RECORD],
            |r| r.get(0),
        )?;
        tx.execute(
            "UPDATE device SET record = ?2 WHERE name = ?1",
            params![
                state::PROBE_RECORD,
                state::set_probe_record(&record, value)?
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn write_method(&self) -> &'static str {
        "`UPDATE` of the device's row in a transaction"
    }

    fn locate(&self, dir: &Path, state: &VmState) -> Result<(Spot, Spot)> {
        // SQLite's pages are its own business: find the bytes instead.
        let file = dir.join(FILE);
        let records = state::records(&state.devices);
        let (_, hpet) = records
            .iter()
            .find(|(n, _)| n == state::PROBE_RECORD)
            .ok_or_else(|| anyhow!("no probe record"))?;
        let at = files::find(&file, hpet)?
            .ok_or_else(|| anyhow!("the probe record is not stored contiguously"))?;
        let page = state.probe_page().ok_or_else(|| anyhow!("no probe page"))?;
        // Large blobs spill over pages with a 4-byte link each: search a
        // short run of the page.
        let needle = &state.memory[page * state::PAGE..page * state::PAGE + 64];
        let mem = files::find(&file, needle)?
            .ok_or_else(|| anyhow!("the probe page is not in the file"))?;
        Ok((
            Spot {
                file: file.clone(),
                range: at..at + hpet.len() as u64,
            },
            Spot {
                file,
                range: mem..mem + needle.len() as u64,
            },
        ))
    }

    fn schema_changes(&self) -> Outcomes {
        schema::run::<SqliteCodec>()
    }
}

/// The record as a row of an in-memory database.
pub struct SqliteCodec;

impl SchemaCodec for SqliteCodec {
    fn write<T: Shape>(value: &T) -> Result<Vec<u8>> {
        Ok(value.to_bytes())
    }

    fn read<T: Shape>(bytes: &[u8]) -> Result<T> {
        let db = Connection::open_in_memory()?;
        db.execute_batch(SCHEMA)?;
        db.execute("INSERT INTO device VALUES ('timer', ?1)", [bytes])?;
        let record: Vec<u8> =
            db.query_row("SELECT record FROM device WHERE name = 'timer'", [], |r| {
                r.get(0)
            })?;
        Ok(T::from_bytes(&record)?)
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::OptionalExtension;

    use super::*;

    #[test]
    fn empty_memory_has_no_chunk_rows() {
        let dir = tempfile::tempdir().unwrap();
        let state = VmState::build(2 << 20, 1.0);
        Sqlite.save(&state, dir.path()).unwrap();
        let db = open(dir.path()).unwrap();
        let n: Option<i64> = db
            .query_row("SELECT chunk FROM memory LIMIT 1", [], |r| r.get(0))
            .optional()
            .unwrap();
        assert_eq!(n, None);
        assert_eq!(Sqlite.restore(dir.path()).unwrap(), state);
    }
}
