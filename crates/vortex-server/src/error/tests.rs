use axum::body::to_bytes;

use super::*;

/// What a client sees of an error: status, headers and body.
async fn seen(error: ApiError) -> String {
    let response = error.into_response();
    let mut out = format!("{}\n", response.status());
    for (name, value) in response.headers() {
        out.push_str(&format!("{name}: {}\n", value.to_str().unwrap()));
    }
    let body = to_bytes(response.into_body(), 4096).await.unwrap();
    out.push_str(std::str::from_utf8(&body).unwrap());
    out
}

#[tokio::test]
async fn every_code_answers_as_its_snapshot_says() {
    for code in ErrorCode::ALL {
        insta::assert_snapshot!(code.as_str().to_owned() + "-" + &format!("{code:?}"), seen(ApiError::of(code)).await);
    }
}

/// `docs/api.md`'s status table lists exactly the rows of [`ErrorCode`] (each status and code
/// once), so the documentation cannot drift from what the server answers.
#[test]
fn the_api_documentation_lists_every_code() {
    let docs = include_str!("../../../../docs/api.md");
    let table = docs.split("## Status codes").nth(1).unwrap().split("\n## ").next().unwrap();
    let mut documented: Vec<(u16, String)> = table
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let status = cells.get(1)?.parse::<u16>().ok()?;
            let code = cells.get(2)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((status, code.to_owned()))
        })
        .collect();
    documented.sort();
    let mut served: Vec<(u16, String)> =
        ErrorCode::ALL.iter().map(|code| (code.status().as_u16(), code.as_str().to_owned())).collect();
    served.sort();
    served.dedup();
    assert_eq!(documented, served);
}

#[test]
fn statuses_from_other_layers_map_to_a_row() {
    for code in ErrorCode::ALL {
        assert_eq!(ErrorCode::for_status(code.status()).status(), code.status(), "{code:?}");
    }
    assert_eq!(ErrorCode::for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE), ErrorCode::InvalidRequest);
    assert_eq!(ErrorCode::for_status(StatusCode::NOT_IMPLEMENTED), ErrorCode::Internal);
}

#[test]
fn internal_errors_say_nothing_internal() {
    let err = CoreError::Backend {
        kind: ErrorKind::Internal,
        message: "git fetch failed: /srv/secret/path".to_owned(),
        source: None,
    };
    let api = ApiError::from(err);
    assert_eq!(api.code(), ErrorCode::Internal);
    assert_eq!(api.message, "internal server error");
}
