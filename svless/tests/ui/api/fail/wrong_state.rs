use svless::State;
#[derive(Clone)]
struct AppState;
#[derive(Clone)]
struct Other;
#[svless::api(GET "/todos")]
async fn list(State(_s): State<Other>) -> &'static str { "" }
fn main() {
    let _ = svless::App::new().state(AppState).route(list);
}
