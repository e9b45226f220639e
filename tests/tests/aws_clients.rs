//! The AWS clients behind svless's features, against the moto server the test command starts
//! (`SVLESS_MOTO_ENDPOINT`): Step Functions callbacks and WebSocket connection posts.

use svless::NamedError;
use svless::source::task::TaskToken;
use svless::source::websocket::{Connections, PostError, post_error};

use svless_tests::moto_endpoint as endpoint;

async fn config() -> aws_config::SdkConfig {
    svless_tests::moto_config().await
}

#[tokio::test]
async fn a_waiting_task_is_reported_to_step_functions() {
    // The local server accepts any token (it runs no state machine); AWS checks it.
    let sfn = aws_sdk_sfn::Client::new(&config().await);
    let token: TaskToken =
        serde_json::from_str("\"AQB8AAAAKgAAAAMAAAAAAAAAAf0123\"").expect("a token");
    token
        .succeed(&sfn, &serde_json::json!({"approved": true}))
        .await
        .expect("SendTaskSuccess is taken");
    token
        .fail(
            &sfn,
            &NamedError::new("Order.Rejected", "the manager said no"),
        )
        .await
        .expect("SendTaskFailure is taken");
}

#[tokio::test]
async fn messages_are_posted_to_a_connection() {
    let connections = Connections::with_endpoint(&config().await, &endpoint());
    connections
        .post("XAmrFdFXoAMCHBw=", b"hello".to_vec())
        .await
        .expect("the post is taken");
}

#[test]
fn a_gone_connection_is_its_own_case() {
    use aws_sdk_apigatewaymanagement::error::SdkError;
    use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
    use aws_sdk_apigatewaymanagement::types::error::{ForbiddenException, GoneException};
    let response = |status: u16| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(status).expect("a status"),
            aws_smithy_types::body::SdkBody::empty(),
        )
    };
    let gone = SdkError::service_error(
        PostToConnectionError::GoneException(GoneException::builder().build()),
        response(410),
    );
    assert!(matches!(post_error("abc=", gone), PostError::Gone(id) if id == "abc="));
    let forbidden = SdkError::service_error(
        PostToConnectionError::ForbiddenException(ForbiddenException::builder().build()),
        response(403),
    );
    assert!(matches!(
        post_error("abc=", forbidden),
        PostError::Service(_)
    ));
}
