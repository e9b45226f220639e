use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, LitStr};

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    match expand_inner(input) {
        Ok(tokens) => tokens,
        Err(err) => err.into_compile_error(),
    }
}

fn rename(rule: &str, field: &str) -> Option<String> {
    let words: Vec<&str> = field.split('_').filter(|w| !w.is_empty()).collect();
    let cap = |w: &str| {
        let mut c = w.chars();
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    };
    Some(match rule {
        "lowercase" => field.to_lowercase(),
        "UPPERCASE" => field.to_uppercase(),
        "snake_case" => field.to_owned(),
        "SCREAMING_SNAKE_CASE" => field.to_uppercase(),
        "kebab-case" => field.replace('_', "-"),
        "SCREAMING-KEBAB-CASE" => field.replace('_', "-").to_uppercase(),
        "camelCase" => {
            let mut out = String::new();
            for (i, w) in words.iter().enumerate() {
                out.push_str(&if i == 0 { (*w).to_owned() } else { cap(w) });
            }
            out
        }
        "PascalCase" => words.iter().map(|w| cap(w)).collect(),
        _ => return None,
    })
}

fn serde_value(attrs: &[syn::Attribute], key: &str) -> syn::Result<Option<LitStr>> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident(key) && meta.input.peek(syn::Token![=]) {
                found = Some(meta.value()?.parse::<LitStr>()?);
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            } else if meta.input.peek(syn::token::Paren) {
                let _content;
                syn::parenthesized!(_content in meta.input);
                let _: TokenStream = _content.parse()?;
            }
            Ok(())
        })?;
    }
    Ok(found)
}

fn expand_inner(input: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "`PathParams` is derived for structs with named fields; for one parameter use `Path<T>`, for several a tuple",
        ));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "`PathParams` needs named fields, one per template parameter; for positional parameters use a tuple `Path<(A, B)>`",
        ));
    };
    let rule = serde_value(&input.attrs, "rename_all")?;
    let mut names = Vec::new();
    for field in &fields.named {
        let Some(ident) = &field.ident else { continue };
        let base = ident.to_string().trim_start_matches("r#").to_owned();
        let name = match serde_value(&field.attrs, "rename")? {
            Some(lit) => lit.value(),
            None => match &rule {
                Some(rule) => rename(&rule.value(), &base).ok_or_else(|| {
                    syn::Error::new_spanned(rule, "unknown serde `rename_all` rule")
                })?,
                None => base,
            },
        };
        names.push(name);
    }
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics ::svless::__private::PathFields for #ident #ty_generics #where_clause {
            const FIELDS: &'static [&'static str] = &[#(#names),*];
        }
    })
}
