//! The Lambda builds of the examples (`--no-default-features`, as `cargo lambda build` is told
//! to) leave the local cloud out: it is never linked into a function. Their local builds have it.

use std::process::Command;

fn normal_dependencies(package: &str, lambda: bool) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args([
            "tree",
            "-p",
            package,
            "-e",
            "normal",
            "--prefix",
            "none",
            "--locked",
            "--offline",
        ]);
    if lambda {
        command.arg("--no-default-features");
    }
    let out = command.output().expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn lambda_builds_of_the_examples_do_not_link_the_local_cloud() {
    for package in ["hello-api", "webapp"] {
        let lambda = normal_dependencies(package, true);
        assert!(
            lambda.iter().any(|c| c == "svless-core"),
            "{package}: {lambda:?}"
        );
        assert!(
            !lambda.iter().any(|c| c == "svless-local"),
            "the Lambda build of {package} links the local cloud"
        );
        let local = normal_dependencies(package, false);
        assert!(
            local.iter().any(|c| c == "svless-local"),
            "the local build of {package} has the local cloud"
        );
    }
}
