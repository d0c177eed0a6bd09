//! Discovery of the `coordination.k8s.io` group, and the `OpenAPI` documents `kubectl` reads
//! before a server-side apply.
//!
//! `kubectl apply` (also `--server-side`) validates with `--validate=strict` by default: it
//! asks the server's `OpenAPI` whether the PATCH of the kind takes the `fieldValidation` query
//! parameter, and if so leaves validation to the server (and sends `fieldValidation=Strict`).
//! kubectl 1.28 and later read `/openapi/v3` (JSON) first and fall back to `/openapi/v2`;
//! kubectl 1.27 reads `/openapi/v2` first, in protobuf only (the gnostic `openapi_v2.Document`),
//! and fails the apply without it. So both are served, minimal but exact where kubectl looks:
//! the lease path with a PATCH operation, its `x-kubernetes-group-version-kind` extension and
//! its `fieldValidation` query parameter.
//!
//! Owns: the `/apis` group list, `/apis/coordination.k8s.io`, the `coordination.k8s.io/v1`
//! resource list, `/openapi/v3`, `/openapi/v3/apis/coordination.k8s.io/v1`, `/openapi/v2` (JSON
//! and protobuf). Must not: describe resources the server does not serve.

use serde_json::{Value, json};

use crate::lease::{API_VERSION, GROUP, KIND};

/// The path of one lease, as the `OpenAPI` documents name it.
const LEASE_PATH: &str = "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}";

fn group_version() -> Value {
    json!({"groupVersion": API_VERSION, "version": "v1"})
}

/// `GET /apis`: the groups besides the legacy core group.
pub(crate) fn api_group_list() -> Value {
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": GROUP, "versions": [group_version()], "preferredVersion": group_version()}
    ]})
}

/// `GET /apis/coordination.k8s.io`.
pub(crate) fn api_group() -> Value {
    json!({"kind": "APIGroup", "apiVersion": "v1", "name": GROUP,
        "versions": [group_version()], "preferredVersion": group_version()})
}

/// `GET /apis/coordination.k8s.io/v1`: leases, with the verbs this server implements (no
/// `watch`).
pub(crate) fn api_resources() -> Value {
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": API_VERSION,
        "resources": [
            {"name": "leases", "singularName": "lease", "namespaced": true, "kind": KIND,
             "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update"],
             "storageVersionHash": "gqkMMb/YqFM="}
        ]
    })
}

/// A hash for a `serverRelativeURL` (the real server uses the document's SHA-512).
fn hash(doc: &Value) -> String {
    let h = doc
        .to_string()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |a, b| {
            (a ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    format!(
        "{:016X}{:016X}",
        crate::pod::mix64(h),
        crate::pod::mix64(!h)
    )
}

/// `GET /openapi/v3`: where the document of each group version is.
pub(crate) fn v3_root() -> Value {
    let url = format!(
        "/openapi/v3/apis/coordination.k8s.io/v1?hash={}",
        hash(&v3_coordination())
    );
    json!({"paths": {"apis/coordination.k8s.io/v1": {"serverRelativeURL": url}}})
}

fn query_param(name: &str, description: &str, ty: &str) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": {"type": ty, "uniqueItems": true}})
}

fn patch_params() -> Vec<Value> {
    vec![
        query_param(
            "dryRun",
            "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed",
            "string",
        ),
        query_param(
            "fieldManager",
            "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint. This field is required for apply requests (application/apply-patch) but optional for non-apply patch types (JsonPatch, MergePatch, StrategicMergePatch).",
            "string",
        ),
        query_param(
            "fieldValidation",
            "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. This is the default behavior prior to v1.23. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.",
            "string",
        ),
        query_param(
            "force",
            "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.",
            "boolean",
        ),
    ]
}

fn gvk() -> Value {
    json!({"group": GROUP, "version": "v1", "kind": KIND})
}

/// `GET /openapi/v3/apis/coordination.k8s.io/v1`.
pub(crate) fn v3_coordination() -> Value {
    let lease_ref = json!({"$ref": "#/components/schemas/io.k8s.api.coordination.v1.Lease"});
    let ok = json!({"200": {"description": "OK", "content": {"application/json": {"schema": lease_ref}}}});
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": {
            LEASE_PATH: {
                "get": {"tags": ["coordination_v1"], "description": "read the specified Lease",
                    "operationId": "readCoordinationV1NamespacedLease", "responses": ok,
                    "x-kubernetes-action": "get", "x-kubernetes-group-version-kind": gvk()},
                "put": {"tags": ["coordination_v1"], "description": "replace the specified Lease",
                    "operationId": "replaceCoordinationV1NamespacedLease", "responses": ok,
                    "x-kubernetes-action": "put", "x-kubernetes-group-version-kind": gvk()},
                "patch": {"tags": ["coordination_v1"], "description": "partially update the specified Lease",
                    "operationId": "patchCoordinationV1NamespacedLease",
                    "parameters": patch_params(),
                    "requestBody": {"content": {
                        "application/apply-patch+yaml": {"schema": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}},
                        "application/json-patch+json": {"schema": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}},
                        "application/merge-patch+json": {"schema": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}},
                        "application/strategic-merge-patch+json": {"schema": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}}
                    }, "required": true},
                    "responses": ok,
                    "x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk()},
                "parameters": [
                    {"name": "name", "in": "path", "description": "name of the Lease", "required": true, "schema": {"type": "string", "uniqueItems": true}},
                    {"name": "namespace", "in": "path", "description": "object name and auth scope, such as for teams and projects", "required": true, "schema": {"type": "string", "uniqueItems": true}}
                ]
            }
        },
        "components": {"schemas": {
            "io.k8s.api.coordination.v1.Lease": {
                "description": "Lease defines a lease concept.",
                "type": "object",
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": {"default": {}, "allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]},
                    "spec": {"default": {}, "allOf": [{"$ref": "#/components/schemas/io.k8s.api.coordination.v1.LeaseSpec"}]}
                },
                "x-kubernetes-group-version-kind": [gvk()]
            },
            "io.k8s.api.coordination.v1.LeaseSpec": {
                "description": "LeaseSpec is a specification of a Lease.",
                "type": "object",
                "properties": {
                    "acquireTime": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"},
                    "holderIdentity": {"type": "string"},
                    "leaseDurationSeconds": {"type": "integer", "format": "int32"},
                    "leaseTransitions": {"type": "integer", "format": "int32"},
                    "preferredHolder": {"type": "string"},
                    "renewTime": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"},
                    "strategy": {"type": "string"}
                }
            },
            "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": {"type": "string", "format": "date-time"},
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {"type": "object"},
            "io.k8s.apimachinery.pkg.apis.meta.v1.Patch": {"type": "object"}
        }}
    })
}

/// `GET /openapi/v2` as JSON (Swagger 2.0).
pub(crate) fn v2_json() -> Value {
    let mut params: Vec<Value> = patch_params()
        .into_iter()
        .map(|mut p| {
            let ty = p["schema"]["type"].clone();
            if let Some(o) = p.as_object_mut() {
                o.remove("schema");
                o.insert("type".into(), ty);
                o.insert("uniqueItems".into(), Value::Bool(true));
            }
            p
        })
        .collect();
    params.insert(
        0,
        json!({"name": "body", "in": "body", "required": true, "schema": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}}),
    );
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": {
            LEASE_PATH: {
                "patch": {"description": "partially update the specified Lease",
                    "consumes": ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml"],
                    "produces": ["application/json", "application/yaml"],
                    "schemes": ["https"], "tags": ["coordination_v1"],
                    "operationId": "patchCoordinationV1NamespacedLease",
                    "parameters": params,
                    "responses": {"200": {"description": "OK", "schema": {"$ref": "#/definitions/io.k8s.api.coordination.v1.Lease"}}},
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": gvk()}
            }
        },
        "definitions": {}
    })
}

/// Protocol buffer writing, just enough for [`v2_protobuf`].
struct Proto(Vec<u8>);

impl Proto {
    fn varint(&mut self, mut n: u64) {
        loop {
            let byte = u8::try_from(n & 0x7f).unwrap_or(0);
            n >>= 7;
            if n == 0 {
                self.0.push(byte);
                return;
            }
            self.0.push(byte | 0x80);
        }
    }

    fn bytes(&mut self, field: u32, data: &[u8]) {
        self.varint(u64::from(field << 3 | 2));
        self.varint(data.len() as u64);
        self.0.extend_from_slice(data);
    }

    fn string(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }

    fn message(&mut self, field: u32, f: impl FnOnce(&mut Proto)) {
        let mut inner = Proto(Vec::new());
        f(&mut inner);
        self.bytes(field, &inner.0);
    }
}

/// `GET /openapi/v2` in `application/com.github.proto-openapi.spec.v2@v1.0+protobuf`: a gnostic
/// `openapi.v2.Document` (field numbers of `OpenAPIv2.proto`) with the lease path, whose PATCH
/// names its kind (`x-kubernetes-group-version-kind`) and takes `fieldValidation`.
pub(crate) fn v2_protobuf() -> Vec<u8> {
    let mut doc = Proto(Vec::new());
    doc.string(1, "2.0"); // swagger
    doc.message(2, |info| {
        info.string(1, "Kubernetes"); // title
        info.string(2, "v1.33.0"); // version
    });
    doc.message(8, |paths| {
        // Paths.path
        paths.message(2, |named| {
            named.string(1, LEASE_PATH); // NamedPathItem.name
            named.message(2, |item| {
                // PathItem.patch
                item.message(8, |op| {
                    op.string(3, "partially update the specified Lease"); // description
                    op.string(5, "patchCoordinationV1NamespacedLease"); // operation_id
                    for (name, ty) in [
                        ("dryRun", "string"),
                        ("fieldManager", "string"),
                        ("fieldValidation", "string"),
                        ("force", "boolean"),
                    ] {
                        // Operation.parameters: ParametersItem.parameter.non_body_parameter
                        // .query_parameter_sub_schema
                        op.message(8, |pi| {
                            pi.message(1, |p| {
                                p.message(2, |nb| {
                                    nb.message(3, |q| {
                                        q.string(2, "query"); // in
                                        q.string(4, name); // name
                                        q.string(6, ty); // type
                                    });
                                });
                            });
                        });
                    }
                    // Operation.vendor_extension
                    op.message(13, |ext| {
                        ext.string(1, "x-kubernetes-group-version-kind");
                        ext.message(2, |any| {
                            any.string(2, "group: coordination.k8s.io\nkind: Lease\nversion: v1\n");
                        });
                    });
                });
            });
        });
    });
    doc.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protobuf_varints_and_nesting() {
        let mut p = Proto(Vec::new());
        p.varint(300);
        assert_eq!(p.0, [0xac, 0x02]);
        let doc = v2_protobuf();
        // field 1 (swagger), wire type 2, length 3, "2.0"
        assert_eq!(&doc[..5], b"\x0a\x032.0");
        let text = String::from_utf8_lossy(&doc);
        assert!(text.contains("fieldValidation") && text.contains("kind: Lease"));
    }

    #[test]
    fn v3_root_points_at_the_group_document() {
        let url = v3_root()["paths"]["apis/coordination.k8s.io/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(url.starts_with("/openapi/v3/apis/coordination.k8s.io/v1?hash="));
        let doc = v3_coordination();
        let patch = &doc["paths"][LEASE_PATH]["patch"];
        assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "Lease");
        assert!(
            patch["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
        );
    }
}
