//! Recording samples: one scan of one node becomes a row per table (by id), per keyspace and
//! for the node in `storage_samples`, a row per data directory's filesystem in
//! `filesystem_samples`, and the new live-SSTable list of each table in `sample_live_files`.
//!
//! Measured churn: the bytes of the live SSTable files a table had at its previous sample that
//! are gone now (compaction replaced them, or TRUNCATE/DROP removed them), over the live bytes
//! at that sample and the time between. SSTables written and compacted away between two samples
//! are not seen; they never held a snapshot's bytes either, unless a snapshot was taken in
//! between.
//!
//! [`compact`] merges raw samples older than a number of days into one row per series and UTC
//! day (levels averaged, compacted bytes and intervals summed).

use std::collections::{BTreeMap, HashMap, HashSet};

use sqlx::SqlitePool;

use crate::node::{DataDirScan, Holds, TableDir};

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// Resolution of raw samples (one per scan).
pub const RAW: i64 = 0;
/// Resolution of daily samples (compacted).
pub const DAILY: i64 = 1;

/// Series levels.
pub const LEVEL_NODE: i64 = 0;
pub const LEVEL_KEYSPACE: i64 = 1;
pub const LEVEL_TABLE: i64 = 2;

/// Whether a live file is an SSTable component (`nb-1-big-Data.db`, `da-…-bti-Rows.db`, and
/// secondary-index components below `.index/`), rather than e.g. a transaction log.
pub fn is_sstable_component(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name.contains("-big-") || name.contains("-bti-")
}

/// What one series measured at one sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    pub live_bytes: i64,
    pub live_files: i64,
    pub live_inodes: i64,
    pub hold_bytes: i64,
    pub hold_inodes: i64,
    pub backups_bytes: i64,
    pub backups_files: i64,
    pub compacted_bytes: i64,
    pub prev_live_bytes: i64,
    pub interval_ms: i64,
}

impl Figures {
    fn add_levels(&mut self, o: &Figures) {
        self.live_bytes += o.live_bytes;
        self.live_files += o.live_files;
        self.live_inodes += o.live_inodes;
        self.hold_bytes += o.hold_bytes;
        self.hold_inodes += o.hold_inodes;
        self.backups_bytes += o.backups_bytes;
        self.backups_files += o.backups_files;
        self.compacted_bytes += o.compacted_bytes;
    }
}

/// A live SSTable file as remembered between samples.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct LiveFile {
    dev: u64,
    ino: u64,
    size: u64,
    name: String,
}

/// Encodes a live-file list, one line per file: `<dev> <inode> <bytes> <name>`.
fn encode_files(files: &[LiveFile]) -> String {
    let mut out = String::with_capacity(files.len() * 48);
    for f in files {
        out.push_str(&format!("{} {} {} {}\n", f.dev, f.ino, f.size, f.name));
    }
    out
}

/// Decodes [`encode_files`]; lines that do not parse are skipped (the catalog is ours, but a
/// damaged line must not stop sampling).
fn decode_files(text: &str) -> Vec<LiveFile> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(4, ' ');
            Some(LiveFile {
                dev: parts.next()?.parse().ok()?,
                ino: parts.next()?.parse().ok()?,
                size: parts.next()?.parse().ok()?,
                name: parts.next()?.to_string(),
            })
        })
        .collect()
}

/// Bytes of the files in `before` that are not in `now` (same device, inode and name).
fn gone_bytes(before: &[LiveFile], now: &[LiveFile]) -> u64 {
    let present: HashSet<(u64, u64, &str)> = now
        .iter()
        .map(|f| (f.dev, f.ino, f.name.as_str()))
        .collect();
    before
        .iter()
        .filter(|f| !present.contains(&(f.dev, f.ino, f.name.as_str())))
        .map(|f| f.size)
        .sum()
}

/// One table of the scan, summed over its data directories: its series, the indices of its
/// directories in the scan (for their holds) and what it measured.
struct TableSample {
    keyspace: String,
    series_id: i64,
    indices: Vec<usize>,
    figures: Figures,
}

/// What [`Sampler::finish`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recorded {
    pub tables: usize,
    pub keyspaces: usize,
    pub filesystems: usize,
}

/// Series key: (keyspace, table, table id), empty strings for rollups.
type SeriesKey = (String, String, String);

/// The series ids of one node, made when first needed.
struct SeriesIds {
    node: String,
    ids: HashMap<SeriesKey, i64>,
}

impl SeriesIds {
    async fn load(conn: &mut sqlx::SqliteConnection, node: &str) -> Result<Self, sqlx::Error> {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT id, keyspace_name, table_name, table_id FROM sample_series WHERE node = ?",
        )
        .bind(node)
        .fetch_all(&mut *conn)
        .await?;
        Ok(SeriesIds {
            node: node.to_string(),
            ids: rows
                .into_iter()
                .map(|(id, k, t, i)| ((k, t, i), id))
                .collect(),
        })
    }

    async fn get(
        &mut self,
        conn: &mut sqlx::SqliteConnection,
        level: i64,
        key: SeriesKey,
    ) -> Result<i64, sqlx::Error> {
        if let Some(id) = self.ids.get(&key) {
            return Ok(*id);
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sample_series (level, node, keyspace_name, table_name, table_id) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (node, keyspace_name, table_name, table_id) \
             DO UPDATE SET level = excluded.level RETURNING id",
        )
        .bind(level)
        .bind(&self.node)
        .bind(&key.0)
        .bind(&key.1)
        .bind(&key.2)
        .fetch_one(&mut *conn)
        .await?;
        self.ids.insert(key, id);
        Ok(id)
    }
}

/// Running totals of one series (see `cum_compacted_bytes` in the migration).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Running {
    taken_at: i64,
    compacted: i64,
    live_byte_days: f64,
}

impl Running {
    /// The totals after a sample at `taken_at`; a sample not newer than the last one counted
    /// (the same scan recorded again, a clock step back) adds nothing.
    fn after(self, taken_at: i64, f: &Figures) -> Running {
        if taken_at <= self.taken_at {
            return self;
        }
        Running {
            taken_at,
            compacted: self.compacted + f.compacted_bytes,
            live_byte_days: self.live_byte_days
                + f.prev_live_bytes as f64 * f.interval_ms as f64 / DAY_MS as f64,
        }
    }
}

/// Writes one sample row and the series' new running totals.
async fn insert_sample(
    tx: &mut sqlx::SqliteConnection,
    level: i64,
    taken_at: i64,
    series_id: i64,
    f: &Figures,
    running: &mut HashMap<i64, Running>,
) -> Result<(), sqlx::Error> {
    let r = running
        .get(&series_id)
        .copied()
        .unwrap_or_default()
        .after(taken_at, f);
    running.insert(series_id, r);
    sqlx::query(
        "INSERT INTO sample_series_state (series_id, taken_at, cum_compacted_bytes, cum_live_byte_days) \
         VALUES (?, ?, ?, ?) ON CONFLICT (series_id) DO UPDATE SET taken_at = excluded.taken_at, \
         cum_compacted_bytes = excluded.cum_compacted_bytes, cum_live_byte_days = excluded.cum_live_byte_days",
    )
    .bind(series_id)
    .bind(r.taken_at)
    .bind(r.compacted)
    .bind(r.live_byte_days)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT OR REPLACE INTO storage_samples (resolution, level, taken_at, series_id, samples, \
         live_bytes, live_files, live_inodes, hold_bytes, hold_inodes, backups_bytes, backups_files, \
         compacted_bytes, prev_live_bytes, interval_ms, cum_compacted_bytes, cum_live_byte_days) \
         VALUES (0, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(level)
    .bind(taken_at)
    .bind(series_id)
    .bind(f.live_bytes)
    .bind(f.live_files)
    .bind(f.live_inodes)
    .bind(f.hold_bytes)
    .bind(f.hold_inodes)
    .bind(f.backups_bytes)
    .bind(f.backups_files)
    .bind(f.compacted_bytes)
    .bind(f.prev_live_bytes)
    .bind(f.interval_ms)
    .bind(r.compacted)
    .bind(r.live_byte_days)
    .execute(&mut *tx)
    .await
    .map(drop)
}

/// Rollup of several series' figures: levels and compacted bytes summed; the interval is the
/// exposure-weighted mean so that prev_live × interval equals the sum over the parts.
#[derive(Default)]
struct Rollup {
    figures: Figures,
    exposure: f64,
    max_interval: i64,
}

impl Rollup {
    fn add(&mut self, f: &Figures) {
        self.figures.add_levels(f);
        self.figures.prev_live_bytes += f.prev_live_bytes;
        self.exposure += f.prev_live_bytes as f64 * f.interval_ms as f64;
        self.max_interval = self.max_interval.max(f.interval_ms);
    }
    fn finish(mut self) -> Figures {
        self.figures.interval_ms = if self.figures.prev_live_bytes > 0 {
            (self.exposure / self.figures.prev_live_bytes as f64).round() as i64
        } else {
            self.max_interval
        };
        self.figures
    }
}

/// Records the samples of one node's scan taken at `taken_at` (Unix ms), table by table while
/// the scan streams. Each table's churn is measured against its previous live-SSTable list as
/// it arrives; the new lists are written a few megabytes at a time (one transaction for many
/// tables), so memory holds a batch of lists, never the whole node's files. The sample rows
/// (which need the holds, known at the end) are written by [`Sampler::finish`] in one
/// transaction with the last lists. Idempotent for the same `taken_at` (rows are replaced),
/// but the churn baseline moves on; a scan that fails half way can leave tables with a new
/// baseline and no sample row, so their next sample measures churn from there.
pub struct Sampler<'p> {
    pool: &'p SqlitePool,
    taken_at: i64,
    series: SeriesIds,
    tables: Vec<TableSample>,
    /// New live-file lists not written yet: (series, unchanged, encoded list).
    lists: Vec<(i64, bool, String)>,
    lists_bytes: usize,
}

/// Live-file lists are written together once this many bytes of them wait (one transaction
/// for many tables, and memory for a few hundred tables' lists at most).
const LIST_BATCH_BYTES: usize = 4 << 20;

impl<'p> Sampler<'p> {
    pub async fn begin(
        pool: &'p SqlitePool,
        node: &str,
        taken_at: i64,
    ) -> Result<Self, sqlx::Error> {
        let mut conn = pool.acquire().await?;
        let series = SeriesIds::load(&mut conn, node).await?;
        Ok(Sampler {
            pool,
            taken_at,
            series,
            tables: Vec::new(),
            lists: Vec::new(),
            lists_bytes: 0,
        })
    }

    /// Samples one table: its directories on every data directory, each with its index in the
    /// scan's tables.
    pub async fn table(&mut self, parts: &[(usize, &TableDir)]) -> Result<(), sqlx::Error> {
        let Some((_, head)) = parts.first() else {
            return Ok(());
        };
        let mut figures = Figures::default();
        let mut files: Vec<LiveFile> = Vec::new();
        for (_, t) in parts {
            figures.add_levels(&Figures {
                live_bytes: t.live.bytes() as i64,
                live_files: t.live.files.len() as i64,
                live_inodes: t.live.inodes() as i64,
                backups_bytes: t.backups.bytes() as i64,
                backups_files: t.backups.files.len() as i64,
                ..Figures::default()
            });
            files.extend(
                t.live
                    .files
                    .iter()
                    .filter(|f| is_sstable_component(&f.rel))
                    .map(|f| LiveFile {
                        dev: f.dev,
                        ino: f.ino,
                        size: f.size,
                        name: f.rel.clone(),
                    }),
            );
        }
        files.sort();
        files.dedup();
        let mut conn = self.pool.acquire().await?;
        let key = (head.keyspace.clone(), head.table.clone(), head.id.clone());
        let series_id = self.series.get(&mut conn, LEVEL_TABLE, key).await?;
        let previous: Option<(i64, i64, String)> = sqlx::query_as(
            "SELECT taken_at, live_bytes, files FROM sample_live_files WHERE series_id = ?",
        )
        .bind(series_id)
        .fetch_optional(&mut *conn)
        .await?;
        let encoded = encode_files(&files);
        let unchanged = match previous {
            Some((at, live, before)) if at < self.taken_at => {
                figures.compacted_bytes = gone_bytes(&decode_files(&before), &files) as i64;
                figures.prev_live_bytes = live;
                figures.interval_ms = self.taken_at - at;
                before == encoded
            }
            // A sample older than the baseline (a clock step back): no interval to measure.
            Some((_, _, before)) => before == encoded,
            None => false,
        };
        drop(conn);
        self.tables.push(TableSample {
            keyspace: head.keyspace.clone(),
            series_id,
            indices: parts.iter().map(|(i, _)| *i).collect(),
            figures,
        });
        // An unchanged list only moves its time; its text is not kept.
        let encoded = if unchanged { String::new() } else { encoded };
        self.lists_bytes += encoded.len();
        self.lists.push((series_id, unchanged, encoded));
        if self.lists_bytes >= LIST_BATCH_BYTES {
            let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
            self.write_lists(&mut tx).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Writes the live-file lists waiting, each replacing its table's previous one.
    async fn write_lists(&mut self, tx: &mut sqlx::SqliteConnection) -> Result<(), sqlx::Error> {
        let live: HashMap<i64, i64> = self
            .tables
            .iter()
            .map(|t| (t.series_id, t.figures.live_bytes))
            .collect();
        for (series_id, unchanged, encoded) in std::mem::take(&mut self.lists) {
            let query = if unchanged {
                "UPDATE sample_live_files SET taken_at = ?2, live_bytes = ?3 WHERE series_id = ?1"
            } else {
                "INSERT INTO sample_live_files (series_id, taken_at, live_bytes, files) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (series_id) DO UPDATE SET taken_at = excluded.taken_at, \
                 live_bytes = excluded.live_bytes, files = excluded.files"
            };
            sqlx::query(query)
                .bind(series_id)
                .bind(self.taken_at)
                .bind(live.get(&series_id).copied().unwrap_or(0))
                .bind(&encoded)
                .execute(&mut *tx)
                .await?;
        }
        self.lists_bytes = 0;
        Ok(())
    }

    /// Writes the sample rows of every table sampled, with their holds, the keyspace and node
    /// rollups and the filesystems; forgets the live-file lists of tables no longer on disk.
    pub async fn finish(
        mut self,
        data_dirs: &[DataDirScan],
        holds: &Holds,
    ) -> Result<Recorded, sqlx::Error> {
        let taken_at = self.taken_at;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        self.write_lists(&mut tx).await?;
        let states: Vec<(i64, i64, i64, f64)> = sqlx::query_as(
            "SELECT st.series_id, st.taken_at, st.cum_compacted_bytes, st.cum_live_byte_days \
             FROM sample_series_state st JOIN sample_series s ON s.id = st.series_id WHERE s.node = ?",
        )
        .bind(&self.series.node)
        .fetch_all(&mut *tx)
        .await?;
        let mut running: HashMap<i64, Running> = states
            .into_iter()
            .map(|(id, taken_at, compacted, live_byte_days)| {
                (
                    id,
                    Running {
                        taken_at,
                        compacted,
                        live_byte_days,
                    },
                )
            })
            .collect();

        let mut node_rollup = Rollup::default();
        let mut ks_rollups: BTreeMap<String, Rollup> = BTreeMap::new();
        for t in &self.tables {
            let mut f = t.figures;
            for i in &t.indices {
                let hold = holds.tables.get(i).copied().unwrap_or_default();
                f.hold_bytes += hold.bytes as i64;
                f.hold_inodes += hold.inodes as i64;
            }
            insert_sample(
                &mut tx,
                LEVEL_TABLE,
                taken_at,
                t.series_id,
                &f,
                &mut running,
            )
            .await?;
            node_rollup.add(&f);
            ks_rollups.entry(t.keyspace.clone()).or_default().add(&f);
        }
        // Tables whose directories are gone: forget their lists.
        let sampled: HashSet<i64> = self.tables.iter().map(|t| t.series_id).collect();
        let listed: Vec<i64> = sqlx::query_scalar(
            "SELECT f.series_id FROM sample_live_files f JOIN sample_series s ON s.id = f.series_id \
             WHERE s.node = ?",
        )
        .bind(&self.series.node)
        .fetch_all(&mut *tx)
        .await?;
        for series_id in listed.into_iter().filter(|id| !sampled.contains(id)) {
            sqlx::query("DELETE FROM sample_live_files WHERE series_id = ?")
                .bind(series_id)
                .execute(&mut *tx)
                .await?;
        }
        let keyspace_count = ks_rollups.len();
        for (ks, rollup) in ks_rollups {
            let key = (ks, String::new(), String::new());
            let id = self.series.get(&mut tx, LEVEL_KEYSPACE, key).await?;
            let f = rollup.finish();
            insert_sample(&mut tx, LEVEL_KEYSPACE, taken_at, id, &f, &mut running).await?;
        }
        let id = self
            .series
            .get(&mut tx, LEVEL_NODE, SeriesKey::default())
            .await?;
        let f = node_rollup.finish();
        insert_sample(&mut tx, LEVEL_NODE, taken_at, id, &f, &mut running).await?;

        let mut filesystems = 0;
        let mut seen_dirs = HashSet::new();
        for d in data_dirs {
            let Some(fs) = &d.fs else { continue };
            let dir = d.path.display().to_string();
            if !seen_dirs.insert(dir.clone()) {
                continue;
            }
            let fs_id: i64 = sqlx::query_scalar(
                "INSERT INTO sample_filesystems (node, data_dir) VALUES (?, ?) \
                 ON CONFLICT (node, data_dir) DO UPDATE SET data_dir = excluded.data_dir RETURNING id",
            )
            .bind(&self.series.node)
            .bind(&dir)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT OR REPLACE INTO filesystem_samples (resolution, taken_at, fs_id, samples, total_bytes, \
                 avail_bytes, free_bytes, total_inodes, free_inodes) VALUES (0, ?, ?, 1, ?, ?, ?, ?, ?)",
            )
            .bind(taken_at)
            .bind(fs_id)
            .bind(fs.total_bytes as i64)
            .bind(fs.avail_bytes as i64)
            .bind(fs.free_bytes as i64)
            .bind(fs.total_inodes as i64)
            .bind(fs.free_inodes as i64)
            .execute(&mut *tx)
            .await?;
            filesystems += 1;
        }
        tx.commit().await?;
        Ok(Recorded {
            tables: self.tables.len(),
            keyspaces: keyspace_count,
            filesystems,
        })
    }
}

/// Records the samples of a scan read whole (tests, benchmarks): `tables` in the scan's order,
/// so that `holds.tables` indexes them; directories of one table id are sampled together.
pub async fn record_scan(
    pool: &SqlitePool,
    node: &str,
    taken_at: i64,
    data_dirs: &[DataDirScan],
    tables: &[TableDir],
    holds: &Holds,
) -> Result<Recorded, sqlx::Error> {
    let mut sampler = Sampler::begin(pool, node, taken_at).await?;
    let mut groups: Vec<Vec<(usize, &TableDir)>> = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        let same = |g: &&mut Vec<(usize, &TableDir)>| {
            g.first().is_some_and(|(_, h)| {
                (&h.keyspace, &h.table, &h.id) == (&t.keyspace, &t.table, &t.id)
            })
        };
        match groups.iter_mut().find(same) {
            Some(g) => g.push((i, t)),
            None => groups.push(vec![(i, t)]),
        }
    }
    for g in &groups {
        sampler.table(g).await?;
    }
    sampler.finish(data_dirs, holds).await
}

/// What [`compact`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Compacted {
    /// Raw rows merged (and removed), storage and filesystem rows together.
    pub raw_rows: u64,
    /// Daily rows written or merged into.
    pub daily_rows: u64,
}

/// The UTC midnight at or before `ms`.
pub fn day_start(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS) * DAY_MS
}

/// Merges raw samples taken before the UTC midnight `keep_days` days before `now` into one
/// row per series (or filesystem) and day, at noon of that day. A day that already has a daily
/// row (samples arriving late) is merged into it, weighted by the samples each holds.
pub async fn compact(
    pool: &SqlitePool,
    now: i64,
    keep_days: u64,
) -> Result<Compacted, sqlx::Error> {
    let cutoff = day_start(now - keep_days as i64 * DAY_MS);
    let mut done = Compacted::default();
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    for level in [LEVEL_NODE, LEVEL_KEYSPACE, LEVEL_TABLE] {
        let merged = sqlx::query(
            "INSERT INTO storage_samples (resolution, level, taken_at, series_id, samples, live_bytes, \
             live_files, live_inodes, hold_bytes, hold_inodes, backups_bytes, backups_files, \
             compacted_bytes, prev_live_bytes, interval_ms, cum_compacted_bytes, cum_live_byte_days) \
             SELECT 1, level, (taken_at / ?3) * ?3 + ?3 / 2 AS day, series_id, sum(samples), \
                    CAST(round(avg(live_bytes)) AS INTEGER), CAST(round(avg(live_files)) AS INTEGER), \
                    CAST(round(avg(live_inodes)) AS INTEGER), CAST(round(avg(hold_bytes)) AS INTEGER), \
                    CAST(round(avg(hold_inodes)) AS INTEGER), CAST(round(avg(backups_bytes)) AS INTEGER), \
                    CAST(round(avg(backups_files)) AS INTEGER), sum(compacted_bytes), \
                    CASE WHEN sum(interval_ms) > 0 \
                         THEN CAST(round(sum(prev_live_bytes * 1.0 * interval_ms) / sum(interval_ms)) AS INTEGER) \
                         ELSE CAST(round(avg(prev_live_bytes)) AS INTEGER) END, \
                    sum(interval_ms), max(cum_compacted_bytes), max(cum_live_byte_days) \
             FROM storage_samples WHERE resolution = 0 AND level = ?1 AND taken_at < ?2 \
             GROUP BY series_id, day \
             ON CONFLICT (resolution, level, taken_at, series_id) DO UPDATE SET \
               live_bytes = (live_bytes * samples + excluded.live_bytes * excluded.samples) / (samples + excluded.samples), \
               live_files = (live_files * samples + excluded.live_files * excluded.samples) / (samples + excluded.samples), \
               live_inodes = (live_inodes * samples + excluded.live_inodes * excluded.samples) / (samples + excluded.samples), \
               hold_bytes = (hold_bytes * samples + excluded.hold_bytes * excluded.samples) / (samples + excluded.samples), \
               hold_inodes = (hold_inodes * samples + excluded.hold_inodes * excluded.samples) / (samples + excluded.samples), \
               backups_bytes = (backups_bytes * samples + excluded.backups_bytes * excluded.samples) / (samples + excluded.samples), \
               backups_files = (backups_files * samples + excluded.backups_files * excluded.samples) / (samples + excluded.samples), \
               compacted_bytes = compacted_bytes + excluded.compacted_bytes, \
               prev_live_bytes = CASE WHEN interval_ms + excluded.interval_ms > 0 \
                 THEN CAST(round((prev_live_bytes * 1.0 * interval_ms + excluded.prev_live_bytes * 1.0 * excluded.interval_ms) \
                      / (interval_ms + excluded.interval_ms)) AS INTEGER) ELSE prev_live_bytes END, \
               interval_ms = interval_ms + excluded.interval_ms, \
               cum_compacted_bytes = max(cum_compacted_bytes, excluded.cum_compacted_bytes), \
               cum_live_byte_days = max(cum_live_byte_days, excluded.cum_live_byte_days), \
               samples = samples + excluded.samples",
        )
        .bind(level)
        .bind(cutoff)
        .bind(DAY_MS)
        .execute(&mut *tx)
        .await?;
        done.daily_rows += merged.rows_affected();
        let removed = sqlx::query(
            "DELETE FROM storage_samples WHERE resolution = 0 AND level = ? AND taken_at < ?",
        )
        .bind(level)
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        done.raw_rows += removed.rows_affected();
    }
    let merged = sqlx::query(
        "INSERT INTO filesystem_samples (resolution, taken_at, fs_id, samples, total_bytes, avail_bytes, \
         free_bytes, total_inodes, free_inodes) \
         SELECT 1, (taken_at / ?2) * ?2 + ?2 / 2 AS day, fs_id, sum(samples), \
                CAST(round(avg(total_bytes)) AS INTEGER), CAST(round(avg(avail_bytes)) AS INTEGER), \
                CAST(round(avg(free_bytes)) AS INTEGER), CAST(round(avg(total_inodes)) AS INTEGER), \
                CAST(round(avg(free_inodes)) AS INTEGER) \
         FROM filesystem_samples WHERE resolution = 0 AND taken_at < ?1 GROUP BY fs_id, day \
         ON CONFLICT (resolution, taken_at, fs_id) DO UPDATE SET \
           total_bytes = (total_bytes * samples + excluded.total_bytes * excluded.samples) / (samples + excluded.samples), \
           avail_bytes = (avail_bytes * samples + excluded.avail_bytes * excluded.samples) / (samples + excluded.samples), \
           free_bytes = (free_bytes * samples + excluded.free_bytes * excluded.samples) / (samples + excluded.samples), \
           total_inodes = (total_inodes * samples + excluded.total_inodes * excluded.samples) / (samples + excluded.samples), \
           free_inodes = (free_inodes * samples + excluded.free_inodes * excluded.samples) / (samples + excluded.samples), \
           samples = samples + excluded.samples",
    )
    .bind(cutoff)
    .bind(DAY_MS)
    .execute(&mut *tx)
    .await?;
    done.daily_rows += merged.rows_affected();
    let removed =
        sqlx::query("DELETE FROM filesystem_samples WHERE resolution = 0 AND taken_at < ?")
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
    done.raw_rows += removed.rows_affected();
    tx.commit().await?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::node::{DataDirScan, FileEntry, FileSet, FsStats, HoldFigures, TableDir};
    use std::path::PathBuf;

    fn file(name: &str, ino: u64, size: u64) -> FileEntry {
        FileEntry {
            rel: name.into(),
            size,
            dev: 7,
            ino,
            nlink: 1,
        }
    }

    fn table(ks: &str, name: &str, files: Vec<FileEntry>) -> TableDir {
        TableDir {
            keyspace: ks.into(),
            table: name.into(),
            id: format!("{:0>32}", name.len()),
            data_dir: PathBuf::from("/d"),
            path: PathBuf::from(format!("/d/{ks}/{name}")),
            live: FileSet { files },
            snapshots: Vec::new(),
            backups: FileSet::default(),
        }
    }

    /// A scan read whole: its data directories and table directories.
    struct Scan {
        data_dirs: Vec<DataDirScan>,
        tables: Vec<TableDir>,
    }

    fn scan(tables: Vec<TableDir>, avail: u64) -> Scan {
        Scan {
            data_dirs: vec![DataDirScan {
                path: PathBuf::from("/d"),
                fs: Some(FsStats {
                    total_bytes: 1000,
                    avail_bytes: avail,
                    free_bytes: avail + 10,
                    total_inodes: 100,
                    free_inodes: 50,
                }),
                error: None,
            }],
            tables,
        }
    }

    async fn catalog() -> (Catalog, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let c = Catalog::open(&dir.path().join("c.db"))
            .await
            .expect("catalog");
        (c, dir)
    }

    async fn row(pool: &SqlitePool, level: i64, at: i64) -> Vec<(i64, i64, i64, i64, i64)> {
        sqlx::query_as(
            "SELECT live_bytes, hold_bytes, compacted_bytes, prev_live_bytes, interval_ms \
             FROM storage_samples WHERE level = ? AND taken_at = ? ORDER BY series_id",
        )
        .bind(level)
        .bind(at)
        .fetch_all(pool)
        .await
        .expect("rows")
    }

    #[test]
    fn sstable_components_are_told_from_other_files() {
        assert!(is_sstable_component("nb-1-big-Data.db"));
        assert!(is_sstable_component("da-3gdg_0r5l_1x-bti-Rows.db"));
        assert!(is_sstable_component(".idx/nb-2-big-Index.db"));
        assert!(!is_sstable_component("nb_txn_compaction_abc.log"));
        let files = vec![LiveFile {
            dev: 1,
            ino: 2,
            size: 3,
            name: "a b".into(),
        }];
        assert_eq!(decode_files(&encode_files(&files)), files);
        assert!(decode_files("garbage\n1 2 x y\n").is_empty());
    }

    #[tokio::test]
    async fn compacted_sstables_are_measured_between_samples_and_rolled_up() {
        let (c, _dir) = catalog().await;
        let pool = c.pool();
        let first = scan(
            vec![
                table(
                    "ks",
                    "a",
                    vec![
                        file("nb-1-big-Data.db", 1, 600),
                        file("nb-1-big-Index.db", 2, 400),
                        file("nb_txn_flush.log", 9, 5),
                    ],
                ),
                table("ks", "bb", vec![file("nb-1-big-Data.db", 3, 100)]),
            ],
            500,
        );
        let holds = Holds::default();
        let r = record_scan(pool, "n1", 1_000, &first.data_dirs, &first.tables, &holds)
            .await
            .expect("first");
        assert_eq!(
            r,
            Recorded {
                tables: 2,
                keyspaces: 1,
                filesystems: 1
            }
        );
        // First sample: no interval, nothing compacted.
        assert_eq!(row(pool, LEVEL_NODE, 1_000).await, vec![(1105, 0, 0, 0, 0)]);

        // Table a compacted: nb-1 gone, nb-2 written; table bb unchanged.
        let second = scan(
            vec![
                table(
                    "ks",
                    "a",
                    vec![
                        file("nb-2-big-Data.db", 4, 700),
                        file("nb-2-big-Index.db", 5, 100),
                    ],
                ),
                table("ks", "bb", vec![file("nb-1-big-Data.db", 3, 100)]),
            ],
            400,
        );
        let mut holds = Holds::default();
        holds.tables.insert(
            0,
            HoldFigures {
                bytes: 1000,
                inodes: 2,
            },
        );
        record_scan(
            pool,
            "n1",
            3_600_000 + 1_000,
            &second.data_dirs,
            &second.tables,
            &holds,
        )
        .await
        .expect("second");
        let tables = row(pool, LEVEL_TABLE, 3_601_000).await;
        assert_eq!(tables[0], (800, 1000, 1000, 1005, 3_600_000));
        assert_eq!(tables[1], (100, 0, 0, 100, 3_600_000));
        let node = row(pool, LEVEL_NODE, 3_601_000).await;
        assert_eq!(node, vec![(900, 1000, 1000, 1105, 3_600_000)]);
        assert_eq!(row(pool, LEVEL_KEYSPACE, 3_601_000).await, node);
        let fs: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT taken_at, avail_bytes FROM filesystem_samples ORDER BY taken_at",
        )
        .fetch_all(pool)
        .await
        .expect("fs");
        assert_eq!(fs, vec![(1_000, 500), (3_601_000, 400)]);
    }

    #[tokio::test]
    async fn old_samples_are_compacted_to_one_per_day_keeping_sums_and_means() {
        let (c, _dir) = catalog().await;
        let pool = c.pool();
        let day0 = 100 * DAY_MS;
        // Four samples on day 0 (live 100, 200, 300, 400; 100 bytes compacted each hour after
        // the first), one on day 40.
        for (i, live) in [100u64, 200, 300, 400].iter().enumerate() {
            let files = vec![file(&format!("nb-{i}-big-Data.db"), i as u64 + 1, *live)];
            let s = scan(vec![table("ks", "a", files)], 500);
            record_scan(
                pool,
                "n1",
                day0 + i as i64 * 3_600_000,
                &s.data_dirs,
                &s.tables,
                &Holds::default(),
            )
            .await
            .expect("sample");
        }
        let late = day0 + 40 * DAY_MS;
        let s = scan(vec![table("ks", "a", vec![])], 500);
        record_scan(pool, "n1", late, &s.data_dirs, &s.tables, &Holds::default())
            .await
            .expect("late sample");

        let done = compact(pool, late, 30).await.expect("compact");
        assert_eq!(done.raw_rows, 4 * 3 + 4, "3 levels and the filesystem");
        let rows: Vec<(i64, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT resolution, taken_at, samples, live_bytes, compacted_bytes, interval_ms, prev_live_bytes \
             FROM storage_samples WHERE level = 2 ORDER BY resolution, taken_at",
        )
        .fetch_all(pool)
        .await
        .expect("rows");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0, RAW);
        assert_eq!(rows[0].1, late, "recent samples stay raw");
        // The daily row: noon, 4 samples, mean live 250, 600 bytes compacted over 3 hours,
        // exposure-weighted previous live (100 + 200 + 300) / 3 = 200.
        assert_eq!(
            rows[1],
            (DAILY, day0 + DAY_MS / 2, 4, 250, 600, 3 * 3_600_000, 200)
        );
        let again = compact(pool, late, 30).await.expect("compact again");
        assert_eq!(again, Compacted::default(), "nothing left to compact");
        let fs: Vec<(i64, i64)> =
            sqlx::query_as("SELECT resolution, samples FROM filesystem_samples ORDER BY taken_at")
                .fetch_all(pool)
                .await
                .expect("fs");
        assert_eq!(fs, vec![(DAILY, 4), (RAW, 1)]);
    }
}
