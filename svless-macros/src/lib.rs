//! Procedural macros of [svless](https://docs.rs/svless). Use them through the `svless` crate:
//! the code they generate names only `::svless::` paths.

mod api;
mod entity;
mod errors;
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
    let mut errors = errors::Errors::default();
    for variant in &data.variants {
        if let Some(value) = errors.check(parse(variant)) {
            let v = &variant.ident;
            let pattern = match &variant.fields {
                syn::Fields::Named(_) => quote!(#ident::#v { .. }),
                syn::Fields::Unnamed(_) => quote!(#ident::#v(..)),
                syn::Fields::Unit => quote!(#ident::#v),
            };
            found.push((pattern, value));
        }
    }
    errors.finish()?;
    Ok(found)
}

/// The attributes the user wrote on a handler fn, sorted by where they belong.
pub(crate) struct UserAttributes<'a> {
    /// Doc comments and `#[deprecated]`: on the public item (the unit struct), so rustdoc shows
    /// them and uses of the route warn.
    pub(crate) public: Vec<&'a syn::Attribute>,
    /// `#[cfg]` and `#[cfg_attr]`: on everything the macro emits.
    pub(crate) cfgs: Vec<&'a syn::Attribute>,
    /// Everything else (`#[tracing::instrument]`, lint attributes): on the handler fn.
    pub(crate) handler: Vec<&'a syn::Attribute>,
    /// Whether the handler is deprecated (the generated code then allows the use).
    pub(crate) deprecated: bool,
}

impl<'a> UserAttributes<'a> {
    pub(crate) fn of(function: &'a syn::ItemFn) -> Self {
        let mut sorted = UserAttributes {
            public: Vec::new(),
            cfgs: Vec::new(),
            handler: Vec::new(),
            deprecated: false,
        };
        for attr in &function.attrs {
            let path = attr.path();
            if path.is_ident("doc") {
                sorted.public.push(attr);
                sorted.handler.push(attr);
            } else if path.is_ident("deprecated") {
                sorted.deprecated = true;
                sorted.public.push(attr);
            } else if path.is_ident("cfg") || path.is_ident("cfg_attr") {
                sorted.cfgs.push(attr);
            } else {
                sorted.handler.push(attr);
            }
        }
        sorted
    }
}

/// Puts the handler's `#[cfg]`s on every item of `tokens` (and, for a deprecated handler,
/// `#[allow(deprecated)]` on the items that name it), so a configured-out handler leaves nothing
/// behind.
pub(crate) fn on_every_item(
    function: &syn::ItemFn,
    tokens: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let attrs = UserAttributes::of(function);
    if attrs.cfgs.is_empty() && !attrs.deprecated {
        return tokens;
    }
    let Ok(mut file) = syn::parse2::<syn::File>(tokens.clone()) else {
        return tokens;
    };
    let allow: syn::Attribute = syn::parse_quote!(#[allow(deprecated)]);
    for item in &mut file.items {
        let (item_attrs, names_it) = match item {
            syn::Item::Struct(s) => (&mut s.attrs, false),
            syn::Item::Impl(i) => (&mut i.attrs, true),
            syn::Item::Const(c) => (&mut c.attrs, true),
            syn::Item::Fn(f) => (&mut f.attrs, true),
            _ => continue,
        };
        item_attrs.extend(attrs.cfgs.iter().map(|a| (*a).clone()));
        if attrs.deprecated && names_it {
            item_attrs.push(allow.clone());
        }
    }
    quote!(#file)
}

/// The unit struct that stands for a handler, with the function kept as `name::handler`.
pub(crate) fn handler_struct(function: &syn::ItemFn, what: &str) -> proc_macro2::TokenStream {
    let vis = &function.vis;
    let sig = &function.sig;
    let name = &sig.ident;
    let attrs = UserAttributes::of(function);
    let public = &attrs.public;
    let handler = &attrs.handler;
    let inputs = &sig.inputs;
    let output = &sig.output;
    let block = &function.block;
    let doc = format!("{what}; its handler is [`{name}::handler`].");
    let separator = (!public.is_empty()).then(|| quote!(#[doc = ""]));
    quote! {
        #(#public)*
        #separator
        #[doc = #doc]
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #name;

        impl #name {
            #(#handler)*
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
/// #[derive(Debug, svless::IntoProblem)]
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
#[proc_macro_derive(IntoProblem, attributes(problem))]
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

/// Declares a Kinesis Data Streams handler: `#[svless::kinesis]` on an `async fn` whose first
/// argument is a `svless::source::kinesis::Record<T>` (the data as JSON into `T`, or `Vec<u8>` /
/// `String` for the bytes or text). Records run in shard order; the first failure stops the batch
/// and is reported by its sequence number (`ReportBatchItemFailures`).
///
/// ```
/// use svless::source::kinesis::Record;
///
/// #[derive(serde::Deserialize)]
/// struct Click { page: String }
///
/// #[svless::kinesis]
/// async fn on_click(record: Record<Click>) {
///     println!("{}", record.data.page);
/// }
///
/// let app = svless::App::new().on(on_click);
/// ```
#[proc_macro_attribute]
pub fn kinesis(attr: TokenStream, item: TokenStream) -> TokenStream {
    events::expand(events::Source::Kinesis, attr.into(), item.into()).into()
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
/// `svless::IntoNamedError`, so that `Retry` and `Catch` match its `errorType`s.
///
/// ```
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize)]
/// struct Resize { key: String, width: u32 }
/// #[derive(Serialize)]
/// struct Resized { key: String }
///
/// #[derive(Debug, svless::IntoNamedError)]
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
/// `auth` feature of `svless`. It is chosen like a task: `App::task`, `SVLESS_HANDLER`, or a
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
/// #[derive(Debug, svless::IntoNamedError)]
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
#[proc_macro_derive(IntoNamedError, attributes(error_type))]
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

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_api(source: &str) -> syn::File {
        let function: syn::ItemFn = syn::parse_str(source).expect("a function");
        let tokens = api::expand(quote!(GET "/hello"), quote!(#function));
        syn::parse2(tokens).expect("items")
    }

    fn docs(attrs: &[syn::Attribute]) -> Vec<String> {
        attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"))
            .map(|a| quote!(#a).to_string())
            .collect()
    }

    #[test]
    fn doc_comments_and_deprecation_go_on_the_route_item_and_cfgs_on_every_item() {
        let file = expand_api(
            "/// Greets someone.\n#[deprecated]\n#[cfg(feature = \"greetings\")]\n#[inline]\nasync fn hello() -> &'static str { \"hi\" }",
        );
        let syn::Item::Struct(route) = &file.items[0] else {
            panic!("the route's struct comes first")
        };
        assert!(
            docs(&route.attrs)[0].contains("Greets someone."),
            "{:?}",
            docs(&route.attrs)
        );
        assert!(route.attrs.iter().any(|a| a.path().is_ident("deprecated")));
        for item in &file.items {
            let attrs = match item {
                syn::Item::Struct(i) => &i.attrs,
                syn::Item::Impl(i) => &i.attrs,
                syn::Item::Const(i) => &i.attrs,
                other => panic!("an unexpected item {}", quote!(#other)),
            };
            assert!(
                attrs.iter().any(|a| a.path().is_ident("cfg")),
                "every item is configured with the handler: {}",
                quote!(#item)
            );
        }
        // Other attributes stay on the handler fn.
        let syn::Item::Impl(holder) = &file.items[1] else {
            panic!("the handler's impl comes second")
        };
        let syn::ImplItem::Fn(handler) = &holder.items[0] else {
            panic!("the handler")
        };
        assert!(handler.attrs.iter().any(|a| a.path().is_ident("inline")));
        assert!(!route.attrs.iter().any(|a| a.path().is_ident("inline")));
    }
}
