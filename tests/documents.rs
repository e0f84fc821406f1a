//! The JSON documents commands print with `--json` (`probe`, `c2c`, `topo`, `doctor`, `compare`,
//! `sweep`, `codec`; `attach --list` in tests/attach, `tune` in tests/tune.rs) against the schemas
//! `ringtop schema` gives for them, checked by an independent validator (the `jsonschema` crate):
//! every document a real command printed validates, and one with a field removed or added does
//! not, so the schemas say what is printed and no more.
#![cfg(not(loom))]

mod common;

use common::{assert_succeeded, machine, ringtop, scratch_dir};
use serde_json::Value;

/// The one JSON document `args` print.
fn document(args: &[&str]) -> Value {
    let out = ringtop().args(args).output().unwrap();
    assert_succeeded(&out);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// Asserts that `doc` validates against the schema of `name`; that it no longer does without its
/// first required field, nor with a field the schema does not name.
fn assert_valid(name: &str, doc: &Value) {
    let schema = common::assert_document_valid(name, doc);
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert_eq!(
        doc["schema_version"],
        schema["properties"]["schema_version"]["const"]
    );
    let first = schema["required"][0].as_str().unwrap();
    let mut missing = doc.clone();
    missing.as_object_mut().unwrap().remove(first);
    assert!(
        !validator.is_valid(&missing),
        "{name} without {first} validates"
    );
    let mut extra = doc.clone();
    extra["not_a_field"] = Value::Bool(true);
    assert!(
        !validator.is_valid(&extra),
        "{name} with an unknown field validates"
    );
}

#[test]
fn a_probe_document_matches_its_schema() {
    let _machine = machine();
    let doc = document(&[
        "probe",
        "--json",
        "--items",
        "10000",
        "--latency-samples",
        "1000",
        "--round-trips",
        "1000",
    ]);
    assert_valid("probe", &doc);
    // The schema reaches inside: a nested figure missing, or one it does not name, fails.
    let validator = jsonschema::validator_for(&common::document_schema("probe")).unwrap();
    let mut nested = doc.clone();
    nested["throughput"].as_object_mut().unwrap().remove("rows");
    assert!(!validator.is_valid(&nested));
    let mut nested = doc.clone();
    nested["round_trip"]["p42_ns"] = 1.into();
    assert!(!validator.is_valid(&nested));
}

#[test]
fn a_c2c_document_matches_its_schema() {
    let _machine = machine();
    let doc = document(&["c2c", "--json", "--samples", "5", "--round-trips", "10"]);
    assert_valid("c2c", &doc);
}

/// This host, and a synthetic machine with two packages, NUMA nodes and SMT: every part of the
/// tree present.
#[test]
fn topo_documents_match_their_schema() {
    assert_valid("topo", &document(&["topo", "--json"]));
    let synthetic = document(&[
        "topo",
        "--json",
        "--synthetic",
        "pack:2 numa:1 l3:1 core:2 pu:2",
    ]);
    assert_eq!(synthetic["numa_nodes"].as_array().unwrap().len(), 2);
    assert_valid("topo", &synthetic);
}

#[test]
fn a_doctor_document_matches_its_schema() {
    assert_valid("doctor", &document(&["doctor", "--json"]));
}

/// Two short runs compared, and a sweep of two points.
#[test]
fn compare_and_sweep_documents_match_their_schemas() {
    let _machine = machine();
    let dir = scratch_dir("documents");
    let mut runs = Vec::new();
    for (name, builtin) in [("a.jsonl", "default"), ("b.jsonl", "low-latency")] {
        let out = ringtop()
            .args(["run", "--headless", "--builtin", builtin])
            .args(["--duration", "400ms", "--interval", "200ms"])
            .output()
            .unwrap();
        assert_succeeded(&out);
        let path = dir.join(name);
        std::fs::write(&path, &out.stdout).unwrap();
        runs.push(path.display().to_string());
    }
    // Exit status 1 when B regressed: the document is printed either way.
    let out = ringtop()
        .args(["compare", &runs[0], &runs[1], "--json"])
        .output()
        .unwrap();
    let compared: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid("compare", &compared);
    let sweep = document(&[
        "sweep",
        "--set",
        "workload.rate=1k,2k",
        "--trial",
        "100ms",
        "--json",
    ]);
    assert_eq!(sweep["sweep"]["points"].as_array().unwrap().len(), 2);
    assert_valid("sweep", &sweep);
}

/// Two tables: a public one with a date column, and one with an empty cell, a dropped column and
/// an integer past what a double holds exactly, so every part of a file's entry has something.
#[test]
fn a_codec_document_matches_its_schema() {
    let dir = scratch_dir("documents");
    let odd = dir.join("odd.csv");
    std::fs::write(
        &odd,
        "price,note,big\n1.5,a,9007199254740993\n,b,2\n2.25,c,3\n",
    )
    .unwrap();
    let doc = document(&[
        "codec",
        "--json",
        "--input",
        "assets/seattle-daily-weather-2012-2015.csv",
        "--input",
        odd.to_str().unwrap(),
    ]);
    let odd = &doc["files"][1];
    for part in ["empty_cells", "rounded_integers", "dropped"] {
        assert_eq!(odd[part].as_array().unwrap().len(), 1, "{part}: {odd}");
    }
    assert!(
        !doc["files"][0]["time_columns"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_valid("codec", &doc);
}
