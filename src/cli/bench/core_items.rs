//! The items the core scenario writes and reads over HTTP and through the
//! engine: their keys, and the request bodies that carry them.

// The PutItem and GetItem bodies are formatted as text rather than built as
// JSON trees: the load generator shares the CPU with the server, so its cost
// counts against the server's ratios. Keys and numbers are digits and the
// payload is plain `x`s, so nothing needs escaping.

/// The PutItem body of request `n` of connection `conn`.
pub(super) fn put_body(conn: usize, n: u64, payload: &str) -> String {
    format!(
        r#"{{"TableName":"bench","Item":{{"pk":{{"S":"k{conn}-{n}"}},"n":{{"N":"{n}"}},"payload":{{"S":"{payload}"}}}}}}"#
    )
}

/// The Query body reading the partition of the item `put_body(conn, n, _)`
/// wrote: the bench table has no sort key, so one item.
pub(super) fn query_body(conn: usize, n: u64) -> String {
    format!(
        r#"{{"TableName":"bench","KeyConditionExpression":"pk = :pk","ExpressionAttributeValues":{{":pk":{{"S":"k{conn}-{n}"}}}}}}"#
    )
}

/// Which item request `n` of connection `conn` reads, as (connection that
/// wrote it, its number), given how many items each connection wrote: one
/// of its own, cycling over them; a connection that wrote none (one that
/// connected too late in a short turn) reads those of another. Every answer
/// is an item that exists, as long as some connection wrote one.
pub(super) fn item_to_read(written_by: &[u64], conn: usize, n: u64) -> (usize, u64) {
    let wrote = |c: &usize| written_by.get(*c).is_some_and(|&w| w > 0);
    let writer = if wrote(&conn) {
        Some(conn)
    } else {
        let writers = written_by.iter().filter(|&&w| w > 0).count().max(1);
        (0..written_by.len()).filter(wrote).nth(conn % writers)
    };
    match writer {
        Some(writer) => (writer, n % written_by[writer]),
        None => (conn, 0),
    }
}

/// The GetItem body reading the item `put_body(conn, n, _)` wrote.
pub(super) fn get_body(conn: usize, n: u64) -> String {
    format!(r#"{{"TableName":"bench","Key":{{"pk":{{"S":"k{conn}-{n}"}}}}}}"#)
}

/// The key of the item `put_body(conn, n, _)` writes.
pub(super) fn key(conn: usize, n: u64) -> String {
    format!("k{conn}-{n}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_go_to_items_that_were_written() {
        // Connection 1 wrote nothing: it reads the items of the others.
        let written_by = [3, 0, 2];
        assert_eq!(item_to_read(&written_by, 0, 4), (0, 1));
        assert_eq!(item_to_read(&written_by, 2, 5), (2, 1));
        let borrowed: Vec<(usize, u64)> = (0..4).map(|n| item_to_read(&written_by, 1, n)).collect();
        assert_eq!(borrowed, [(2, 0), (2, 1), (2, 0), (2, 1)]);
        for (conn, n) in [(0, 7), (1, 9), (2, 11)] {
            let (writer, item) = item_to_read(&written_by, conn, n);
            assert!(item < written_by[writer], "{conn}/{n} read {writer}/{item}");
        }
    }

    #[test]
    fn request_bodies_are_the_json_they_stand_for() {
        let parse = |body: String| serde_json::from_str::<serde_json::Value>(&body).unwrap();
        let put = json!({"TableName": "bench", "Item": {
            "pk": {"S": "k3-17"}, "n": {"N": "17"}, "payload": {"S": "xxxx"}}});
        assert_eq!(parse(put_body(3, 17, "xxxx")), put);
        let get = json!({"TableName": "bench", "Key": {"pk": {"S": "k3-17"}}});
        assert_eq!(parse(get_body(3, 17)), get);
        let query = json!({"TableName": "bench", "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": "k3-17"}}});
        assert_eq!(parse(query_body(3, 17)), query);
    }
}
