//! AWS Query-protocol calls by name (STS, IAM), as the AWS CLI makes them: a signed form
//! `Action=…&Version=…&…` on [`super::wire::call_query`], and the XML answer read into JSON the
//! way botocore shapes it (an element with children is an object, a list of `<member>`
//! elements an array, text a string; the `…Result` element is the answer, `<Error>` an AWS
//! error). Types beyond strings are the caller's to restore (numbers, booleans, URL-encoded
//! policy documents), since only the service model knows them.

use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::{Map, Value};

use super::client::ClientError;
use super::sdk::ClientSettings;

/// The most nested elements read (IAM's deepest answers have six levels).
const MAX_DEPTH: usize = 32;

struct Frame {
    name: String,
    children: Vec<(String, Value)>,
    text: String,
}

impl Frame {
    fn into_value(self) -> Result<Value, String> {
        if self.children.is_empty() {
            let text = quick_xml::escape::unescape(&self.text)
                .map_err(|e| format!("bad escape in <{}>: {e}", self.name))?;
            return Ok(Value::String(text.trim().to_string()));
        }
        if self.children.iter().all(|(n, _)| n == "member") {
            return Ok(Value::Array(
                self.children.into_iter().map(|(_, v)| v).collect(),
            ));
        }
        let mut map = Map::new();
        for (name, value) in self.children {
            map.insert(name, value);
        }
        Ok(Value::Object(map))
    }
}

/// Reads an XML document into `(root element name, value)`. An empty element `<PolicyNames/>`
/// is an empty string (the caller knows when it is an empty list).
pub fn xml_to_json(xml: &str) -> Result<(String, Value), String> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Frame> = Vec::new();
    loop {
        let event = reader.read_event().map_err(|e| e.to_string())?;
        match event {
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("more than {MAX_DEPTH} nested elements"));
                }
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                stack.push(Frame {
                    name,
                    children: Vec::new(),
                    text: String::new(),
                });
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                match stack.last_mut() {
                    Some(parent) => parent.children.push((name, Value::String(String::new()))),
                    None => return Ok((name, Value::String(String::new()))),
                }
            }
            Event::Text(t) => {
                if let Some(frame) = stack.last_mut() {
                    frame.text.push_str(&t.decode().map_err(|e| e.to_string())?);
                }
            }
            Event::CData(t) => {
                if let Some(frame) = stack.last_mut() {
                    let text = t.decode().map_err(|e| e.to_string())?;
                    frame
                        .text
                        .push_str(&quick_xml::escape::escape(text.as_ref()));
                }
            }
            Event::GeneralRef(r) => {
                if let Some(frame) = stack.last_mut() {
                    frame.text.push('&');
                    frame.text.push_str(&r.decode().map_err(|e| e.to_string())?);
                    frame.text.push(';');
                }
            }
            Event::End(_) => {
                let frame = stack.pop().ok_or("an end tag without a start")?;
                let name = frame.name.clone();
                let value = frame.into_value()?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push((name, value)),
                    None => return Ok((name, value)),
                }
            }
            Event::Eof => return Err("the document ends inside an element".into()),
            _ => {}
        }
    }
}

/// The Query protocol's form body: the pairs URL-encoded as `k=v&…`.
fn form_encode(pairs: &[(String, String)]) -> Vec<u8> {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish().into_bytes()
}

/// Calls `action` of a Query-protocol `service` (`sts`, `iam`) at API `version` with `params`;
/// returns the `<ActionResult>` element as JSON (an empty object when the answer has none).
pub async fn query_call(
    settings: &ClientSettings,
    service: &str,
    version: &str,
    action: &str,
    params: &[(String, String)],
) -> Result<Value, ClientError> {
    let mut pairs = vec![
        ("Action".to_string(), action.to_string()),
        ("Version".to_string(), version.to_string()),
    ];
    pairs.extend(params.iter().cloned());
    let (status, body) = super::wire::call_query(settings, service, form_encode(&pairs))
        .await
        .map_err(|e| ClientError::Transport(e.to_string()))?;
    let text = String::from_utf8_lossy(&body);
    let parsed = if text.trim().is_empty() {
        None
    } else {
        Some(xml_to_json(&text).map_err(|e| {
            ClientError::Transport(format!(
                "the service answered with XML that does not parse ({e})"
            ))
        })?)
    };
    if status >= 300 {
        let error = parsed.as_ref().map(|(_, v)| &v["Error"]);
        let field = |name: &str| {
            error
                .and_then(|e| e[name].as_str())
                .map(str::to_string)
                .unwrap_or_default()
        };
        let code = Some(field("Code"))
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| format!("HTTP {status}"));
        return Err(ClientError::Aws {
            code,
            message: field("Message"),
            operation: action.to_string(),
        });
    }
    let result = parsed
        .and_then(|(_, v)| v.get(format!("{action}Result")).cloned())
        .filter(Value::is_object)
        .unwrap_or_else(|| Value::Object(Map::new()));
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_answers_read_as_botocore_shapes_them() {
        let xml = r#"<ListRolePoliciesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <ListRolePoliciesResult>
    <PolicyNames>
      <member>A &amp; B</member>
      <member>C</member>
    </PolicyNames>
    <IsTruncated>false</IsTruncated>
  </ListRolePoliciesResult>
  <ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata>
</ListRolePoliciesResponse>"#;
        let (root, value) = xml_to_json(xml).unwrap();
        assert_eq!(root, "ListRolePoliciesResponse");
        let result = &value["ListRolePoliciesResult"];
        assert_eq!(result["PolicyNames"], serde_json::json!(["A & B", "C"]));
        assert_eq!(result["IsTruncated"], "false");
        let (_, err) = xml_to_json(
            "<ErrorResponse><Error><Code>NoSuchEntity</Code><Message>gone</Message></Error></ErrorResponse>",
        )
        .unwrap();
        assert_eq!(err["Error"]["Code"], "NoSuchEntity");
        assert!(xml_to_json("<a><b>").is_err());
        let deep = "<a>".repeat(40) + &"</a>".repeat(40);
        assert!(xml_to_json(&deep).is_err());
    }
}
