use svless::Query;

#[svless::api(GET "/search")]
async fn search(Query(terms): Query<Vec<String>>) -> String {
    terms.join(",")
}

#[svless::api(GET "/find")]
async fn find(Query(term): Query<String>) -> String {
    term
}

fn main() {}
