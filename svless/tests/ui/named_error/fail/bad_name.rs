#[derive(Debug, svless::IntoNamedError)]
enum ResizeError {
    #[error_type("Image too large")]
    TooLarge,
}
impl std::fmt::Display for ResizeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "{self:?}") }
}
fn main() {}
