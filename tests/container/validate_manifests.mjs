// Offline, schema-aware validation of docker/k8s and docker/compose.yaml:
// - Kubernetes kinds against the Kubernetes OpenAPI schemas shipped in npm kubernetes-models;
// - KServe kinds against kserve-schemas.json (the fields Sparrow uses, from KServe's CRDs);
// - the cross-references between them (selectors, ports, probes, runtime names).
// Also proves it can fail: a broken copy of each manifest must be rejected.
// Usage: node validate_manifests.mjs DOCKER_DIR
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import Ajv from "ajv";
import { Deployment } from "kubernetes-models/apps/v1";
import { Service, PersistentVolumeClaim } from "kubernetes-models/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";

const dockerDir = process.argv[2];
const schemas = JSON.parse(fs.readFileSync(new URL("./kserve-schemas.json", import.meta.url)));
const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addSchema({ definitions: schemas.definitions }, "defs");
const kserve = {};
for (const kind of ["ServingRuntime", "InferenceService"]) {
  const schema = JSON.parse(JSON.stringify(schemas[kind]).replaceAll('"#/definitions/', '"defs#/definitions/'));
  kserve[kind] = ajv.compile(schema);
}
const builtin = {
  "apps/v1/Deployment": Deployment,
  "v1/Service": Service,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
};

function validateSchema(doc) {
  const key = `${doc.apiVersion}/${doc.kind}`;
  if (builtin[key]) {
    new builtin[key](doc).validate();  // throws with the failing paths
    return `${key} (Kubernetes OpenAPI schema)`;
  }
  if (kserve[doc.kind]) {
    if (!kserve[doc.kind](doc)) throw new Error(ajv.errorsText(kserve[doc.kind].errors));
    return `${key} (KServe CRD schema subset)`;
  }
  throw new Error(`no schema for ${key}`);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// What the manifests must agree on beyond each one's schema.
function validateReferences(docs) {
  const byKind = (kind) => docs.filter((d) => d.kind === kind);
  const [deployment] = byKind("Deployment");
  const [service] = byKind("Service");
  const [hpa] = byKind("HorizontalPodAutoscaler");
  const [runtime] = byKind("ServingRuntime");
  const [isvc] = byKind("InferenceService");
  const container = deployment.spec.template.spec.containers[0];
  const ports = Object.fromEntries(container.ports.map((p) => [p.name, p.containerPort]));
  for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
    check(container[probe]?.grpc?.port === ports.grpc, `${probe} must be a gRPC probe on the grpc port`);
  }
  check(container.resources.requests.cpu === container.resources.limits.cpu, "CPU requests must equal limits");
  check(deployment.spec.template.spec.securityContext.runAsNonRoot === true, "pods must run as non-root");
  const labels = deployment.spec.template.metadata.labels;
  for (const [k, v] of Object.entries(service.spec.selector)) check(labels[k] === v, `Service selector ${k} matches no pod`);
  check(service.spec.clusterIP === "None", "the Service must be headless for gRPC load balancing");
  for (const p of service.spec.ports) check(ports[p.targetPort] !== undefined, `Service targetPort ${p.targetPort} is no container port`);
  check(hpa.spec.scaleTargetRef.name === deployment.metadata.name, "the HPA must target the Deployment");
  check(runtime.spec.protocolVersions.includes("grpc-v2"), "the ServingRuntime must speak grpc-v2");
  check(isvc.spec.predictor.model.runtime === runtime.metadata.name, "the InferenceService must use the ServingRuntime");
  const formats = runtime.spec.supportedModelFormats.map((f) => f.name);
  check(formats.includes(isvc.spec.predictor.model.modelFormat.name), "the runtime must support the model's format");
  const h2c = runtime.spec.containers[0].ports.find((p) => p.name === "h2c");
  check(h2c && runtime.spec.containers[0].args.includes(`--port=${h2c.containerPort}`), "the runtime must listen on its h2c port");
}

const k8sDir = path.join(dockerDir, "k8s");
const docs = [];
let failures = 0;
for (const file of fs.readdirSync(k8sDir).filter((f) => f.endsWith(".yaml")).sort()) {
  for (const doc of YAML.parseAllDocuments(fs.readFileSync(path.join(k8sDir, file), "utf8"))) {
    const object = doc.toJS();
    try {
      console.log(`ok   ${file}: ${validateSchema(object)}`);
      docs.push(object);
    } catch (e) {
      console.log(`FAIL ${file}: ${e.message}`);
      failures++;
    }
  }
}
try {
  validateReferences(docs);
  console.log("ok   cross-references (selectors, ports, probes, runtime)");
} catch (e) {
  console.log(`FAIL cross-references: ${e.message}`);
  failures++;
}
const compose = YAML.parse(fs.readFileSync(path.join(dockerDir, "compose.yaml"), "utf8"));
if (compose?.services?.sparrow?.build?.dockerfile === "docker/Dockerfile") {
  console.log("ok   compose.yaml: builds docker/Dockerfile");
} else {
  console.log("FAIL compose.yaml: services.sparrow must build docker/Dockerfile");
  failures++;
}

// The validator must reject broken manifests, or it proves nothing.
const broken = [
  (d) => d.kind === "Deployment" && ((d.spec.replicas = "two"), true),
  (d) => d.kind === "Service" && ((d.spec.ports[0].port = "grpc"), true),
  (d) => d.kind === "HorizontalPodAutoscaler" && ((d.spec.minReplicas = "one"), true),
  (d) => d.kind === "ServingRuntime" && ((d.spec.protocolVersion = ["grpc-v2"]), true),
  (d) => d.kind === "InferenceService" && ((d.spec.predictor.model.storageUri = "/local/path"), true),
];
for (const breakIt of broken) {
  for (const original of docs) {
    const copy = structuredClone(original);
    if (!breakIt(copy)) continue;
    try {
      validateSchema(copy);
      console.log(`FAIL a broken ${copy.kind} was accepted`);
      failures++;
    } catch {
      console.log(`ok   a broken ${copy.kind} is rejected`);
    }
  }
}
process.exit(failures ? 1 : 0);
