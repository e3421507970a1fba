//! The console: a page at `/console` for watching and drilling a region in
//! a browser. Its three assets (`console/`) are compiled into the binary,
//! so there is no CDN and no build step; the page reads and drives the
//! region only through what other clients use: the DynamoDB API (`POST /`)
//! and the admin endpoints (`/status`, `/admin/*`), which keep their own
//! gate (`auth_hook::guard_admin`). The page itself is served to anyone:
//! it holds no data, and a user with an admin token must load it before
//! typing the token in.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One embedded asset: its bytes and content type.
struct Asset {
    body: &'static str,
    content_type: &'static str,
}

/// The page.
const PAGE: Asset = Asset {
    body: include_str!("console/console.html"),
    content_type: "text/html; charset=utf-8",
};

/// The page's script.
const SCRIPT: Asset = Asset {
    body: include_str!("console/console.js"),
    content_type: "text/javascript; charset=utf-8",
};

/// The page's style sheet.
const STYLE: Asset = Asset {
    body: include_str!("console/console.css"),
    content_type: "text/css; charset=utf-8",
};

/// The page's own assets only: no inline script, no other origin, and no
/// framing (a page of another site must not put the drill buttons under
/// the user's mouse).
const SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

/// GET /console.
pub async fn handle_page() -> Response {
    serve(&PAGE)
}

/// GET /console/console.js.
pub async fn handle_script() -> Response {
    serve(&SCRIPT)
}

/// GET /console/console.css.
pub async fn handle_style() -> Response {
    serve(&STYLE)
}

fn serve(asset: &Asset) -> Response {
    let mut response = (StatusCode::OK, asset.body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page loads its script and style sheet by the paths the router
    /// serves them at, and no script inline (the security policy forbids it).
    #[test]
    fn the_page_names_its_assets_and_has_no_inline_script() {
        assert!(PAGE.body.contains(r#"src="/console/console.js""#));
        assert!(PAGE.body.contains(r#"href="/console/console.css""#));
        assert_eq!(PAGE.body.matches("<script").count(), 1);
        let inline_handler = PAGE.body.split(" on").skip(1).any(|rest| {
            let name: String = rest.chars().take_while(|c| c.is_ascii_lowercase()).collect();
            !name.is_empty() && rest[name.len()..].starts_with('=')
        });
        assert!(!inline_handler, "inline event handlers are blocked by the policy");
        assert!(!PAGE.body.contains("style="), "inline styles are blocked by the policy");
    }
}
