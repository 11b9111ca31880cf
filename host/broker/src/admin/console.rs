//! The web console: one page, its scripts and its style (`console/`), embedded in the binary and
//! served by the admin API under `/console/`. The page is a client of the JSON API beside it and
//! keeps nothing on the server; docs/console.md says what each panel shows and where from.
//!
//! Every asset goes out with a Content-Security-Policy that allows script, style and fetches
//! from this origin only: no inline script or style, no eval, nothing from elsewhere. The page
//! inserts broker data as text, never as markup; the policy is the second line of defence if a
//! name ever slipped through as markup.
use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::json;
use sha2::{Digest, Sha256};

/// Where the console lives; `/` and `/console` redirect here (with the slash, so the page's
/// relative asset paths resolve under it).
const CONSOLE_PATH: &str = "/console/";

/// Only this origin's script, style and API; no inline code (`'unsafe-inline'`), no eval
/// (`'unsafe-eval'`), no framing by other pages (clickjacking the swap action), no forms posted
/// anywhere (the page sends its requests with fetch).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The assets change only with the binary: the browser revalidates on every load and the ETag
/// (a hash of the content) turns that into a 304 while the binary stays the same.
const CACHE_CONTROL: &str = "no-cache";

/// The page's file name: what `/console/` serves.
const INDEX: &str = "index.html";

/// One embedded file.
struct Asset {
    /// Its name under `/console/`.
    name: &'static str,
    /// Its content.
    body: &'static str,
    /// Its media type.
    content_type: &'static str,
    /// `"<sha-256 prefix>"`, quoted as HTTP wants it.
    etag: String,
}

impl Asset {
    fn new(name: &'static str, body: &'static str, content_type: &'static str) -> Asset {
        let digest = Sha256::digest(body.as_bytes());
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        Asset {
            name,
            body,
            content_type,
            etag: format!("\"{hex}\""),
        }
    }
}

/// The page's media type.
const HTML: &str = "text/html; charset=utf-8";
/// The scripts' media type (what module scripts must be served as).
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
/// The style sheet's media type.
const CSS: &str = "text/css; charset=utf-8";

/// `console/NAME`, embedded, with its media type.
macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset::new(
            $name,
            include_str!(concat!("console/", $name)),
            $content_type,
        )
    };
}

/// The page, its style, and its script: `console.js` is the entry point, a module importing
/// the others.
static ASSETS: LazyLock<[Asset; 9]> = LazyLock::new(|| {
    [
        asset!("index.html", HTML),
        asset!("console.css", CSS),
        asset!("console.js", JAVASCRIPT),
        asset!("api.js", JAVASCRIPT),
        asset!("format.js", JAVASCRIPT),
        asset!("tables.js", JAVASCRIPT),
        asset!("charts.js", JAVASCRIPT),
        asset!("panels.js", JAVASCRIPT),
        asset!("plugins.js", JAVASCRIPT),
    ]
});

/// `/`, `/console` and `/console/...`: the routes the admin API merges into its own.
pub(super) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(to_console))
        .route("/console", get(to_console))
        .route("/console/", get(index))
        .route("/console/{file}", get(file))
}

async fn to_console() -> Redirect {
    Redirect::temporary(CONSOLE_PATH)
}

async fn index(request: HeaderMap) -> Response {
    serve(INDEX, &request)
}

async fn file(Path(name): Path<String>, request: HeaderMap) -> Response {
    serve(&name, &request)
}

/// The asset called `name` with the console's headers; a 304 when the request's
/// `If-None-Match` names its ETag, a JSON 404 when there is no such asset.
fn serve(name: &str, request: &HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        let error = json!({ "error": format!("no console file `{name}`") });
        return (StatusCode::NOT_FOUND, axum::Json(error)).into_response();
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Ok(etag) = HeaderValue::from_str(&asset.etag) {
        headers.insert(header::ETAG, etag);
    }
    if matches_etag(request, &asset.etag) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (StatusCode::OK, headers, asset.body).into_response()
}

/// Whether `If-None-Match` lists `etag` (or is `*`); weak tags compare equal to strong ones,
/// as RFC 9110 asks for this header.
fn matches_etag(request: &HeaderMap, etag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(name: &str) -> &'static Asset {
        let found = ASSETS.iter().find(|a| a.name == name);
        found.unwrap_or_else(|| panic!("no asset {name}"))
    }

    #[test]
    fn the_page_loads_its_script_and_style_from_files_only() {
        let page = asset(INDEX).body;
        // The policy would block inline code; the page must not depend on any.
        for (at, _) in page.match_indices("<script") {
            let tag = &page[at..at + page[at..].find('>').unwrap_or(0)];
            assert!(tag.contains(" src="), "inline script: {tag}");
        }
        assert!(!page.contains("<style"), "inline style element");
        assert!(!page.contains(" style="), "inline style attribute");
        assert!(!has_event_attribute(page), "inline event handler attribute");
        assert!(!page.contains("http://") && !page.contains("https://"));
    }

    /// ` on<letters>=`: an attribute such as `onclick=`, which the policy would block.
    fn has_event_attribute(page: &str) -> bool {
        page.match_indices(" on").any(|(at, _)| {
            let rest = &page[at + 3..];
            let letters = rest.len()
                - rest
                    .trim_start_matches(|c: char| c.is_ascii_lowercase())
                    .len();
            letters > 0 && rest[letters..].starts_with('=')
        })
    }

    #[test]
    fn the_scripts_never_parse_data_as_markup_or_code() {
        let scripts = ASSETS.iter().filter(|a| a.content_type == JAVASCRIPT);
        for script in scripts {
            for forbidden in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
                "new Function",
            ] {
                let name = script.name;
                assert!(!script.body.contains(forbidden), "{name} uses {forbidden}");
            }
            // The one URL is SVG's namespace, a name rather than a place fetched.
            let body = script.body.replace("\"http://www.w3.org/2000/svg\"", "");
            assert!(!body.contains("http://") && !body.contains("https://"));
        }
    }

    #[test]
    fn every_module_the_scripts_import_is_served() {
        let scripts = ASSETS.iter().filter(|a| a.content_type == JAVASCRIPT);
        for script in scripts {
            for (at, _) in script.body.match_indices(" from \"./") {
                let path = &script.body[at + 9..];
                let imported = &path[..path.find('"').unwrap_or(0)];
                let found = ASSETS.iter().any(|a| a.name == imported);
                assert!(
                    found,
                    "{} imports {imported}, which is not served",
                    script.name
                );
            }
        }
    }

    #[test]
    fn an_asset_is_served_with_its_type_and_the_policy() {
        let response = serve("console.js", &HeaderMap::new());
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers();
        assert_eq!(headers[header::CONTENT_TYPE], JAVASCRIPT);
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            CONTENT_SECURITY_POLICY
        );
        assert_eq!(headers[header::CACHE_CONTROL], CACHE_CONTROL);
        assert_eq!(headers[header::ETAG], asset("console.js").etag.as_str());
    }

    #[test]
    fn a_request_naming_the_current_etag_gets_not_modified() {
        let etag = &asset(INDEX).etag;
        let mut request = HeaderMap::new();
        let listed = format!("\"old\", W/{etag}");
        request.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&listed).unwrap_or_else(|e| panic!("{e}")),
        );
        assert_eq!(serve(INDEX, &request).status(), StatusCode::NOT_MODIFIED);
        request.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"old\""));
        assert_eq!(serve(INDEX, &request).status(), StatusCode::OK);
    }

    #[test]
    fn an_unknown_file_is_not_found() {
        let response = serve("../Cargo.toml", &HeaderMap::new());
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}
