//! `#[derive(svless::IntoNamedError)]`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, LitStr};

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    match expand_inner(input) {
        Ok(tokens) => tokens,
        Err(err) => err.into_compile_error(),
    }
}

fn error_type(
    attrs: &[syn::Attribute],
    span_of: &dyn quote::ToTokens,
    what: &str,
) -> syn::Result<LitStr> {
    let Some(attr) = attrs.iter().find(|a| a.path().is_ident("error_type")) else {
        return Err(syn::Error::new_spanned(
            span_of,
            format!("{what} needs its Lambda error name: add `#[error_type(\"Area.Name\")]`"),
        ));
    };
    let name: LitStr = attr.parse_args().map_err(|e| {
        syn::Error::new(
            e.span(),
            "write the error name as a string: `#[error_type(\"Image.TooLarge\")]`",
        )
    })?;
    let value = name.value();
    if value.is_empty()
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'))
    {
        return Err(syn::Error::new(
            name.span(),
            "an error name is letters, digits and `.`, `_`, `-`, `:` (such as `Image.TooLarge`), so that `ErrorEquals` can match it",
        ));
    }
    if value.starts_with("States.") {
        return Err(syn::Error::new(
            name.span(),
            "names starting with `States.` are reserved for Step Functions' own errors: choose another prefix",
        ));
    }
    Ok(name)
}

fn expand_inner(input: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    let ident = &input.ident;
    let mut all_names: Vec<LitStr> = Vec::new();
    let name_expr = match &input.data {
        Data::Enum(data) => {
            let found = crate::per_variant(ident, data, |variant| {
                error_type(
                    &variant.attrs,
                    &variant.ident,
                    &format!("the variant `{}`", variant.ident),
                )
            })?;
            let arms = found
                .iter()
                .map(|(pattern, name)| quote!(#pattern => #name,));
            let arms: Vec<_> = arms.collect();
            all_names.extend(found.iter().map(|(_, name)| name.clone()));
            quote!(match &self { #(#arms)* })
        }
        Data::Struct(_) => {
            let name = error_type(&input.attrs, ident, &format!("`{ident}`"))?;
            all_names.push(name.clone());
            quote!(#name)
        }
        Data::Union(_) => {
            return Err(syn::Error::new_spanned(
                ident,
                "`IntoNamedError` is derived for enums and structs",
            ));
        }
    };
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics ::svless::IntoNamedError for #ident #ty_generics #where_clause {
            fn into_named_error(self) -> ::svless::NamedError {
                let name: &'static str = #name_expr;
                ::svless::NamedError::new(name, ::std::string::ToString::to_string(&self))
            }
        }

        impl #impl_generics ::svless::source::task::ErrorNames for #ident #ty_generics #where_clause {
            const NAMES: &'static [&'static str] = &[#(#all_names),*];
        }
    })
}
