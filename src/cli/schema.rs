//! `ringtop schema`: the JSON Schemas of everything ringtop prints as JSON. The headless lines
//! and the stdin commands come from [`ringtop::output::schemas`]; beside them, one schema for each
//! document a command prints with `--json`, so that a script can check what it reads.

use ringtop::metrics::snapshot::SCHEMA_VERSION;
use schemars::JsonSchema;
use serde_json::{Value, json};

/// The schemas `ringtop schema` prints: the lines, the commands, and the documents.
pub(super) fn all() -> Value {
    let mut schemas = ringtop::output::schemas();
    schemas["documents"] = json!({
        "probe": document::<ringtop::engine::probe::ProbeReport>(),
        "c2c": document::<ringtop::topology::c2c::C2cReport>(),
        "topo": document::<ringtop::topology::Topology>(),
        "doctor": document::<ringtop::doctor::DoctorReport>(),
        "compare": document::<ringtop::export::compare::Report>(),
        "sweep": document::<ringtop::tune::sweep::SweepDocument<'static>>(),
        "attach_list": document::<super::attach_list::AttachList>(),
        "codec": document::<super::codec_document::CodecDocument>(),
        "tune": document::<super::tune_document::TuneDocument<'static>>(),
    });
    schemas
}

/// `T`'s schema as a document printed by [`super::json_line`]: with the `schema_version` it adds,
/// and no field it does not name (as the lines' schemas allow none): a field ringtop prints and
/// its schema lacks fails validation rather than passing unchecked.
fn document<T: JsonSchema>() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null);
    closed(&mut schema);
    if let Some(properties) = schema["properties"].as_object_mut() {
        properties.insert("schema_version".into(), json!({ "const": SCHEMA_VERSION }));
    }
    if let Some(required) = schema["required"].as_array_mut()
        && !required.iter().any(|name| name == "schema_version")
    {
        required.push("schema_version".into());
    }
    schema
}

/// Every object schema in `schema` that names its properties allows no others.
fn closed(schema: &mut Value) {
    match schema {
        Value::Object(fields) => {
            if fields.contains_key("properties") && !fields.contains_key("additionalProperties") {
                fields.insert("additionalProperties".into(), Value::Bool(false));
            }
            fields.values_mut().for_each(closed);
        }
        Value::Array(items) => items.iter_mut().for_each(closed),
        _ => {}
    }
}
