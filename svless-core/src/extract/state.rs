/// The application state, built once per execution environment and shared by every invocation.
///
/// `T` is the app's state type, or any part of it that implements [`FromRef`].
///
/// ```
/// use svless_core::{App, State};
///
/// #[derive(Clone)]
/// struct AppState { greeting: String }
///
/// async fn hello(State(app): State<AppState>) -> String {
///     app.greeting.clone()
/// }
///
/// let app = App::new().state(AppState { greeting: "hi".into() }).route_fn("GET", "/", hello);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct State<T>(pub T);

/// Takes a part of the state out of the whole: `State<Part>` works in an `App<Whole>` when
/// `Part: FromRef<Whole>`.
///
/// ```
/// use svless_core::FromRef;
///
/// #[derive(Clone)]
/// struct Tables { todos: String }
/// #[derive(Clone)]
/// struct AppState { tables: Tables }
///
/// impl FromRef<AppState> for Tables {
///     fn from_ref(state: &AppState) -> Tables { state.tables.clone() }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`State<{Self}>` cannot be extracted from an app whose state is `{S}`",
    note = "give the app this state with `App::new().state(...)`, or implement `svless::FromRef<{S}>` for `{Self}`"
)]
pub trait FromRef<S> {
    /// Takes `Self` out of the state.
    fn from_ref(state: &S) -> Self;
}

impl<T: Clone> FromRef<T> for T {
    fn from_ref(state: &T) -> T {
        state.clone()
    }
}
