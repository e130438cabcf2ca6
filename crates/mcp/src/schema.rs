//! The tools' JSON Schemas as every client accepts them, and the server-side check of every
//! argument against the schema it advertises.
//!
//! * [`portable`] rewrites what schemars generates into the portable subset: no `$ref`, no
//!   nullable type arrays (`["integer","null"]`), no `anyOf` with `null`, no non-standard
//!   `format` (`uint32`), no `default: null`.
//! * [`validate`] checks a value against such a schema (the keywords [`portable`] leaves:
//!   `type`, `properties`, `required`, `additionalProperties`, `enum`, `const`, `oneOf`,
//!   `anyOf`, `items`, `minItems`, `maxItems`, `minLength`, `maxLength`, `pattern`, `minimum`,
//!   `maximum`), so a bound the schema advertises is a bound the server enforces.

use serde_json::{Map, Value};

/// Rewrites a generated schema into the portable subset (see the module documentation).
pub(crate) fn portable(schema: &Map<String, Value>) -> Map<String, Value> {
    let defs = schema
        .get("$defs")
        .or_else(|| schema.get("definitions"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut out = match rewrite(&Value::Object(schema.clone()), &defs, 0) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    out.remove("$defs");
    out.remove("definitions");
    out.remove("$schema");
    out.remove("title");
    out
}

fn rewrite(v: &Value, defs: &Map<String, Value>, depth: usize) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    if depth > 16 {
        return v.clone();
    }
    // Inline references.
    if let Some(r) = m.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or_default();
        if let Some(target) = defs.get(name) {
            let mut inlined = match rewrite(target, defs, depth + 1) {
                Value::Object(t) => t,
                _ => Map::new(),
            };
            for (k, val) in m {
                if k != "$ref" {
                    inlined.insert(k.clone(), rewrite(val, defs, depth + 1));
                }
            }
            return Value::Object(inlined);
        }
    }
    // `anyOf: [X, {type: null}]` → X.
    if let Some(Value::Array(any)) = m.get("anyOf") {
        let non_null: Vec<&Value> = any
            .iter()
            .filter(|s| s.get("type") != Some(&Value::String("null".into())))
            .collect();
        if non_null.len() == 1 && any.len() == 2 {
            let mut merged = match rewrite(non_null[0], defs, depth + 1) {
                Value::Object(t) => t,
                _ => Map::new(),
            };
            for (k, val) in m {
                if k != "anyOf" {
                    merged.insert(k.clone(), rewrite(val, defs, depth + 1));
                }
            }
            return Value::Object(tidy(merged));
        }
    }
    let mut out = Map::new();
    for (k, val) in m {
        let val = match k.as_str() {
            "properties" | "$defs" | "definitions" => match val {
                Value::Object(props) => Value::Object(
                    props
                        .iter()
                        .map(|(n, s)| (n.clone(), rewrite(s, defs, depth + 1)))
                        .collect(),
                ),
                other => other.clone(),
            },
            "items" | "additionalProperties" => rewrite(val, defs, depth + 1),
            "oneOf" | "anyOf" | "allOf" => match val {
                Value::Array(a) => {
                    Value::Array(a.iter().map(|s| rewrite(s, defs, depth + 1)).collect())
                }
                other => other.clone(),
            },
            _ => val.clone(),
        };
        out.insert(k.clone(), val);
    }
    Value::Object(tidy(out))
}

/// Drops what strict validators or model providers refuse: nullable type arrays, `format`,
/// `default: null`; joins wrapped descriptions into one line.
fn tidy(mut m: Map<String, Value>) -> Map<String, Value> {
    if let Some(Value::Array(types)) = m.get("type") {
        let non_null: Vec<Value> = types
            .iter()
            .filter(|t| t.as_str() != Some("null"))
            .cloned()
            .collect();
        if non_null.len() == 1 {
            m.insert("type".into(), non_null[0].clone());
        } else {
            m.insert("type".into(), Value::Array(non_null));
        }
    }
    m.remove("format");
    // Doc comments wrap; a description is one paragraph.
    if let Some(Value::String(d)) = m.get_mut("description") {
        *d = d.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    if m.get("default") == Some(&Value::Null) {
        m.remove("default");
    }
    m
}

/// Checks `value` against `schema`; the first violation, as a sentence naming the argument.
pub(crate) fn validate(schema: &Map<String, Value>, value: &Value) -> Result<(), String> {
    check(schema, value, "arguments")
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        "integer" => v.as_i64().is_some() || v.as_u64().is_some(),
        _ => true,
    }
}

fn check(s: &Map<String, Value>, v: &Value, at: &str) -> Result<(), String> {
    match s.get("type") {
        Some(Value::String(t)) if !type_ok(t, v) => {
            return Err(format!("{at} must be of type {t}, not {v}"));
        }
        Some(Value::Array(ts)) if !ts.iter().any(|t| t.as_str().is_some_and(|t| type_ok(t, v))) => {
            return Err(format!("{at} has the wrong type ({v})"));
        }
        _ => {}
    }
    if let Some(c) = s.get("const")
        && c != v
    {
        return Err(format!("{at} must be {c}"));
    }
    if let Some(Value::Array(e)) = s.get("enum")
        && !e.contains(v)
    {
        return Err(format!("{at} must be one of {}", Value::Array(e.clone())));
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(alts)) = s.get(key) {
            let fits = alts
                .iter()
                .filter_map(Value::as_object)
                .filter(|alt| check(alt, v, at).is_ok())
                .count();
            let ok = if key == "oneOf" { fits == 1 } else { fits >= 1 };
            if !ok {
                let options: Vec<Value> = alts
                    .iter()
                    .filter_map(|a| a.get("const").cloned())
                    .collect();
                return Err(if options.is_empty() {
                    format!("{at} fits none of the allowed shapes ({v})")
                } else {
                    format!("{at} must be one of {}", Value::Array(options))
                });
            }
        }
    }
    if let Some(n) = v.as_f64() {
        if let Some(min) = s.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            return Err(format!("{at} must be at least {min}, not {v}"));
        }
        if let Some(max) = s.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            return Err(format!("{at} must be at most {max}, not {v}"));
        }
    }
    if let Some(text) = v.as_str() {
        let len = text.chars().count() as u64;
        if let Some(min) = s.get("minLength").and_then(Value::as_u64)
            && len < min
        {
            return Err(format!("{at} must have at least {min} characters"));
        }
        if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
            && len > max
        {
            return Err(format!("{at} must have at most {max} characters"));
        }
        if let Some(p) = s.get("pattern").and_then(Value::as_str) {
            let re = regex::Regex::new(p).map_err(|e| format!("bad pattern {p}: {e}"))?;
            if !re.is_match(text) {
                return Err(format!("{at} ({text:?}) does not match {p}"));
            }
        }
    }
    if let Some(items) = v.as_array() {
        let n = items.len() as u64;
        if let Some(min) = s.get("minItems").and_then(Value::as_u64)
            && n < min
        {
            return Err(format!("{at} must have at least {min} items, not {n}"));
        }
        if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
            && n > max
        {
            return Err(format!("{at} must have at most {max} items, not {n}"));
        }
        if let Some(Value::Object(item)) = s.get("items") {
            for (i, x) in items.iter().enumerate() {
                check(item, x, &format!("{at}[{i}]"))?;
            }
        }
    }
    if let Some(obj) = v.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        if let Some(Value::Array(req)) = s.get("required") {
            for r in req.iter().filter_map(Value::as_str) {
                if !obj.contains_key(r) {
                    return Err(format!("{r} is required"));
                }
            }
        }
        for (k, x) in obj {
            match props.and_then(|p| p.get(k)).and_then(Value::as_object) {
                Some(ps) => check(ps, x, k)?,
                None if s.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    let known: Vec<&str> = props
                        .map(|p| p.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    return Err(format!(
                        "unknown argument {k:?} (known: {})",
                        known.join(", ")
                    ));
                }
                None => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn nullable_types_formats_and_refs_become_portable() {
        let s = obj(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "n": {"type": ["integer", "null"], "format": "uint32", "default": null,
                      "minimum": 0, "maximum": 300},
                "e": {"anyOf": [{"$ref": "#/$defs/E"}, {"type": "null"}]},
            },
            "$defs": {"E": {"type": "string", "enum": ["a", "b"]}},
        }));
        let p = portable(&s);
        assert_eq!(
            Value::Object(p.clone()),
            json!({"type": "object", "properties": {
                "n": {"type": "integer", "minimum": 0, "maximum": 300},
                "e": {"type": "string", "enum": ["a", "b"]},
            }})
        );
        assert!(validate(&p, &json!({"n": 300, "e": "a"})).is_ok());
        assert!(
            validate(&p, &json!({"n": 301}))
                .unwrap_err()
                .contains("at most 300")
        );
        assert!(validate(&p, &json!({"n": 4_294_967_295u64})).is_err());
        assert!(validate(&p, &json!({"n": -1})).is_err());
        assert!(validate(&p, &json!({"n": 1.5})).is_err());
        assert!(validate(&p, &json!({"e": "c"})).is_err());
    }

    #[test]
    fn objects_arrays_and_patterns() {
        let s = obj(json!({
            "type": "object", "additionalProperties": false, "required": ["w"],
            "properties": {"w": {"type": "array", "minItems": 1, "maxItems": 2,
                "items": {"type": "string", "pattern": "^[a-c]+$"}}},
        }));
        assert!(validate(&s, &json!({"w": ["ab"]})).is_ok());
        assert!(validate(&s, &json!({})).unwrap_err().contains("required"));
        assert!(validate(&s, &json!({"w": []})).is_err());
        assert!(validate(&s, &json!({"w": ["a", "b", "c"]})).is_err());
        assert!(
            validate(&s, &json!({"w": ["x"]}))
                .unwrap_err()
                .contains("w[0]")
        );
        assert!(
            validate(&s, &json!({"w": ["a"], "z": 1}))
                .unwrap_err()
                .contains("unknown")
        );
    }
}
