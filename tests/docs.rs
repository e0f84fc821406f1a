//! The manual checked against the program: every `$ ringtop …` example in README.md and docs/ runs
//! and prints what its example starts with, every profile shown parses, and every link between
//! the pages leads somewhere. (The pages' Rust examples are doctests, in `src/lib.rs`.)
#![cfg(not(loom))]

use std::path::{Path, PathBuf};
use std::process::Command;

/// README.md and every page of docs/.
fn pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir("docs")
        .expect("docs/ exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    pages.insert(0, PathBuf::from("README.md"));
    pages
}

/// The fenced blocks of a page with their language tag, in order.
fn blocks(text: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in text.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(tag)) => open = Some((tag.trim().to_owned(), String::new())),
            (Some(_), Some(_)) => blocks.extend(open.take()),
            (Some((_, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    blocks
}

fn read(page: &Path) -> String {
    std::fs::read_to_string(page).unwrap_or_else(|e| panic!("{}: {e}", page.display()))
}

#[test]
fn every_example_command_runs_and_prints_what_its_example_shows() {
    let mut ran = 0;
    for page in pages() {
        for (tag, body) in blocks(&read(&page)) {
            if tag != "text" {
                continue;
            }
            let mut lines = body.lines();
            while let Some(line) = lines.next() {
                let Some(args) = line.strip_prefix("$ ringtop") else {
                    continue;
                };
                let shown = lines.next().unwrap_or_default();
                let out = Command::new(assert_cmd::cargo::cargo_bin("ringtop"))
                    .args(args.split_whitespace())
                    .output()
                    .unwrap();
                let stdout = String::from_utf8_lossy(&out.stdout);
                assert!(
                    out.status.success(),
                    "{}: `{line}` failed: {}",
                    page.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
                // Figures differ between machines; what the first line says must not.
                let first_word = |s: &str| s.split_whitespace().next().map(str::to_owned);
                assert_eq!(
                    first_word(stdout.lines().next().unwrap_or_default()),
                    first_word(shown),
                    "{}: `{line}` printed:\n{stdout}",
                    page.display()
                );
                ran += 1;
            }
        }
    }
    assert!(ran >= 5, "only {ran} example commands found");
}

#[test]
fn every_profile_the_manual_shows_is_a_valid_profile() {
    let mut parsed = 0;
    for page in pages() {
        for (tag, body) in blocks(&read(&page)) {
            if tag == "toml" && body.starts_with("version") {
                let name = page.display().to_string();
                if let Err(err) = ringtop::profile::parse(&body, &name) {
                    panic!("{name}: the profile it shows does not load: {err}");
                }
                parsed += 1;
            }
        }
    }
    assert!(parsed >= 1, "no profile found in the manual");
}

#[test]
fn every_link_between_pages_leads_to_a_file_and_every_page_is_linked() {
    let mut linked = Vec::new();
    for page in pages() {
        let text = read(&page);
        let dir = page.parent().unwrap_or(Path::new(""));
        for (i, _) in text.match_indices("](") {
            let target: String = text[i + 2..].chars().take_while(|&c| c != ')').collect();
            if target.contains("://") || target.starts_with('#') {
                continue;
            }
            let file = target.split('#').next().unwrap_or_default();
            let path = dir.join(file);
            assert!(
                path.exists(),
                "{}: link to {target} leads nowhere",
                page.display()
            );
            linked.push(path.canonicalize().unwrap());
        }
    }
    for page in pages().into_iter().skip(1) {
        assert!(
            linked.contains(&page.canonicalize().unwrap()),
            "{} is not linked from any page",
            page.display()
        );
    }
}

/// The folders of the repository a page may name a file in, as `src/ring/mod.rs`.
const REPOSITORY_FOLDERS: [&str; 8] = [
    "src/",
    "tests/",
    "benches/",
    "docs/",
    "scripts/",
    "examples/",
    "assets/",
    ".ci/",
];

#[test]
fn every_repository_file_a_page_names_exists() {
    let mut named = 0;
    for page in pages() {
        let prose: String = read(&page)
            .split("```")
            .step_by(2)
            .collect::<Vec<_>>()
            .join("\n");
        for span in prose.split('`').skip(1).step_by(2) {
            let path = span.split([':', ' ']).next().unwrap_or_default();
            if !REPOSITORY_FOLDERS.iter().any(|f| path.starts_with(f)) || path.contains('*') {
                continue;
            }
            named += 1;
            assert!(
                Path::new(path).exists(),
                "{}: `{span}` names a file the repository does not have",
                page.display()
            );
        }
    }
    assert!(
        named >= 10,
        "only {named} repository paths found in the manual"
    );
}
