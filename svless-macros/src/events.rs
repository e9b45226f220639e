//! `#[svless::s3]`, `#[svless::dynamodb_stream]`, `#[svless::sqs]`, `#[svless::event]`:
//! parse the options, validate the function, expand into a `Subscribe` implementation.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprArray, ExprLit, FnArg, Ident, ItemFn, Lit, LitStr, Meta, Token, Type};

#[derive(Clone, Copy)]
pub(crate) enum Source {
    S3,
    DynamoDb,
    Sqs,
    Kinesis,
    EventBridge,
    Task,
    WebSocket,
    Authorizer,
}

impl Source {
    fn attribute(self) -> &'static str {
        match self {
            Source::S3 => "#[svless::s3]",
            Source::DynamoDb => "#[svless::dynamodb_stream]",
            Source::Sqs => "#[svless::sqs]",
            Source::Kinesis => "#[svless::kinesis]",
            Source::EventBridge => "#[svless::event]",
            Source::Task => "#[svless::task]",
            Source::WebSocket => "#[svless::ws]",
            Source::Authorizer => "#[svless::authorizer]",
        }
    }

    /// The marker of the source whose `Record` the first argument must implement.
    fn record_kind(self) -> Option<TokenStream> {
        Some(match self {
            Source::S3 => quote!(::svless::source::kind::S3),
            Source::DynamoDb => quote!(::svless::source::kind::DynamoDbStreams),
            Source::Sqs => quote!(::svless::source::kind::Sqs),
            Source::Kinesis => quote!(::svless::source::kind::Kinesis),
            Source::EventBridge => quote!(::svless::source::kind::EventBridge),
            Source::Task => return None,
            Source::WebSocket => quote!(::svless::source::kind::WebSocket),
            Source::Authorizer => quote!(::svless::source::kind::Authorizer),
        })
    }

    fn record_hint(self) -> &'static str {
        match self {
            Source::S3 => "`object: svless::source::s3::S3Object`",
            Source::DynamoDb => "`record: svless::source::dynamodb::StreamRecord<YourItem>`",
            Source::Sqs => "`message: svless::source::sqs::Message<YourBody>`",
            Source::Kinesis => "`record: svless::source::kinesis::Record<YourData>`",
            Source::EventBridge => "`event: svless::source::eventbridge::Event<YourDetail>`",
            Source::Task => "`input: YourInput` (any type that implements `serde::Deserialize`)",
            Source::WebSocket => {
                "`message: svless::source::websocket::WsMessage<YourBody>` (`WsMessage<()>` for none)"
            }
            Source::Authorizer => "`request: svless::auth::authorizer::AuthorizerRequest`",
        }
    }

    fn keys(self) -> &'static [&'static str] {
        match self {
            Source::S3 => &["prefix", "suffix", "events"],
            Source::DynamoDb | Source::Sqs | Source::Kinesis => &[],
            Source::EventBridge => &["source", "detail_type"],
            Source::Task => &["name"],
            Source::WebSocket => &["route"],
            Source::Authorizer => &["name"],
        }
    }
}

#[derive(Default)]
struct Options {
    prefix: Option<LitStr>,
    suffix: Option<LitStr>,
    events: Vec<LitStr>,
    source: Option<LitStr>,
    detail_type: Option<LitStr>,
    name: Option<LitStr>,
    route: Option<LitStr>,
}

fn string(expr: &Expr, key: &str) -> syn::Result<LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.clone()),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` takes a string: `{key} = \"...\"`"),
        )),
    }
}

fn parse_options(source: Source, attr: TokenStream) -> syn::Result<Options> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr)?;
    let mut options = Options::default();
    for meta in metas {
        let Meta::NameValue(pair) = &meta else {
            return Err(syn::Error::new_spanned(
                &meta,
                format!(
                    "write options as `key = \"value\"`; {} takes {}",
                    source.attribute(),
                    list(source.keys())
                ),
            ));
        };
        let key = pair
            .path
            .get_ident()
            .map(Ident::to_string)
            .unwrap_or_default();
        match (source, key.as_str()) {
            (Source::S3, "prefix") => options.prefix = Some(string(&pair.value, "prefix")?),
            (Source::S3, "suffix") => options.suffix = Some(string(&pair.value, "suffix")?),
            (Source::S3, "events") => {
                let patterns = match &pair.value {
                    Expr::Array(ExprArray { elems, .. }) => elems
                        .iter()
                        .map(|e| string(e, "events"))
                        .collect::<syn::Result<Vec<_>>>()?,
                    other => vec![string(other, "events")?],
                };
                for pattern in &patterns {
                    let value = pattern.value();
                    let value = value.strip_prefix("s3:").unwrap_or(&value);
                    if !svless_grammar::s3::is_event_type(value) {
                        return Err(syn::Error::new(
                            pattern.span(),
                            format!(
                                "`{value}` is not an S3 event type: did you mean `{}`? (S3's types are `ObjectCreated:Put`, `ObjectCreated:*`, `ObjectRemoved:DeleteMarkerCreated`, ...)",
                                svless_grammar::s3::nearest_event_type(value)
                            ),
                        ));
                    }
                }
                options.events = patterns;
            }
            (Source::EventBridge, "source") => {
                options.source = Some(string(&pair.value, "source")?)
            }
            (Source::EventBridge, "detail_type") => {
                options.detail_type = Some(string(&pair.value, "detail_type")?)
            }
            (Source::WebSocket, "route") => {
                let route = string(&pair.value, "route")?;
                let value = route.value();
                if value.is_empty() || value.contains(char::is_whitespace) {
                    return Err(syn::Error::new(
                        route.span(),
                        "a route key is one word: `$connect`, `$disconnect`, `$default` or an action such as `sendmessage`",
                    ));
                }
                if value.starts_with('$')
                    && !["$connect", "$disconnect", "$default"].contains(&value.as_str())
                {
                    return Err(syn::Error::new(
                        route.span(),
                        format!(
                            "`{value}` is no WebSocket route: the `$` routes are `$connect`, `$disconnect` and `$default`"
                        ),
                    ));
                }
                options.route = Some(route);
            }
            (Source::Task | Source::Authorizer, "name") => {
                let name = string(&pair.value, "name")?;
                if name.value().is_empty() || name.value().contains(char::is_whitespace) {
                    return Err(syn::Error::new(
                        name.span(),
                        "a task name is one word, such as `resize`",
                    ));
                }
                options.name = Some(name);
            }
            _ => {
                return Err(syn::Error::new_spanned(
                    &pair.path,
                    format!(
                        "unknown option `{key}`: {} takes {}",
                        source.attribute(),
                        list(source.keys())
                    ),
                ));
            }
        }
    }
    Ok(options)
}

fn list(keys: &[&str]) -> String {
    if keys.is_empty() {
        "no options".to_owned()
    } else {
        keys.iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub(crate) fn expand(source: Source, attr: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let err = syn::Error::new_spanned(
                &item,
                format!("{} goes on an `async fn`", source.attribute()),
            )
            .into_compile_error();
            return quote! { #item #err };
        }
    };
    match expand_fn(source, attr, &function) {
        Ok(tokens) => crate::on_every_item(&function, tokens),
        Err(err) => {
            let err = err.into_compile_error();
            quote! { #function #err }
        }
    }
}

/// The `E` of a `-> Result<O, E>` return type.
fn task_error(output: &syn::ReturnType) -> Option<&Type> {
    let syn::ReturnType::Type(_, ty) = output else {
        return None;
    };
    let Type::Path(path) = &**ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.iter().nth(1) {
        Some(syn::GenericArgument::Type(error)) => Some(error),
        _ => None,
    }
}

/// Primitives, `String`, references, tuples, slices and arrays: never an event record.
fn plainly_not_a_record(ty: &Type) -> bool {
    const PLAIN: [&str; 18] = [
        "String", "str", "bool", "char", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16",
        "i32", "i64", "i128", "isize", "f32", "f64",
    ];
    match ty {
        Type::Path(path) => {
            path.qself.is_none()
                && path.path.segments.len() == 1
                && PLAIN.iter().any(|p| path.path.segments[0].ident == p)
        }
        Type::Reference(_) | Type::Tuple(_) | Type::Slice(_) | Type::Array(_) => true,
        _ => false,
    }
}

fn expand_fn(source: Source, attr: TokenStream, function: &ItemFn) -> syn::Result<TokenStream> {
    let options = parse_options(source, attr)?;
    let sig = &function.sig;
    let mut errors = crate::errors::Errors::default();
    let mut add = |err: syn::Error| errors.push(err);
    if sig.asyncness.is_none() {
        add(syn::Error::new(
            sig.fn_token.span(),
            format!(
                "{} handlers are `async fn`: write `async fn`",
                source.attribute()
            ),
        ));
    }
    if !sig.generics.params.is_empty() {
        add(syn::Error::new_spanned(
            &sig.generics,
            "an event handler cannot be generic: name concrete types in its arguments",
        ));
    }
    let mut types = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => add(syn::Error::new_spanned(
                receiver,
                "an event handler is a free function: remove `self`",
            )),
            FnArg::Typed(typed) => types.push((*typed.ty).clone()),
        }
    }
    match types.first() {
        None => add(syn::Error::new(
            sig.ident.span(),
            format!(
                "an event handler takes its record first: add {}",
                source.record_hint()
            ),
        )),
        // A type that is plainly no record (a primitive, a reference, a tuple) is refused here
        // with the record to write; any other is checked by the trait it must implement, so
        // aliases (`type Upload = S3Object;`) work.
        Some(first) if !matches!(source, Source::Task) && plainly_not_a_record(first) => {
            add(syn::Error::new_spanned(
                first,
                format!(
                    "the first argument of a {} handler is its record: write {}",
                    source.attribute(),
                    source.record_hint()
                ),
            ))
        }
        Some(_) => {}
    }
    errors.finish()?;

    let name = &sig.ident;
    let record_ty = &types[0];
    let rest = &types[1..];
    let args: Vec<Ident> = (0..rest.len())
        .map(|i| format_ident!("__svless_arg{i}"))
        .collect();
    let extracts = rest.iter().zip(&args).map(|(ty, arg)| {
        quote_spanned! {ty.span()=>
            let #arg = match <#ty as ::svless::invocation::FromInvocation<__S>>::from_invocation(&__invocation) {
                Ok(value) => value,
                Err(err) => return Err(::svless::IntoNamedError::into_named_error(err)),
            };
        }
    });
    let call = if matches!(source, Source::WebSocket) {
        let extracts = rest.iter().zip(&args).map(|(ty, arg)| {
            quote_spanned! {ty.span()=>
                let #arg = match <#ty as ::svless::invocation::FromInvocation<__S>>::from_invocation(&__invocation) {
                    Ok(value) => value,
                    Err(err) => return ::svless::IntoResponse::into_response(::svless::Error::internal(err)),
                };
            }
        });
        quote! {
            move |__record: #record_ty, __invocation: ::svless::invocation::Invocation<__S>| async move {
                #(#extracts)*
                ::svless::IntoResponse::into_response(#name::handler(__record, #(#args),*).await)
            }
        }
    } else if matches!(source, Source::Task) {
        let finish = match task_error(&sig.output) {
            Some(_) => {
                quote!(#name::handler(__record, #(#args),*).await.map_err(::svless::IntoNamedError::into_named_error))
            }
            None => {
                quote!(::core::result::Result::<_, ::svless::NamedError>::Ok(#name::handler(__record, #(#args),*).await))
            }
        };
        quote! {
            move |__record: #record_ty, __invocation: ::svless::invocation::Invocation<__S>| async move {
                #(#extracts)*
                #finish
            }
        }
    } else {
        quote! {
            move |__record: #record_ty, __invocation: ::svless::invocation::Invocation<__S>| async move {
                #(#extracts)*
                ::svless::IntoOutcome::into_outcome(#name::handler(__record, #(#args),*).await)
            }
        }
    };
    let register = match source {
        Source::S3 => {
            let mut filter = quote!(::svless::source::s3::S3Filter::new());
            if let Some(prefix) = &options.prefix {
                filter = quote!(#filter.prefix(#prefix));
            }
            if let Some(suffix) = &options.suffix {
                filter = quote!(#filter.suffix(#suffix));
            }
            for event in &options.events {
                filter = quote!(#filter.event(#event));
            }
            quote!(::svless::source::s3::subscribe(sources, #filter, #call))
        }
        Source::DynamoDb => quote!(::svless::source::dynamodb::subscribe(sources, #call)),
        Source::Sqs => quote!(::svless::source::sqs::subscribe(sources, #call)),
        Source::Kinesis => quote!(::svless::source::kinesis::subscribe(sources, #call)),
        Source::EventBridge => {
            let opt = |v: &Option<LitStr>| match v {
                Some(v) => quote!(::core::option::Option::Some(#v)),
                None => quote!(::core::option::Option::None),
            };
            let (s, d) = (opt(&options.source), opt(&options.detail_type));
            quote!(::svless::source::eventbridge::subscribe(sources, #s, #d, #call))
        }
        Source::Authorizer => {
            if !rest.is_empty() {
                return Err(syn::Error::new_spanned(
                    &rest[0],
                    "an authorizer takes only its request: `async fn authorize(request: AuthorizerRequest) -> Authorization`",
                ));
            }
            let task_name = options
                .name
                .clone()
                .unwrap_or_else(|| LitStr::new(&name.to_string(), name.span()));
            quote!(::svless::source::Subscribe::<__S>::subscribe(
                ::svless::auth::authorizer::Authorizer::new(#task_name, #name::handler),
                sources,
            ))
        }
        Source::WebSocket => {
            let Some(route) = &options.route else {
                return Err(syn::Error::new(
                    Span::call_site(),
                    "name the route: `#[svless::ws(route = \"$connect\")]` (or `$disconnect`, `$default`, an action)",
                ));
            };
            quote!(::svless::source::websocket::subscribe(sources, #route, #call))
        }
        Source::Task => {
            let task_name = options
                .name
                .clone()
                .unwrap_or_else(|| LitStr::new(&name.to_string(), name.span()));
            let errors = match task_error(&sig.output) {
                Some(error) => quote!(<#error as ::svless::source::task::ErrorNames>::NAMES),
                None => quote!(&[]),
            };
            quote!(::svless::source::task::subscribe(sources, #task_name, #errors, #call))
        }
    };
    let what = match source {
        Source::S3 => "An S3 event handler".to_owned(),
        Source::DynamoDb => "A DynamoDB Streams handler".to_owned(),
        Source::Sqs => "An SQS handler".to_owned(),
        Source::Kinesis => "A Kinesis Data Streams handler".to_owned(),
        Source::EventBridge => "An EventBridge handler".to_owned(),
        Source::Task => "A Step Functions task".to_owned(),
        Source::WebSocket => "A WebSocket route handler".to_owned(),
        Source::Authorizer => "A Lambda authorizer".to_owned(),
    };
    let holder = crate::handler_struct(function, &what);
    let record_check = source.record_kind().map(|kind| {
        quote_spanned! {record_ty.span()=>
            const _: () = {
                fn record<R: ::svless::source::Record<#kind>>() {}
                #[allow(dead_code)]
                fn check() {
                    record::<#record_ty>();
                }
            };
        }
    });
    let bounds = rest
        .iter()
        .map(|ty| quote_spanned!(ty.span()=> #ty: ::svless::invocation::FromInvocation<__S>,));
    Ok(quote! {
        #holder

        #record_check

        impl<__S> ::svless::source::Subscribe<__S> for #name
        where
            __S: ::core::marker::Send + ::core::marker::Sync + 'static,
            #(#bounds)*
        {
            fn subscribe(self, sources: &mut ::svless::source::Sources<__S>) {
                #register;
            }
        }
    })
}
