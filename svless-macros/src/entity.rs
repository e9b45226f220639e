//! `#[derive(svless::Entity)]`: key templates checked against the struct's fields.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, LitStr, Type};

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    match expand_inner(input) {
        Ok(tokens) => tokens,
        Err(err) => err.into_compile_error(),
    }
}

/// A piece of a key template: literal text or a field.
enum Piece {
    Text(String),
    Field(Ident),
}

struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// Parses `USER#{owner}`, checking each `{field}` against the struct's fields.
    fn parse(lit: &LitStr, fields: &[(Ident, Type)]) -> syn::Result<Self> {
        let text = lit.value();
        if text.is_empty() {
            return Err(syn::Error::new(
                lit.span(),
                "a key template cannot be empty: write the key, e.g. \"USER#{id}\"",
            ));
        }
        let mut pieces = Vec::new();
        let mut rest = text.as_str();
        while let Some(open) = rest.find('{') {
            if let Some(close) = rest[..open].find('}') {
                let _ = close;
                return Err(syn::Error::new(
                    lit.span(),
                    "a `}` without its `{`: fields are written `{field}`",
                ));
            }
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                return Err(syn::Error::new(
                    lit.span(),
                    "an unclosed `{`: fields are written `{field}`",
                ));
            };
            let name = &after[..close];
            if name.is_empty() {
                return Err(syn::Error::new(
                    lit.span(),
                    "an empty `{}`: name a field of the struct, e.g. `{id}`",
                ));
            }
            let Some((ident, _)) = fields.iter().find(|(ident, _)| ident == name) else {
                let known: Vec<String> = fields.iter().map(|(i, _)| format!("`{i}`")).collect();
                return Err(syn::Error::new(
                    lit.span(),
                    format!(
                        "the key template names `{{{name}}}`, which is not a field of this struct: use one of {}",
                        known.join(", ")
                    ),
                ));
            };
            pieces.push(Piece::Field(ident.clone()));
            rest = &after[close + 1..];
        }
        if rest.contains('}') {
            return Err(syn::Error::new(
                lit.span(),
                "a `}` without its `{`: fields are written `{field}`",
            ));
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        Ok(Template { pieces })
    }

    fn fields(&self) -> impl Iterator<Item = &Ident> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Field(ident) => Some(ident),
            Piece::Text(_) => None,
        })
    }

    /// The literal text before the first field.
    fn prefix(&self) -> String {
        match self.pieces.first() {
            Some(Piece::Text(text)) => text.clone(),
            _ => String::new(),
        }
    }

    /// An expression building the key; `field` turns a field into an expression of its value.
    fn render(&self, field: impl Fn(&Ident) -> TokenStream) -> TokenStream {
        let steps = self.pieces.iter().map(|piece| match piece {
            Piece::Text(text) => quote! { key.push_str(#text); },
            Piece::Field(ident) => {
                let value = field(ident);
                quote! { ::svless::store::dynamo::KeyPart::write_key(#value, &mut key); }
            }
        });
        let text: usize = self
            .pieces
            .iter()
            .map(|p| match p {
                Piece::Text(text) => text.len(),
                Piece::Field(_) => 24,
            })
            .sum();
        quote! {{
            let mut key = ::std::string::String::with_capacity(#text);
            #(#steps)*
            key
        }}
    }
}

struct KeyDef {
    index: Option<LitStr>,
    pk: Template,
    sk: Option<Template>,
}

/// An index key as written: without `pk`, a local index (the table's partition key).
struct IndexAttr {
    index: LitStr,
    pk: Option<Template>,
    sk: Option<Template>,
}

/// The attributes a table made with `TableDef::new` keeps for itself: its keys and its type.
const RESERVED: [(&str, &str); 3] = [
    ("pk", "the partition key"),
    ("sk", "the sort key"),
    ("type", "the entity type"),
];

/// The attribute name serde writes a field as: its `#[serde(rename = "...")]`, else its name.
fn attribute_name(field: &syn::Field) -> Option<String> {
    let mut name = field
        .ident
        .as_ref()
        .map(|i| i.to_string().trim_start_matches("r#").to_owned())?;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                if let Ok(value) = meta.value()
                    && let Ok(lit) = value.parse::<LitStr>()
                {
                    name = lit.value();
                }
            } else if meta.input.peek(syn::Token![=]) {
                let _ = meta.value()?.parse::<syn::Expr>();
            } else if meta.input.peek(syn::token::Paren) {
                let _ = meta.parse_nested_meta(|_| Ok(()));
            }
            Ok(())
        });
    }
    Some(name)
}

/// A field stored under a key or type attribute would be overwritten on every write and read
/// back changed: refused, with the way out.
fn check_reserved_names(fields: &syn::FieldsNamed) -> syn::Result<()> {
    let mut errors = crate::errors::Errors::default();
    for field in &fields.named {
        let Some(name) = attribute_name(field) else {
            continue;
        };
        if let Some((_, role)) = RESERVED.iter().find(|(n, _)| *n == name) {
            let err = syn::Error::new_spanned(
                field
                    .ident
                    .as_ref()
                    .map(|i| i as &dyn quote::ToTokens)
                    .unwrap_or(&field.ty),
                format!(
                    "the field would be stored as the attribute `{name}`, which holds {role} of the item (TableDef::new): every write would overwrite it. Rename the field, or store it under another name with `#[serde(rename = \"{name}_value\")]`"
                ),
            );
            errors.push(err);
        }
    }
    errors.finish()
}

fn expand_inner(input: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    let name = &input.ident;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            name,
            "`#[derive(Entity)]` is for structs with named fields: an entity is one item",
        ));
    };
    let Fields::Named(named) = &data.fields else {
        return Err(syn::Error::new_spanned(
            name,
            "`#[derive(Entity)]` needs named fields, which the key templates refer to",
        ));
    };
    let fields: Vec<(Ident, Type)> = named
        .named
        .iter()
        .filter_map(|f| f.ident.clone().map(|i| (i, f.ty.clone())))
        .collect();
    check_reserved_names(named)?;

    let mut type_name = None;
    let mut primary: Option<KeyDef> = None;
    let mut written: Vec<IndexAttr> = Vec::new();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("entity")) {
        let mut index = None;
        let mut pk = None;
        let mut sk = None;
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("pk") {
                pk = Some(meta.value()?.parse::<LitStr>()?);
            } else if meta.path.is_ident("sk") {
                sk = Some(meta.value()?.parse::<LitStr>()?);
            } else if meta.path.is_ident("index") {
                index = Some(meta.value()?.parse::<LitStr>()?);
            } else if meta.path.is_ident("type") {
                type_name = Some(meta.value()?.parse::<LitStr>()?);
            } else {
                return Err(meta.error(
                    "unknown key: `#[entity(...)]` takes `pk = \"...\"`, `sk = \"...\"`, `index = \"gsi1\"` and `type = \"Name\"`",
                ));
            }
            Ok(())
        })?;
        let pk = pk
            .as_ref()
            .map(|p| Template::parse(p, &fields))
            .transpose()?;
        let sk = sk
            .as_ref()
            .map(|s| Template::parse(s, &fields))
            .transpose()?;
        match index {
            Some(lit) => {
                if written.iter().any(|d| d.index.value() == lit.value()) {
                    return Err(syn::Error::new(
                        lit.span(),
                        format!("the index `{}` has its keys already", lit.value()),
                    ));
                }
                if pk.is_none() && sk.is_none() {
                    return Err(syn::Error::new(
                        lit.span(),
                        "an index needs its keys: `pk = \"...\"` (a global index) and/or `sk = \"...\"`",
                    ));
                }
                written.push(IndexAttr { index: lit, pk, sk });
            }
            None => {
                let Some(pk) = pk else {
                    if sk.is_some() {
                        return Err(syn::Error::new_spanned(
                            attr,
                            "a key needs its partition key: add `pk = \"...\"`",
                        ));
                    }
                    continue;
                };
                if primary.is_some() {
                    return Err(syn::Error::new_spanned(
                        attr,
                        "a second primary key: give this one `index = \"...\"` if it is a secondary index",
                    ));
                }
                primary = Some(KeyDef {
                    index: None,
                    pk,
                    sk,
                });
            }
        }
    }
    let Some(primary) = primary else {
        return Err(syn::Error::new(
            Span::call_site(),
            format!(
                "`{name}` needs its primary key: add `#[entity(pk = \"{}#{{id}}\")]` (and `sk = \"...\"` for a composite key)",
                name.to_string().to_uppercase()
            ),
        ));
    };
    let type_name = type_name
        .map(|l| l.value())
        .unwrap_or_else(|| name.to_string());
    // An index without `pk` is local: it shares the table's partition key.
    let indexes: Vec<KeyDef> = written
        .into_iter()
        .map(|w| KeyDef {
            pk: w.pk.unwrap_or_else(|| Template {
                pieces: primary
                    .pk
                    .pieces
                    .iter()
                    .map(|p| match p {
                        Piece::Text(t) => Piece::Text(t.clone()),
                        Piece::Field(i) => Piece::Field(i.clone()),
                    })
                    .collect(),
            }),
            sk: w.sk,
            index: Some(w.index),
        })
        .collect();

    // Every field a template names must be a key part.
    let mut used: Vec<&Ident> = Vec::new();
    for def in std::iter::once(&primary).chain(&indexes) {
        for ident in def
            .pk
            .fields()
            .chain(def.sk.iter().flat_map(|t| t.fields()))
        {
            if !used.contains(&ident) {
                used.push(ident);
            }
        }
    }
    let ty_of = |ident: &Ident| -> &Type {
        &fields
            .iter()
            .find(|(i, _)| i == ident)
            .expect("checked when parsed")
            .1
    };
    let checks = used.iter().map(|ident| {
        let ty = ty_of(ident);
        quote_spanned! {ty.span()=>
            ::svless::store::dynamo::__private::assert_key_part::<#ty>();
        }
    });

    let on_self = |ident: &Ident| quote! { &self.#ident };
    let on_local = |ident: &Ident| quote! { &#ident };
    let sk_expr = |t: &Option<Template>, f: &dyn Fn(&Ident) -> TokenStream| match t {
        Some(t) => {
            let r = t.render(f);
            quote! { ::core::option::Option::Some(#r) }
        }
        None => quote! { ::core::option::Option::None },
    };
    let pk_self = primary.pk.render(on_self);
    let sk_self = sk_expr(&primary.sk, &on_self);
    // An index key with an absent part (`None`) is not written: the entity is not in that index.
    let index_keys = indexes.iter().map(|def| {
        let index = def.index.as_ref().expect("an index");
        let pk = def.pk.render(on_self);
        let sk = sk_expr(&def.sk, &on_self);
        let parts: Vec<&Ident> = def
            .pk
            .fields()
            .chain(def.sk.iter().flat_map(|t| t.fields()))
            .collect();
        quote! {
            if !(false #(|| ::svless::store::dynamo::KeyPart::is_absent(&self.#parts))*) {
                keys.push(::svless::store::dynamo::IndexKey::new(#index, #pk, #sk));
            }
        }
    });

    // Constructors of keys and partitions from field values.
    let args = |idents: Vec<&Ident>| {
        let mut unique: Vec<&Ident> = Vec::new();
        for i in idents {
            if !unique.contains(&i) {
                unique.push(i);
            }
        }
        let params = unique.iter().map(|i| {
            let ty = ty_of(i);
            quote! { #i: impl ::core::convert::Into<#ty> }
        });
        let lets = unique.iter().map(|i| {
            let ty = ty_of(i);
            quote! { let #i: #ty = ::core::convert::Into::into(#i); }
        });
        (quote! { #(#params),* }, quote! { #(#lets)* })
    };
    let (key_params, key_lets) = args(
        primary
            .pk
            .fields()
            .chain(primary.sk.iter().flat_map(|t| t.fields()))
            .collect(),
    );
    let pk_local = primary.pk.render(on_local);
    let sk_local = sk_expr(&primary.sk, &on_local);
    let (part_params, part_lets) = args(primary.pk.fields().collect());
    let sk_prefix = primary
        .sk
        .as_ref()
        .map(Template::prefix)
        .unwrap_or_default();
    let index_partitions = indexes.iter().map(|def| {
        let index = def.index.as_ref().expect("an index");
        let fn_name = format_ident!(
            "{}_partition",
            index
                .value()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                })
                .collect::<String>()
        );
        let (params, lets) = args(def.pk.fields().collect());
        let pk = def.pk.render(on_local);
        let prefix = def.sk.as_ref().map(Template::prefix).unwrap_or_default();
        let doc = format!(
            "The partition of the index `{}` that holds these values, for queries of this type.",
            index.value()
        );
        quote! {
            #[doc = #doc]
            pub fn #fn_name(#params) -> ::svless::store::dynamo::Partition {
                #lets
                ::svless::store::dynamo::Partition::new(#pk, #prefix).on_index(#index)
            }
        }
    });

    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics ::svless::store::dynamo::Entity for #name #ty_generics #where_clause {
            const TYPE: &'static str = #type_name;

            fn primary_key(&self) -> ::svless::store::dynamo::ItemKey {
                ::svless::store::dynamo::ItemKey::new(#pk_self, #sk_self)
            }

            fn index_keys(&self) -> ::std::vec::Vec<::svless::store::dynamo::IndexKey> {
                #[allow(unused_mut)]
                let mut keys = ::std::vec::Vec::new();
                #(#index_keys)*
                keys
            }
        }

        impl #impl_generics #name #ty_generics #where_clause {
            /// The primary key of the item with these field values.
            pub fn key(#key_params) -> ::svless::store::dynamo::ItemKey {
                #key_lets
                ::svless::store::dynamo::ItemKey::new(#pk_local, #sk_local)
            }

            /// The partition that holds items of this type with these values, for queries.
            pub fn partition(#part_params) -> ::svless::store::dynamo::Partition {
                #part_lets
                ::svless::store::dynamo::Partition::new(#pk_local, #sk_prefix)
            }

            #(#index_partitions)*
        }

        const _: () = {
            #[allow(dead_code)]
            fn key_parts() {
                #(#checks)*
            }
        };
    })
}
