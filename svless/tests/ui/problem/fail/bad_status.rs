#[derive(Debug, svless::IntoProblem)]
enum TodoError {
    #[problem(status = 200)]
    Missing,
}
impl std::fmt::Display for TodoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "{self:?}") }
}
fn main() {}
