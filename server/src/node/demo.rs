//! The demo data set of `make demo`: keyspace `shop` with a user-defined type, a table with
//! clustering columns and a plain table, about 100,000 rows written in several flushed
//! batches with overwrites and deletes, so that there are several SSTables and compaction has
//! real work (and snapshots get a real hold once it runs).

use std::time::Duration;

use futures::stream::{self, StreamExt as _, TryStreamExt as _};
use scylla::serialize::row::SerializeRow;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::CqlTimestamp;
use uuid::Uuid;

use super::nodetool::{Nodetool, NodetoolError};
use crate::cassandra::cql::{Cql, CqlError};

/// Why loading the demo data failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Cql(#[from] CqlError),
    #[error(transparent)]
    Nodetool(#[from] NodetoolError),
}

/// A customer's postal address (the user-defined type `shop.address`).
#[derive(Debug, Clone, scylla::SerializeValue)]
struct Address {
    street: String,
    city: String,
    zip: String,
}

const SCHEMA: [&str; 5] = [
    "CREATE KEYSPACE IF NOT EXISTS shop WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    "CREATE TYPE IF NOT EXISTS shop.address (street text, city text, zip text)",
    "CREATE TABLE IF NOT EXISTS shop.customers (id uuid PRIMARY KEY, name text, email text, address frozen<address>)",
    "CREATE TABLE IF NOT EXISTS shop.orders (customer_id uuid, order_time timestamp, order_id uuid, total double, status text, PRIMARY KEY ((customer_id), order_time, order_id)) WITH CLUSTERING ORDER BY (order_time DESC, order_id ASC)",
    "CREATE TABLE IF NOT EXISTS shop.products (sku text PRIMARY KEY, name text, price double, stock int)",
];

/// Row counts written by [`load`].
pub const CUSTOMERS: usize = 20_000;
pub const ORDERS_PER_CUSTOMER: usize = 3;
pub const PRODUCTS: usize = 10_000;

/// True when the demo keyspace exists already.
pub async fn is_loaded(cql: &Cql) -> Result<bool, CqlError> {
    Ok(cql.schema().await?.keyspaces.iter().any(|k| k == "shop"))
}

fn customer_id(i: usize) -> Uuid {
    Uuid::from_u128(0x5eed_0000_0000_0000_0000_0000_0000_0000 | i as u128)
}

/// How many rows [`load`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSize {
    pub customers: usize,
    pub products: usize,
}

impl DemoSize {
    /// The full demo data set (about 100,000 rows).
    pub const FULL: DemoSize = DemoSize {
        customers: CUSTOMERS,
        products: PRODUCTS,
    };
}

/// Creates the `shop` keyspace and writes the rows (a few minutes at most on a laptop).
pub async fn load(cql: &Cql, nodetool: &Nodetool) -> Result<(), DemoError> {
    load_sized(cql, nodetool, DemoSize::FULL).await
}

/// [`load`] with another number of customers (each with three orders) and products.
pub async fn load_sized(cql: &Cql, nodetool: &Nodetool, size: DemoSize) -> Result<(), DemoError> {
    let (customers, products) = (size.customers.max(2), size.products.max(1));
    for s in SCHEMA {
        cql.execute(s).await?;
    }
    let session = cql.session();
    let prep = |s: &'static str| async move {
        session.prepare(s).await.map_err(|e| CqlError::Query {
            statement: s.to_string(),
            detail: e.to_string(),
        })
    };
    let ins_customer =
        prep("INSERT INTO shop.customers (id, name, email, address) VALUES (?, ?, ?, ?)").await?;
    let ins_order = prep(
        "INSERT INTO shop.orders (customer_id, order_time, order_id, total, status) VALUES (?, ?, ?, ?, ?)",
    )
    .await?;
    let ins_product =
        prep("INSERT INTO shop.products (sku, name, price, stock) VALUES (?, ?, ?, ?)").await?;
    let del_order = prep("DELETE FROM shop.orders WHERE customer_id = ?").await?;

    // Customers, in two flushed halves.
    let half = customers / 2;
    for part in 0..2 {
        write_all(
            cql,
            &ins_customer,
            "INSERT INTO shop.customers",
            half,
            |i| {
                let i = part * half + i;
                let address = Address {
                    street: format!("{} Main Street", i % 900 + 1),
                    city: ["Lisbon", "Oslo", "Austin", "Osaka", "Lyon"][i % 5].to_string(),
                    zip: format!("{:05}", i % 99_999),
                };
                (
                    customer_id(i),
                    format!("Customer {i}"),
                    format!("c{i}@example.com"),
                    address,
                )
            },
        )
        .await?;
        nodetool.run(&["flush", "shop"]).await?;
    }
    // Orders, three per customer, in three flushed rounds.
    for round in 0..ORDERS_PER_CUSTOMER {
        write_all(cql, &ins_order, "INSERT INTO shop.orders", customers, |i| {
            let when = CqlTimestamp(1_760_000_000_000 + (i * 7 + round * 86_400_000) as i64);
            let order = Uuid::from_u128(((round as u128) << 64) | i as u128);
            (
                customer_id(i),
                when,
                order,
                (i % 500) as f64 + 0.99,
                "placed",
            )
        })
        .await?;
        nodetool.run(&["flush", "shop"]).await?;
    }
    // Products written three times (overwrites: compaction will drop the old versions).
    for version in 0..3 {
        write_all(
            cql,
            &ins_product,
            "INSERT INTO shop.products",
            products,
            |i| {
                (
                    format!("SKU-{i:06}"),
                    format!("Product {i}"),
                    (i % 200) as f64 + version as f64,
                    (i % 50) as i32 + version,
                )
            },
        )
        .await?;
        nodetool.run(&["flush", "shop"]).await?;
    }
    // Some customers leave: their orders are deleted (tombstones).
    write_all(
        cql,
        &del_order,
        "DELETE FROM shop.orders",
        customers / 10,
        |i| (customer_id(i * 10),),
    )
    .await?;
    nodetool
        .clone()
        .with_timeout(Duration::from_secs(300))
        .run(&["flush", "shop"])
        .await?;
    Ok(())
}

/// Executes `stmt` for rows `0..n` (values from `values`), 64 at a time.
async fn write_all<V, F>(
    cql: &Cql,
    stmt: &PreparedStatement,
    what: &str,
    n: usize,
    values: F,
) -> Result<(), CqlError>
where
    F: Fn(usize) -> V,
    V: SerializeRow,
{
    let session = cql.session();
    stream::iter(0..n)
        .map(|i| {
            let v = values(i);
            async move { session.execute_unpaged(stmt, v).await.map(drop) }
        })
        .buffer_unordered(64)
        .try_collect::<Vec<()>>()
        .await
        .map(drop)
        .map_err(|e| CqlError::Query {
            statement: what.to_string(),
            detail: e.to_string(),
        })
}
