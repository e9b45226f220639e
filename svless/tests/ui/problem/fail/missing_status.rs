#[derive(Debug, svless::IntoProblem)]
enum TodoError {
    #[problem(status = 404)]
    Missing,
    Locked,
}
impl std::fmt::Display for TodoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "{self:?}") }
}
fn main() {}
