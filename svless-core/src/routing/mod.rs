//! Routing: templates, the path trie and method matching.
//!
//! Routes live in a trie of path segments. Looking a path up costs one step per segment,
//! whatever the number of routes; static segments are tried before `{param}`s, and those
//! before a greedy `{proxy+}`, backtracking when a more specific branch leads nowhere.

mod respond;
mod template;

pub(crate) use respond::RouterService;

pub use template::{Template, TemplateError};

use crate::body::{Request, Response};
use crate::extract::MatchedParams;
use crate::handler::BoxFuture;
use http::Method;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use template::Segment;
use tower::ServiceExt as _;
use tower::util::BoxCloneSyncService;

/// A route's service: a handler bound to the app state, with its own layers.
pub(crate) type RouteService = BoxCloneSyncService<Request, Response, Infallible>;

/// A handler bound to the app state, called with one allocation (its boxed future).
pub(crate) type DirectRoute = Arc<dyn Fn(Request) -> BoxFuture<Response> + Send + Sync>;

/// What a route calls: a bare handler, or a `tower::Service` (a handler behind layers).
#[derive(Clone)]
pub(crate) enum RouteTarget {
    Direct(DirectRoute),
    Service(RouteService),
}

impl RouteTarget {
    pub(crate) fn call(&self, request: Request) -> BoxFuture<Response> {
        match self {
            RouteTarget::Direct(handler) => handler(request),
            RouteTarget::Service(service) => {
                let future = service.clone().oneshot(request);
                Box::pin(async move {
                    match future.await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    }
                })
            }
        }
    }

    /// The target as a `tower::Service`, for layers to wrap.
    pub(crate) fn into_service(self) -> RouteService {
        match self {
            RouteTarget::Service(service) => service,
            RouteTarget::Direct(handler) => {
                BoxCloneSyncService::new(tower::service_fn(move |request| {
                    let future = handler(request);
                    async move { Ok::<_, Infallible>(future.await) }
                }))
            }
        }
    }
}

/// A method a route answers: one method, or any.
///
/// ```
/// assert_eq!(svless_core::routing::MethodFilter::parse("get"), Some(svless_core::routing::MethodFilter::One(svless_core::http::Method::GET)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MethodFilter {
    /// Exactly this method.
    One(Method),
    /// Any method (API Gateway's `ANY`).
    Any,
}

impl MethodFilter {
    /// Parses `GET`, `post`, `ANY`... as API Gateway spells methods.
    ///
    /// ```
    /// use svless_core::routing::MethodFilter;
    /// assert_eq!(MethodFilter::parse("ANY"), Some(MethodFilter::Any));
    /// assert!(MethodFilter::parse("FETCH").is_none());
    /// ```
    pub fn parse(method: &str) -> Option<Self> {
        let upper = method.to_ascii_uppercase();
        match upper.as_str() {
            "ANY" => Some(MethodFilter::Any),
            "GET" => Some(MethodFilter::One(Method::GET)),
            "POST" => Some(MethodFilter::One(Method::POST)),
            "PUT" => Some(MethodFilter::One(Method::PUT)),
            "PATCH" => Some(MethodFilter::One(Method::PATCH)),
            "DELETE" => Some(MethodFilter::One(Method::DELETE)),
            "HEAD" => Some(MethodFilter::One(Method::HEAD)),
            "OPTIONS" => Some(MethodFilter::One(Method::OPTIONS)),
            _ => None,
        }
    }

    fn label(&self) -> &str {
        match self {
            MethodFilter::One(m) => m.as_str(),
            MethodFilter::Any => "ANY",
        }
    }
}

impl From<Method> for MethodFilter {
    fn from(value: Method) -> Self {
        MethodFilter::One(value)
    }
}

#[derive(Clone)]
pub(crate) struct RouteEntry {
    pub(crate) method: MethodFilter,
    pub(crate) template: Template,
    pub(crate) target: RouteTarget,
}

#[derive(Default, Clone)]
struct Endpoints(Vec<usize>);

#[derive(Default, Clone)]
struct Node {
    statics: HashMap<String, Node>,
    param: Option<Box<Node>>,
    endpoints: Endpoints,
    greedy: Endpoints,
}

/// What a lookup found.
pub(crate) enum Found {
    Route { index: usize, params: MatchedParams },
    MethodNotAllowed { allow: Vec<Method> },
    Nothing,
}

#[derive(Clone, Copy)]
enum Capture {
    One(usize),
    Rest(usize),
}

/// The routes of an app.
#[derive(Default, Clone)]
pub(crate) struct Router {
    routes: Vec<RouteEntry>,
    root: Node,
    by_template: HashMap<String, Vec<usize>>,
}

impl Router {
    pub(crate) fn insert(&mut self, entry: RouteEntry) -> Result<(), String> {
        let shape = entry.template.shape();
        for other in &self.routes {
            if other.template.shape() == shape && other.method == entry.method {
                return Err(format!(
                    "the route `{} {}` is registered twice (the first time as `{} {}`)",
                    entry.method.label(),
                    entry.template,
                    other.method.label(),
                    other.template
                ));
            }
        }
        let index = self.routes.len();
        let mut node = &mut self.root;
        let mut greedy = false;
        for segment in &entry.template.segments {
            node = match segment {
                Segment::Static(s) => node.statics.entry(s.clone()).or_default(),
                Segment::Param(_) => node.param.get_or_insert_with(Box::default),
                Segment::Greedy(_) => {
                    greedy = true;
                    node
                }
            };
        }
        if greedy {
            &mut node.greedy
        } else {
            &mut node.endpoints
        }
        .0
        .push(index);
        self.by_template
            .entry(entry.template.as_str().to_owned())
            .or_default()
            .push(index);
        self.routes.push(entry);
        Ok(())
    }

    pub(crate) fn target(&self, index: usize) -> &RouteTarget {
        &self.routes[index].target
    }

    fn pick(&self, endpoints: &[usize], method: &Method) -> Option<usize> {
        let mut any = None;
        let mut get = None;
        for &i in endpoints {
            match &self.routes[i].method {
                MethodFilter::One(m) if m == method => return Some(i),
                MethodFilter::One(m) if m == Method::GET => get = Some(i),
                MethodFilter::Any => any = Some(i),
                MethodFilter::One(_) => {}
            }
        }
        any.or(if method == Method::HEAD { get } else { None })
    }

    fn allow(&self, endpoints: &Endpoints) -> Vec<Method> {
        let mut allow = Vec::new();
        for &i in &endpoints.0 {
            if let MethodFilter::One(m) = &self.routes[i].method {
                allow.push(m.clone());
                if m == Method::GET {
                    allow.push(Method::HEAD);
                }
            }
        }
        allow.push(Method::OPTIONS);
        allow.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        allow.dedup();
        allow
    }

    /// Looks a route up by the template API Gateway says it matched.
    pub(crate) fn by_route_key(
        &self,
        method: &Method,
        template: &str,
        params: &HashMap<String, String>,
    ) -> Option<(usize, MatchedParams)> {
        let candidates = self.by_template.get(template)?;
        let index = self.pick(candidates, method)?;
        let mut out = MatchedParams::default();
        for name in self.routes[index].template.params() {
            out.push(name.into(), params.get(name)?.clone());
        }
        Some((index, out))
    }

    /// Looks a route up by path: `path` is percent-encoded, relative to the API.
    pub(crate) fn lookup(&self, method: &Method, path: &str) -> Found {
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        let segments: Vec<&str> = if trimmed.is_empty() {
            Vec::new()
        } else {
            trimmed.split('/').collect()
        };
        let mut captures = Vec::new();
        if let Some(index) = self.find(&self.root, &segments, 0, &mut captures, &mut |e| {
            self.pick(&e.0, method)
        }) {
            return Found::Route {
                index,
                params: self.params(index, &segments, &captures),
            };
        }
        let mut captures = Vec::new();
        let mut first = None;
        self.find(&self.root, &segments, 0, &mut captures, &mut |e| {
            if e.0.is_empty() {
                None
            } else {
                first = Some(e.clone());
                Some(0)
            }
        });
        match first {
            Some(endpoints) => Found::MethodNotAllowed {
                allow: self.allow(&endpoints),
            },
            None => Found::Nothing,
        }
    }

    fn params(&self, index: usize, segments: &[&str], captures: &[Capture]) -> MatchedParams {
        let mut params = MatchedParams::default();
        for (name, capture) in self.routes[index].template.params().zip(captures) {
            let raw = match *capture {
                Capture::One(i) => decode_bytes(segments[i]),
                Capture::Rest(i) => segments[i..]
                    .iter()
                    .map(|s| decode_bytes(s))
                    .collect::<Vec<_>>()
                    .join(&b'/'),
            };
            match String::from_utf8(raw) {
                Ok(value) => params.push(name.into(), value),
                Err(err) => params.push_not_utf8(
                    name.into(),
                    String::from_utf8_lossy(err.as_bytes()).into_owned(),
                ),
            }
        }
        params
    }

    fn find(
        &self,
        node: &Node,
        segments: &[&str],
        at: usize,
        captures: &mut Vec<Capture>,
        accept: &mut dyn FnMut(&Endpoints) -> Option<usize>,
    ) -> Option<usize> {
        let Some(segment) = segments.get(at) else {
            return accept(&node.endpoints);
        };
        let decoded;
        let key: &str = if segment.contains('%') {
            decoded = decode(segment);
            &decoded
        } else {
            segment
        };
        if let Some(child) = node.statics.get(key)
            && let Some(found) = self.find(child, segments, at + 1, captures, accept)
        {
            return Some(found);
        }
        if let Some(child) = &node.param
            && !segment.is_empty()
        {
            captures.push(Capture::One(at));
            if let Some(found) = self.find(child, segments, at + 1, captures, accept) {
                return Some(found);
            }
            captures.pop();
        }
        if !node.greedy.0.is_empty() {
            captures.push(Capture::Rest(at));
            if let Some(found) = accept(&node.greedy) {
                return Some(found);
            }
            captures.pop();
        }
        None
    }
}

fn decode_bytes(segment: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(segment).collect()
}

fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(&str, &str)]) -> Router {
        let mut router = Router::default();
        for (method, template) in routes {
            let service = BoxCloneSyncService::new(tower::service_fn(|_req: Request| async {
                Ok::<_, Infallible>(Response::new(crate::Body::empty()))
            }));
            router
                .insert(RouteEntry {
                    method: MethodFilter::parse(method).unwrap(),
                    template: Template::parse(template).unwrap(),
                    target: RouteTarget::Service(service),
                })
                .unwrap();
        }
        router
    }

    fn found(
        router: &Router,
        method: Method,
        path: &str,
    ) -> Option<(usize, Vec<(String, String)>)> {
        match router.lookup(&method, path) {
            Found::Route { index, params } => Some((
                index,
                params
                    .iter()
                    .map(|(a, b)| (a.to_owned(), b.to_owned()))
                    .collect(),
            )),
            _ => None,
        }
    }

    #[test]
    fn static_segments_win_over_parameters_and_backtracking_works() {
        let r = router(&[
            ("GET", "/todos/{id}"),
            ("GET", "/todos/new"),
            ("GET", "/todos/new/{x}"),
            ("GET", "/todos/{id}/done"),
        ]);
        assert_eq!(found(&r, Method::GET, "/todos/new").unwrap().0, 1);
        assert_eq!(
            found(&r, Method::GET, "/todos/7").unwrap().1,
            [("id".into(), "7".into())]
        );
        assert_eq!(found(&r, Method::GET, "/todos/new/done").unwrap().0, 2);
        assert_eq!(found(&r, Method::GET, "/todos/5/done").unwrap().0, 3);
    }

    #[test]
    fn greedy_parameter_takes_the_rest_decoded() {
        let r = router(&[("ANY", "/files/{proxy+}")]);
        let (_, params) = found(&r, Method::PUT, "/files/a%20b/c.txt").unwrap();
        assert_eq!(params, [("proxy".into(), "a b/c.txt".into())]);
        assert!(found(&r, Method::GET, "/files").is_none());
    }

    #[test]
    fn wrong_method_is_405_with_allow() {
        let r = router(&[("GET", "/a"), ("POST", "/a")]);
        match r.lookup(&Method::DELETE, "/a") {
            Found::MethodNotAllowed { allow } => {
                assert_eq!(
                    allow,
                    [Method::GET, Method::HEAD, Method::OPTIONS, Method::POST]
                );
            }
            _ => panic!("expected 405"),
        }
        assert!(matches!(r.lookup(&Method::GET, "/b"), Found::Nothing));
        assert_eq!(found(&r, Method::HEAD, "/a").unwrap().0, 0);
    }

    #[test]
    fn duplicate_routes_are_refused_whatever_the_parameter_names() {
        let mut r = router(&[("GET", "/a/{x}")]);
        let service = BoxCloneSyncService::new(tower::service_fn(|_req: Request| async {
            Ok::<_, Infallible>(Response::new(crate::Body::empty()))
        }));
        let err = r
            .insert(RouteEntry {
                method: MethodFilter::One(Method::GET),
                template: Template::parse("/a/{y}").unwrap(),
                target: RouteTarget::Service(service),
            })
            .unwrap_err();
        assert!(err.contains("registered twice"), "{err}");
    }
}
