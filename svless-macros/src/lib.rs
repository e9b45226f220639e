//! Procedural macros of [svless](https://docs.rs/svless). Use them through the `svless` crate:
//! the code they generate names only `::svless::` paths.

mod api;
mod entity;
mod events;
mod named_error;
mod path_params;
mod problem;
mod template;

use proc_macro::TokenStream;
use quote::quote;

/// Reads one attribute per variant of an enum with `parse`, collecting every error; each result
/// comes with the variant's match pattern (`Type::Variant { .. }`).
pub(crate) fn per_variant<T>(
    ident: &syn::Ident,
    data: &syn::DataEnum,
    mut parse: impl FnMut(&syn::Variant) -> syn::Result<T>,
) -> syn::Result<Vec<(proc_macro2::TokenStream, T)>> {
    let mut found = Vec::new();
    let mut errors: Option<syn::Error> = None;
    for variant in &data.variants {
        match parse(variant) {
            Ok(value) => {
                let v = &variant.ident;
                let pattern = match &variant.fields {
                    syn::Fields::Named(_) => quote!(#ident::#v { .. }),
                    syn::Fields::Unnamed(_) => quote!(#ident::#v(..)),
                    syn::Fields::Unit => quote!(#ident::#v),
                };
                found.push((pattern, value));
            }
            Err(err) => match &mut errors {
                Some(existing) => existing.combine(err),
                None => errors = Some(err),
            },
        }
    }
    match errors {
        Some(err) => Err(err),
        None => Ok(found),
    }
}

/// The unit struct that stands for a handler, with the function kept as `name::handler`.
pub(crate) fn handler_struct(function: &syn::ItemFn, what: &str) -> proc_macro2::TokenStream {
    let vis = &function.vis;
    let sig = &function.sig;
    let name = &sig.ident;
    let attrs = &function.attrs;
    let inputs = &sig.inputs;
    let output = &sig.output;
    let block = &function.block;
    let doc = format!("{what}; its handler is [`{name}::handler`].");
    quote! {
        #[doc = #doc]
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #name;

        impl #name {
            #(#attrs)*
            #vis async fn handler(#inputs) #output #block
        }
    }
}

/// Declares an HTTP route: `#[svless::api(GET "/todos/{id}")]` on an `async fn`.
///
/// The function becomes a unit struct of the same name that implements `svless::Endpoint`;
/// register it with `App::route(get_todo)`. The original function stays callable as
/// `get_todo::handler(...)`.
///
/// Checked at compile time: the method (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY),
/// the template (leading `/`, balanced braces, whole-segment parameters, no duplicate names,
/// `{proxy+}` only last), and that a `Path<T>` argument matches the template's parameters
/// (tuple arity, one value for one parameter, struct fields through `#[derive(svless::PathParams)]`).
///
/// ```
/// use svless::{App, Json, Path, api};
///
/// #[api(GET "/users/{owner}/todos/{id}")]
/// async fn get_todo(Path((owner, id)): Path<(String, u64)>) -> Json<String> {
///     Json(format!("{owner}/{id}"))
/// }
///
/// let app = App::new().route(get_todo);
/// assert_eq!(<get_todo as svless::Endpoint>::PATH, "/users/{owner}/todos/{id}");
/// ```
#[proc_macro_attribute]
pub fn api(attr: TokenStream, item: TokenStream) -> TokenStream {
    api::expand(attr.into(), item.into()).into()
}

/// Derives `svless::IntoProblem` and `svless::IntoResponse` for an error enum or struct.
///
/// Each variant (or the struct) takes `#[problem(status = 404)]`, optionally with
/// `type = "https://..."` and, with a type, `title = "..."` (RFC 9457: a problem of type
/// `about:blank` is titled by its status phrase, so a custom title without a custom type is a
/// compile error); the `Display` text becomes the problem's `detail` (not for 5xx statuses,
/// whose detail is never sent to clients).
///
/// ```
/// use svless::IntoProblem;
///
/// #[derive(Debug, svless::Problem)]
/// enum TodoError {
///     #[problem(status = 404, title = "Todo not found", type = "https://example.com/probs/todo-not-found")]
///     NotFound(u64),
///     #[problem(status = 409, type = "https://example.com/probs/locked")]
///     Locked,
/// }
///
/// impl std::fmt::Display for TodoError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         match self {
///             TodoError::NotFound(id) => write!(f, "no todo {id}"),
///             TodoError::Locked => f.write_str("the todo is locked"),
///         }
///     }
/// }
///
/// let problem = TodoError::NotFound(7).into_problem();
/// assert_eq!(problem.status(), 404);
/// assert_eq!(problem.detail(), Some("no todo 7"));
/// ```
#[proc_macro_derive(Problem, attributes(problem))]
pub fn derive_problem(item: TokenStream) -> TokenStream {
    problem::expand(item.into()).into()
}

/// Lists a struct's field names (after serde renaming) so `#[svless::api]` can check them
/// against the route template at compile time. Derive it beside `serde::Deserialize`.
///
/// ```
/// use svless::{Path, PathParams, api};
///
/// #[derive(serde::Deserialize, PathParams)]
/// #[serde(rename_all = "camelCase")]
/// struct TodoKey { owner_id: String, todo_id: u64 }
///
/// #[api(GET "/users/{ownerId}/todos/{todoId}")]
/// async fn get_todo(Path(key): Path<TodoKey>) -> String {
///     format!("{}/{}", key.owner_id, key.todo_id)
/// }
/// ```
#[proc_macro_derive(PathParams, attributes(serde))]
pub fn derive_path_params(item: TokenStream) -> TokenStream {
    path_params::expand(item.into()).into()
}

/// Declares an S3 event handler: `#[svless::s3(prefix = "uploads/", suffix = ".png", events = "ObjectCreated:*")]`
/// on an `async fn` whose first argument is a `svless::source::s3::S3Object`.
///
/// Every filter is optional; `events` takes one pattern or a list (`["ObjectCreated:*", "ObjectRemoved:Delete"]`).
/// The other arguments implement `svless::invocation::FromInvocation` (`State<T>`, `Context`); the result is
/// `()` or `Result<(), E>` with `E: svless::IntoNamedError`. Register it with `App::on`.
///
/// ```
/// use svless::source::s3::S3Object;
///
/// #[svless::s3(prefix = "uploads/", events = "ObjectCreated:*")]
/// async fn on_upload(object: S3Object) {
///     println!("new object {}", object.key);
/// }
///
/// let app = svless::App::new().on(on_upload);
/// ```
#[proc_macro_attribute]
pub fn s3(attr: TokenStream, item: TokenStream) -> TokenStream {
    events::expand(events::Source::S3, attr.into(), item.into()).into()
}

/// Declares a DynamoDB Streams handler on an `async fn` whose first argument is a
/// `svless::source::dynamodb::StreamRecord<T>`.
///
/// ```
/// use svless::source::dynamodb::{Change, StreamRecord};
///
/// #[derive(serde::Deserialize)]
/// struct Todo { id: String }
///
/// #[svless::dynamodb_stream]
/// async fn on_change(record: StreamRecord<Todo>) -> Result<(), svless::NamedError> {
///     if let Change::Insert { new } = record.change {
///         println!("new todo {}", new.id);
///     }
///     Ok(())
/// }
///
/// let app = svless::App::new().on(on_change);
/// ```
#[proc_macro_attribute]
pub fn dynamodb_stream(attr: TokenStream, item: TokenStream) -> TokenStream {
    events::expand(events::Source::DynamoDb, attr.into(), item.into()).into()
}

/// Declares an SQS handler on an `async fn` whose first argument is a `svless::source::sqs::Message<T>`.
///
/// ```
/// use svless::source::sqs::Message;
///
/// #[derive(serde::Deserialize)]
/// struct Job { image: String }
///
/// #[svless::sqs]
/// async fn on_job(message: Message<Job>) {
///     println!("resize {}", message.body.image);
/// }
///
/// let app = svless::App::new().on(on_job);
/// ```
#[proc_macro_attribute]
pub fn sqs(attr: TokenStream, item: TokenStream) -> TokenStream {
    events::expand(events::Source::Sqs, attr.into(), item.into()).into()
}

/// Declares an EventBridge handler: `#[svless::event(source = "com.example.orders", detail_type = "Order Placed")]`
/// on an `async fn` whose first argument is a `svless::source::eventbridge::Event<T>`.
///
/// ```
/// use svless::source::eventbridge::{Event, Scheduled};
///
/// #[derive(serde::Deserialize)]
/// struct OrderPlaced { order_id: String }
///
/// #[svless::event(source = "com.example.orders", detail_type = "Order Placed")]
/// async fn on_order(event: Event<OrderPlaced>) {
///     println!("order {}", event.detail.order_id);
/// }
///
/// #[svless::event(source = "aws.events", detail_type = "Scheduled Event")]
/// async fn nightly(event: Scheduled) {
///     println!("rule {:?}", event.resources);
/// }
///
/// let app = svless::App::new().on(on_order).on(nightly);
/// ```
#[proc_macro_attribute]
pub fn event(attr: TokenStream, item: TokenStream) -> TokenStream {
    events::expand(events::Source::EventBridge, attr.into(), item.into()).into()
}

/// Declares a Step Functions task: `#[svless::task]` (named like the function) or
/// `#[svless::task(name = "resize")]` on an `async fn` whose first argument is the state input
/// (any `serde::Deserialize` type; a mismatch fails as `Svless.InvalidTaskInput` naming the field)
/// and whose result is the task output (`serde::Serialize`), or `Result<O, E>` where `E` derives
/// `svless::NamedError`, so that `Retry` and `Catch` match its `errorType`s.
///
/// ```
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize)]
/// struct Resize { key: String, width: u32 }
/// #[derive(Serialize)]
/// struct Resized { key: String }
///
/// #[derive(Debug, svless::NamedError)]
/// enum ResizeError {
///     #[error_type("Image.TooLarge")]
///     TooLarge,
/// }
/// impl std::fmt::Display for ResizeError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("too large") }
/// }
///
/// #[svless::task(name = "resize")]
/// async fn resize(input: Resize, ctx: svless::Context) -> Result<Resized, ResizeError> {
///     if input.width > 4096 {
///         return Err(ResizeError::TooLarge);
///     }
///     Ok(Resized { key: format!("small/{}", input.key) })
/// }
///
/// let app = svless::App::new().on(resize);
/// ```
#[proc_macro_attribute]
pub fn task(attr: TokenStream, item: TokenStream) -> TokenStream {
    events::expand(events::Source::Task, attr.into(), item.into()).into()
}

/// Declares a WebSocket route handler: `#[svless::ws(route = "$connect")]` (or `$disconnect`,
/// `$default`, an action such as `sendmessage`) on an `async fn` whose first argument is a
/// `svless::source::websocket::WsMessage<T>` and whose result is a response: on `$connect`, an
/// error status (such as `Err(svless::Error::forbidden(..))`) refuses the connection.
///
/// ```
/// use svless::source::websocket::WsMessage;
///
/// #[svless::ws(route = "$connect")]
/// async fn connect(message: WsMessage<()>) -> Result<(), svless::Error> {
///     match message.query.get("token") {
///         Some(_) => Ok(()),
///         None => Err(svless::Error::unauthorized("a token is required")),
///     }
/// }
///
/// #[derive(serde::Deserialize)]
/// struct Chat { text: String }
///
/// #[svless::ws(route = "sendmessage")]
/// async fn send(message: WsMessage<Chat>) -> String {
///     format!("{} said {}", message.connection_id, message.body.text)
/// }
///
/// let app = svless::App::new().on(connect).on(send);
/// ```
#[proc_macro_attribute]
pub fn ws(attr: TokenStream, item: TokenStream) -> TokenStream {
    events::expand(events::Source::WebSocket, attr.into(), item.into()).into()
}

/// Declares a Lambda authorizer: `#[svless::authorizer]` (named like the function) or
/// `#[svless::authorizer(name = "authorize")]` on an `async fn` taking a
/// `svless::auth::authorizer::AuthorizerRequest` and returning an `Authorization`. Needs the
/// `auth` feature of `svless`. It is chosen like a task: `App::handler`, `SVLESS_HANDLER`, or a
/// function of its name.
///
/// ```
/// use svless::auth::authorizer::{Authorization, AuthorizerRequest};
///
/// #[svless::authorizer]
/// async fn authorize(request: AuthorizerRequest) -> Authorization {
///     match request.bearer_token() {
///         Some("letmein") => Authorization::Allow { principal_id: "user".into(), context: Default::default() },
///         _ => Authorization::Unauthorized,
///     }
/// }
///
/// let app = svless::App::new().on(authorize);
/// ```
#[proc_macro_attribute]
pub fn authorizer(attr: TokenStream, item: TokenStream) -> TokenStream {
    events::expand(events::Source::Authorizer, attr.into(), item.into()).into()
}

/// Derives `svless::IntoNamedError`: each variant (or the struct) names its Lambda `errorType`
/// with `#[error_type("Image.TooLarge")]`; the `Display` text is the `errorMessage`.
///
/// ```
/// use svless::IntoNamedError;
///
/// #[derive(Debug, svless::NamedError)]
/// enum ResizeError {
///     #[error_type("Image.TooLarge")]
///     TooLarge { megabytes: u64 },
///     #[error_type("Image.Unreadable")]
///     Unreadable,
/// }
///
/// impl std::fmt::Display for ResizeError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         match self {
///             ResizeError::TooLarge { megabytes } => write!(f, "the image has {megabytes} MB"),
///             ResizeError::Unreadable => f.write_str("the image cannot be read"),
///         }
///     }
/// }
///
/// let err = ResizeError::TooLarge { megabytes: 12 }.into_named_error();
/// assert_eq!((err.error_type(), err.message()), ("Image.TooLarge", "the image has 12 MB"));
/// ```
#[proc_macro_derive(NamedError, attributes(error_type))]
pub fn derive_named_error(item: TokenStream) -> TokenStream {
    named_error::expand(item.into()).into()
}

/// Derives `svless::store::dynamo::Entity` from key templates over the struct's fields.
///
/// ```
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, svless::Entity)]
/// #[entity(pk = "USER#{owner}", sk = "TODO#{id}")]
/// #[entity(index = "gsi1", pk = "STATUS#{status}", sk = "{created_at}")]
/// struct Todo { owner: String, id: String, status: String, created_at: String, title: String }
///
/// let key = Todo::key("u1", "7");
/// assert_eq!((key.pk.as_str(), key.sk.as_deref()), ("USER#u1", Some("TODO#7")));
/// assert_eq!(Todo::gsi1_partition("open").pk, "STATUS#open");
/// ```
///
/// An index attribute without `pk` is a local secondary index: it shares the table's partition
/// key (`#[entity(index = "by_due", sk = "{due}")]`).
///
/// A template that names a missing field, or a field whose type cannot be part of a key, is a
/// compile error. The derive also writes `Todo::key(owner, id)`, `Todo::partition(owner)` and
/// `Todo::gsi1_partition(status)`.
#[proc_macro_derive(Entity, attributes(entity))]
pub fn derive_entity(item: TokenStream) -> TokenStream {
    entity::expand(item.into()).into()
}
