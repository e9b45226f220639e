//! `#[svless::api(METHOD "/template")]`: parse, validate, expand.

use crate::template;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, Ident, ItemFn, LitStr, PathArguments, Type};

const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY",
];

/// `GET "/todos/{id}"`
struct Route {
    method: Ident,
    path: LitStr,
}

impl Parse for Route {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                "a route needs a method and a template: write `#[svless::api(GET \"/todos/{id}\")]`",
            ));
        }
        if input.peek(LitStr) {
            let path: LitStr = input.parse()?;
            return Err(syn::Error::new(
                path.span(),
                "the method comes first: write `#[svless::api(GET \"...\")]`",
            ));
        }
        let method: Ident = input.parse()?;
        if input.is_empty() {
            return Err(syn::Error::new(
                method.span(),
                "the method needs a route template after it: write `#[svless::api(GET \"/todos/{id}\")]`",
            ));
        }
        let path: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "the route template is a string literal: write `GET \"/todos/{id}\"`",
            )
        })?;
        if !input.is_empty() {
            let rest: TokenStream = input.parse()?;
            return Err(syn::Error::new_spanned(
                rest,
                "unexpected tokens after the route template: write `#[svless::api(GET \"/todos/{id}\")]`",
            ));
        }
        Ok(Route { method, path })
    }
}

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let err = syn::Error::new_spanned(&item, "`#[svless::api]` goes on an `async fn`")
                .into_compile_error();
            return quote! { #item #err };
        }
    };
    match expand_fn(attr, &function) {
        Ok(tokens) => crate::on_every_item(&function, tokens),
        Err(err) => {
            let err = err.into_compile_error();
            quote! { #function #err }
        }
    }
}

/// The `T` of an argument typed `Path<T>` (also `svless::Path<T>`).
fn path_inner(ty: &Type) -> Option<&Type> {
    extractor_inner(ty, "Path")
}

/// The `T` of an argument typed `<extractor><T>`.
fn extractor_inner<'t>(ty: &'t Type, extractor: &str) -> Option<&'t Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != extractor {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first() {
        Some(GenericArgument::Type(inner)) if args.args.len() == 1 => Some(inner),
        _ => None,
    }
}

const SCALARS: [&str; 20] = [
    "String", "str", "bool", "char", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16",
    "i32", "i64", "i128", "isize", "f32", "f64", "Uuid", "Cow",
];

/// A query string is a list of `key=value` pairs: `Query<T>` takes a struct (or a map, or a
/// list of pairs). A list or a scalar of anything else can never deserialize.
fn check_query(inner: &Type) -> Result<(), syn::Error> {
    let Type::Path(path) = inner else {
        return Ok(());
    };
    let Some(last) = path.path.segments.last() else {
        return Ok(());
    };
    let shape = quote!(#inner).to_string().replace(' ', "");
    if SCALARS.iter().any(|n| last.ident == n) {
        return Err(syn::Error::new_spanned(
            inner,
            format!(
                "`Query<{shape}>` can never deserialize: a query string is a list of `key=value` pairs. Write a struct with a field per key (`#[derive(Deserialize)] struct Params {{ q: String }}`), or `Query<Vec<(String, String)>>` for every pair"
            ),
        ));
    }
    let lists = ["Vec", "VecDeque", "HashSet", "BTreeSet"];
    if lists.iter().any(|n| last.ident == n)
        && let PathArguments::AngleBracketed(args) = &last.arguments
        && let Some(GenericArgument::Type(element)) = args.args.first()
        && !matches!(element, Type::Tuple(t) if t.elems.len() == 2)
    {
        return Err(syn::Error::new_spanned(
            inner,
            format!(
                "`Query<{shape}>` can never deserialize: a query string is a list of `key=value` pairs, not of values. For a repeated key (`?tag=a&tag=b`) write a struct with a `Vec` field (`struct Params {{ tag: Vec<String> }}`); for every pair write `Query<Vec<(String, String)>>`"
            ),
        ));
    }
    Ok(())
}

fn check_path(
    ty: &Type,
    inner: &Type,
    route: &str,
    params: &[String],
) -> Result<TokenStream, syn::Error> {
    let list = params.join(", ");
    match inner {
        Type::Tuple(tuple) => {
            if tuple.elems.len() != params.len() {
                return Err(syn::Error::new_spanned(
                    ty,
                    format!(
                        "`{route}` has {} path parameter(s) ({list}) but this `Path` takes a tuple of {}: give the tuple one element per parameter, in template order",
                        params.len(),
                        tuple.elems.len()
                    ),
                ));
            }
            Ok(TokenStream::new())
        }
        Type::Reference(_) => Err(syn::Error::new_spanned(
            inner,
            "path parameters are owned values: write `Path<String>` rather than a reference",
        )),
        Type::Path(path)
            if path.qself.is_none()
                && path
                    .path
                    .segments
                    .last()
                    .is_some_and(|s| SCALARS.iter().any(|n| s.ident == n)) =>
        {
            if params.len() != 1 {
                let hint = if params.is_empty() {
                    "remove the `Path` argument".to_owned()
                } else {
                    format!(
                        "write `Path<({})>` with one type per parameter, or a struct deriving `svless::PathParams`",
                        vec!["_"; params.len()].join(", ")
                    )
                };
                return Err(syn::Error::new_spanned(
                    ty,
                    format!(
                        "`{route}` has {} path parameter(s) ({list}) but `Path<{}>` takes exactly one: {hint}",
                        params.len(),
                        quote!(#inner)
                    ),
                ));
            }
            Ok(TokenStream::new())
        }
        _ => {
            let names = params.iter();
            let type_name = quote!(#inner).to_string().replace(' ', "");
            let message = format!(
                "the fields of `{type_name}` must be the parameters of `{route}`: {}",
                if params.is_empty() {
                    "none".to_owned()
                } else {
                    list.clone()
                }
            );
            Ok(quote_spanned! {inner.span()=>
                const _: () = {
                    if !::svless::__private::same_names(
                        <#inner as ::svless::__private::PathFields>::FIELDS,
                        &[#(#names),*],
                    ) {
                        ::core::panic!("{}", #message);
                    }
                };
            })
        }
    }
}

fn expand_fn(attr: TokenStream, function: &ItemFn) -> syn::Result<TokenStream> {
    let route: Route = syn::parse2(attr)?;
    let mut errors = crate::errors::Errors::default();

    let method = route.method.to_string();
    if !METHODS.contains(&method.as_str()) {
        let upper = method.to_ascii_uppercase();
        let hint = if METHODS.contains(&upper.as_str()) {
            format!("methods are upper case: write `{upper}`")
        } else {
            format!("write one of {}", METHODS.join(", "))
        };
        errors.push(syn::Error::new(
            route.method.span(),
            format!("unknown HTTP method `{method}`: {hint}"),
        ));
    }
    let raw = route.path.value();
    let params = match template::parse(&raw) {
        Ok(parsed) => Some(parsed.params),
        Err(message) => {
            errors.push(syn::Error::new(route.path.span(), message));
            None
        }
    };

    let sig = &function.sig;
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new(
            sig.fn_token.span(),
            "`#[svless::api]` handlers are `async fn`: write `async fn`",
        ));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "a route handler cannot be generic: name concrete types in its arguments",
        ));
    }
    let mut types = Vec::new();
    let mut checks = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.push(syn::Error::new_spanned(
                receiver,
                "a route handler is a free function: remove `self`",
            )),
            FnArg::Typed(typed) => {
                // A `Path` is checked against the template only when the template itself is valid.
                if let (Some(inner), Some(params)) = (path_inner(&typed.ty), &params) {
                    match check_path(&typed.ty, inner, &raw, params) {
                        Ok(check) => checks.push(check),
                        Err(err) => errors.push(err),
                    }
                }
                if let Some(inner) = extractor_inner(&typed.ty, "Query")
                    && let Err(err) = check_query(inner)
                {
                    errors.push(err);
                }
                types.push(typed.ty.clone());
            }
        }
    }
    errors.finish()?;

    let name = &sig.ident;
    let args: Vec<Ident> = (0..types.len())
        .map(|i| format_ident!("__svless_arg{i}"))
        .collect();
    let holder = crate::handler_struct(function, &format!("The route `{method} {raw}`"));
    let returns = match &sig.output {
        syn::ReturnType::Default => quote!(()),
        syn::ReturnType::Type(_, ty) if mentions_impl(ty) => quote!(?),
        syn::ReturnType::Type(_, ty) => quote!(#ty),
    };
    let summary = doc_summary(&function.attrs);

    Ok(quote! {
        #holder

        #(#checks)*

        impl ::svless::Endpoint for #name {
            const METHOD: &'static str = #method;
            const PATH: &'static str = #raw;
            type Args = (#(#types,)*);

            fn call(self, (#(#args,)*): Self::Args)
                -> impl ::core::future::Future<Output = ::svless::Response> + ::core::marker::Send
            {
                async move { ::svless::IntoResponse::into_response(#name::handler(#(#args),*).await) }
            }

            ::svless::__describe_endpoint! { #summary (#(#types),*) -> #returns }
        }
    })
}

/// Whether a type is or contains `impl Trait` (which cannot be named outside the signature).
fn mentions_impl(ty: &Type) -> bool {
    quote!(#ty)
        .into_iter()
        .any(|t| matches!(t, proc_macro2::TokenTree::Ident(i) if i == "impl"))
        || quote!(#ty).to_string().contains("impl ")
}

/// The first paragraph of the doc comment, on one line.
fn doc_summary(attrs: &[syn::Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &attr.meta
            && let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
        {
            let line = s.value().trim().to_owned();
            if line.is_empty() {
                if !lines.is_empty() {
                    break;
                }
                continue;
            }
            lines.push(line);
        }
    }
    lines.join(" ")
}
