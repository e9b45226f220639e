//! `#[derive(svless::IntoProblem)]`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, LitInt, LitStr};

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    match expand_inner(input) {
        Ok(tokens) => tokens,
        Err(err) => err.into_compile_error(),
    }
}

struct ProblemAttr {
    status: u16,
    title: Option<LitStr>,
    kind: Option<LitStr>,
}

fn parse_attr(
    attrs: &[syn::Attribute],
    span_of: &dyn quote::ToTokens,
    what: &str,
) -> syn::Result<ProblemAttr> {
    let Some(attr) = attrs.iter().find(|a| a.path().is_ident("problem")) else {
        return Err(syn::Error::new_spanned(
            span_of,
            format!(
                "{what} needs a status: add `#[problem(status = 404)]` (any 4xx or 5xx status)"
            ),
        ));
    };
    let mut status = None;
    let mut title: Option<LitStr> = None;
    let mut kind = None;
    attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("status") {
            let lit: LitInt = meta.value()?.parse()?;
            let value: u16 = lit.base10_parse()?;
            if !(400..=599).contains(&value) {
                return Err(syn::Error::new(lit.span(), "a problem's status is an error status: write a number from 400 to 599"));
            }
            status = Some(value);
        } else if meta.path.is_ident("title") {
            title = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("type") {
            kind = Some(meta.value()?.parse()?);
        } else {
            return Err(meta.error("unknown key: `#[problem(...)]` takes `status = 404`, `title = \"...\"` and `type = \"https://...\"`"));
        }
        Ok(())
    })?;
    let Some(status) = status else {
        return Err(syn::Error::new_spanned(
            attr,
            "add the status: `#[problem(status = 404)]`",
        ));
    };
    if let (Some(title), None) = (&title, &kind) {
        return Err(syn::Error::new(
            title.span(),
            "a custom title needs a custom type (RFC 9457: with `about:blank` the title is the status phrase): add `type = \"https://example.com/probs/...\"`, or drop the title",
        ));
    }
    Ok(ProblemAttr {
        status,
        title,
        kind,
    })
}

fn build(attr: &ProblemAttr) -> TokenStream {
    let status = attr.status;
    let title = attr.title.as_ref().map(|t| quote!(.with_title(#t)));
    let kind = attr.kind.as_ref().map(|k| quote!(.with_type(#k)));
    let detail = if status >= 500 {
        quote!()
    } else {
        quote!(.with_detail(::std::string::ToString::to_string(&self)))
    };
    quote! {
        ::svless::Error::new(
            ::svless::http::StatusCode::from_u16(#status).unwrap_or(::svless::http::StatusCode::INTERNAL_SERVER_ERROR),
        ) #title #kind #detail
    }
}

fn expand_inner(input: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    let ident = &input.ident;
    let body = match &input.data {
        Data::Enum(data) => {
            let found = crate::per_variant(ident, data, |variant| {
                parse_attr(
                    &variant.attrs,
                    &variant.ident,
                    &format!("the variant `{}`", variant.ident),
                )
            })?;
            let arms: Vec<_> = found
                .iter()
                .map(|(pattern, attr)| {
                    let problem = build(attr);
                    quote!(#pattern => #problem,)
                })
                .collect();
            quote!(match &self { #(#arms)* })
        }
        Data::Struct(_) => build(&parse_attr(&input.attrs, ident, &format!("`{ident}`"))?),
        Data::Union(_) => {
            return Err(syn::Error::new_spanned(
                ident,
                "`IntoProblem` is derived for enums and structs",
            ));
        }
    };
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics ::svless::IntoProblem for #ident #ty_generics #where_clause {
            fn into_problem(self) -> ::svless::Error {
                #body
            }
        }

        impl #impl_generics ::svless::IntoResponse for #ident #ty_generics #where_clause {
            fn into_response(self) -> ::svless::Response {
                ::svless::IntoResponse::into_response(::svless::IntoProblem::into_problem(self))
            }
        }
    })
}
