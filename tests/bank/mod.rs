//! A bank for transaction tests: accounts (`acct0` ...) in a hash-key table
//! `pk` (S), transfers that move an amount between two accounts with
//! TransactWriteItems only while the source stays non-negative, and reads
//! of every balance in one TransactGetItems. Whatever transfers run, the
//! sum of the balances of one region is constant; a read that sees a
//! different sum saw part of a transaction.

#![allow(dead_code)]

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Get, Put, ReturnValuesOnConditionCheckFailure, TransactGetItem,
    TransactWriteItem, Update,
};

pub type Item = HashMap<String, AttributeValue>;

/// Accounts in the bank.
pub const ACCOUNTS: usize = 8;
/// Each account's balance at the start.
pub const START_BALANCE: i64 = 100;
/// The sum of the balances, always.
pub const TOTAL: i64 = START_BALANCE * ACCOUNTS as i64;

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn account(i: usize) -> String {
    format!("acct{i}")
}

pub fn put(table: &str, item: Item) -> TransactWriteItem {
    TransactWriteItem::builder()
        .put(Put::builder().table_name(table).set_item(Some(item)).build().unwrap())
        .build()
}

/// A put whose condition is that the item does not exist yet; its
/// cancellation reason carries the item that does (ALL_OLD).
pub fn put_if_absent(table: &str, item: Item) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .unwrap();
    TransactWriteItem::builder().put(put).build()
}

pub fn delete(table: &str, key: Item) -> TransactWriteItem {
    TransactWriteItem::builder()
        .delete(Delete::builder().table_name(table).set_key(Some(key)).build().unwrap())
        .build()
}

/// Adds `amount` to `pk`'s balance (creating the item if needed).
pub fn add(table: &str, pk: &str, amount: i64) -> TransactWriteItem {
    let update = Update::builder()
        .table_name(table)
        .key("pk", s(pk))
        .update_expression("ADD balance :a")
        .expression_attribute_values(":a", n(amount))
        .build()
        .unwrap();
    TransactWriteItem::builder().update(update).build()
}

/// Takes `amount` out of `pk` only if its balance stays non-negative.
pub fn withdraw(table: &str, pk: &str, amount: i64) -> TransactWriteItem {
    let update = Update::builder()
        .table_name(table)
        .key("pk", s(pk))
        .update_expression("SET balance = balance - :a")
        .condition_expression("balance >= :a")
        .expression_attribute_values(":a", n(amount))
        .build()
        .unwrap();
    TransactWriteItem::builder().update(update).build()
}

pub fn check(table: &str, pk: &str, condition: &str) -> TransactWriteItem {
    let check = ConditionCheck::builder()
        .table_name(table)
        .key("pk", s(pk))
        .condition_expression(condition)
        .build()
        .unwrap();
    TransactWriteItem::builder().condition_check(check).build()
}

pub fn get(table: &str, pk: &str) -> TransactGetItem {
    TransactGetItem::builder()
        .get(Get::builder().table_name(table).key("pk", s(pk)).build().unwrap())
        .build()
}

/// The codes of a TransactionCanceledException's reasons, in order.
pub fn reason_codes(error: &SdkError<TransactWriteItemsError, impl std::fmt::Debug>) -> Vec<String> {
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => e
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().unwrap_or("").to_string())
            .collect(),
        other => panic!("expected TransactionCanceledException, got {other:?}"),
    }
}

/// Opens every account with `START_BALANCE`, in one transaction.
pub async fn open_accounts(client: &Client, table: &str) {
    let mut setup = client.transact_write_items();
    for i in 0..ACCOUNTS {
        setup = setup.transact_items(put(
            table,
            HashMap::from([
                ("pk".to_string(), s(account(i))),
                ("balance".to_string(), n(START_BALANCE)),
            ]),
        ));
    }
    setup.send().await.unwrap();
}

/// The balances of every account, read in one TransactGetItems; `None`
/// while some account is not there (a replica still filling) or the read
/// fails.
pub async fn balances(client: &Client, table: &str) -> Option<Vec<i64>> {
    let mut request = client.transact_get_items();
    for i in 0..ACCOUNTS {
        request = request.transact_items(get(table, &account(i)));
    }
    let out = request.send().await.ok()?;
    out.responses()
        .iter()
        .map(|r| r.item()?.get("balance")?.as_n().ok()?.parse::<i64>().ok())
        .collect()
}

/// The balances of every account from one consistent Scan page (the table
/// holds only the accounts, well under a page).
pub async fn scanned_balances(client: &Client, table: &str) -> Option<Vec<i64>> {
    let out = client
        .scan()
        .table_name(table)
        .consistent_read(true)
        .send()
        .await
        .ok()?;
    let balances: Option<Vec<i64>> = out
        .items()
        .iter()
        .filter(|i| {
            i.get("pk")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|pk| pk.starts_with("acct"))
        })
        .map(|i| i.get("balance")?.as_n().ok()?.parse::<i64>().ok())
        .collect();
    balances.filter(|b| b.len() == ACCOUNTS)
}

/// Transfer number `t` of writer `w`: from, to and amount, spread over the
/// accounts (never from an account to itself).
pub fn transfer_plan(w: u64, t: u64) -> (String, String, i64) {
    let from = ((w * 7 + t * 3) % ACCOUNTS as u64) as usize;
    let mut to = ((w * 5 + t * 7 + 1) % ACCOUNTS as u64) as usize;
    if to == from {
        to = (to + 1) % ACCOUNTS;
    }
    (account(from), account(to), ((w + t) % 30 + 1) as i64)
}

/// Sends one transfer; `Ok(false)` when its source had too little (the
/// transaction was cancelled on its condition).
pub async fn transfer(
    client: &Client,
    table: &str,
    (from, to, amount): &(String, String, i64),
) -> Result<bool, SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>> {
    let sent = client
        .transact_write_items()
        .transact_items(withdraw(table, from, *amount))
        .transact_items(add(table, to, *amount))
        .send()
        .await;
    match sent {
        Ok(_) => Ok(true),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_transaction_canceled_exception()) =>
        {
            assert_eq!(reason_codes(&error), ["ConditionalCheckFailed", "None"]);
            Ok(false)
        }
        Err(error) => Err(error),
    }
}
