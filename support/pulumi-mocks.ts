/**
 * Runs Pulumi components and programs under `pulumi.runtime.setMocks` and records what they declare.
 *
 * - Every registered resource is recorded (type, name, URN, parent, inputs, which inputs arrived secret) and
 *   answered with its inputs plus the outputs AWS would compute (`arn`, `name`, …), so components can be asserted
 *   on their exact child inputs, and the offline plan (scripts/plan.ts) can say what a stack declares.
 * - `tls:index/privateKey:PrivateKey` gets a real RSA key of the requested size, so tests can check that the
 *   public key reaching IoT is the key's; `aws.kms.getPublicKey` answers a real public key of the KMS key's spec.
 * - Data-source calls are answered only for the functions listed in `call` below; any other token throws,
 *   so an unexpected lookup (a new API dependency, or a call made at the wrong time) fails the test.
 * - `unwrap` resolves an Output or fails after a timeout: an output missing from the mock state never
 *   resolves, and a test should say so rather than hang.
 */
import { createHash, generateKeyPairSync } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

export const MOCK_ACCOUNT_ID = "123456789012";
export const MOCK_REGION = "eu-west-1";
export const MOCK_PARTITION = "aws";
export const MOCK_PROJECT = "iot-enterprise-auth";
export const MOCK_STACK = "test";

/** The secret marker Pulumi puts on values it sends over the wire (`@pulumi/pulumi/runtime/rpc`). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface RecordedResource {
  type: string;
  name: string;
  /** Inputs as the provider would receive them, with secret markers removed. */
  inputs: Record<string, unknown>;
  /** Names of the top-level inputs that arrived marked secret. */
  secretInputs: string[];
  /** Paths of every input that arrived marked secret, at any depth (`environment.variables.KEY`, `value`). */
  secretPaths: string[];
  /** The resource's URN, as the mock monitor builds it (the parent's type chain, then the type and name). */
  urn: string;
  /** The parent's URN; undefined for a resource registered without a parent. */
  parent?: string;
  id: string;
  /** What the mock returned as the resource's state. */
  state: Record<string, unknown>;
}

export interface RecordedCall {
  token: string;
  inputs: Record<string, unknown>;
}

export interface MockOptions {
  /** Stack configuration, as `pulumi config` would hold it: `{"project:key": "value"}`; objects are JSON-encoded. */
  config?: Record<string, string | number | boolean | object>;
  /** Configuration keys (fully qualified) whose values are secret. */
  secretKeys?: string[];
  accountId?: string;
  region?: string;
  project?: string;
  stack?: string;
}

export interface MockRecorder {
  readonly resources: RecordedResource[];
  readonly calls: RecordedCall[];
  readonly accountId: string;
  readonly region: string;
  readonly partition: string;
  /** Every recorded resource of `type` (a Pulumi type token such as `aws:iam/role:Role`). */
  byType(type: string): RecordedResource[];
  /** The single recorded resource of `type`; throws when there are none or several. */
  one(type: string): RecordedResource;
  /** The recorded resource of `type` named `name` (its Pulumi name); throws when there is none. */
  named(type: string, name: string): RecordedResource;
}

function isSecretValue(value: unknown): value is { value: unknown } {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Removes Pulumi's secret markers at every depth (secrets are asserted on through `secretInputs`). */
function stripSecrets(value: unknown): unknown {
  if (isSecretValue(value)) return stripSecrets(value.value);
  if (Array.isArray(value)) return value.map(stripSecrets);
  if (typeof value === "object" && value !== null && !pulumi.asset.Asset.isInstance(value) && !pulumi.asset.Archive.isInstance(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stripSecrets(v)]));
  }
  return value;
}

/** Paths of the values marked secret inside `value` (`a.b`, `list[0]`), outermost only. */
function secretPaths(value: unknown, path = ""): string[] {
  if (isSecretValue(value)) return [path];
  const join = (key: string) => (path === "" ? key : `${path}.${key}`);
  if (Array.isArray(value)) return value.flatMap((v, i) => secretPaths(v, `${path}[${i}]`));
  if (typeof value === "object" && value !== null && !pulumi.asset.Asset.isInstance(value) && !pulumi.asset.Archive.isInstance(value)) {
    return Object.entries(value).flatMap(([k, v]) => secretPaths(v, join(k)));
  }
  return [];
}

/** The URN the mock monitor gives a resource: `urn:pulumi:<stack>::<project>::<parent types>$<type>::<name>`. */
function mockUrn(stack: string, project: string, parent: string | undefined, type: string, name: string): string {
  const qualified = parent ? `${parent.split("::")[2]}$${type}` : type;
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/**
 * The parent URN of the registration in progress. The mock monitor calls `newResource` synchronously inside
 * `registerResource`, before its first `await`, so a wrapper around `registerResource` can say whose it is.
 */
interface RegisterRequest {
  getParent(): string;
}
function captureParents(runtime: { getMonitor?: () => unknown }): { current?: string } {
  const pending: { current?: string } = {};
  const monitor = runtime.getMonitor?.() as { registerResource?: (req: RegisterRequest, callback: unknown) => unknown } | undefined;
  const original = monitor?.registerResource;
  if (!monitor || typeof original !== "function") return pending;
  monitor.registerResource = (req, callback) => {
    pending.current = req.getParent() || undefined;
    try {
      return original.call(monitor, req, callback);
    } finally {
      pending.current = undefined;
    }
  };
  return pending;
}

/** A stable stand-in for Pulumi's random auto-name suffix. */
function suffix(name: string): string {
  return createHash("sha256").update(name).digest("hex").slice(0, 7);
}

const rsaKeys = new Map<number, { publicKeyPem: string; privateKeyPem: string; privateKeyPemPkcs8: string }>();
function rsaKey(bits: number) {
  let key = rsaKeys.get(bits);
  if (!key) {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: bits });
    key = {
      publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
      privateKeyPem: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
      privateKeyPemPkcs8: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    };
    rsaKeys.set(bits, key);
  }
  return key;
}

const kmsPublicKeys = new Map<string, string>();
/** A real SPKI public key (PEM) of a KMS key spec: RSA_2048 or ECC_NIST_P256. */
function kmsPublicKeyPem(spec: string): string {
  let pem = kmsPublicKeys.get(spec);
  if (!pem) {
    if (spec === "RSA_2048") pem = rsaKey(2048).publicKeyPem;
    else if (spec === "ECC_NIST_P256")
      pem = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
    else throw new Error(`Mock: no public key for key spec ${spec}`);
    kmsPublicKeys.set(spec, pem);
  }
  return pem;
}

/** The outputs a provider computes for the resource types our components declare. */
function computedOutputs(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  env: { accountId: string; region: string; partition: string },
): Record<string, unknown> {
  const { accountId, region, partition } = env;
  const physical = typeof inputs.name === "string" ? inputs.name : `${name}-${suffix(name)}`;
  switch (type) {
    case "aws:lambda/function:Function": {
      const arn = `arn:${partition}:lambda:${region}:${accountId}:function:${physical}`;
      return {
        name: physical,
        arn,
        qualifiedArn: `${arn}:$LATEST`,
        invokeArn: `arn:${partition}:apigateway:${region}:lambda:path/2015-03-31/functions/${arn}/invocations`,
        version: "$LATEST",
      };
    }
    case "aws:iot/authorizer:Authorizer":
      return { name: physical, arn: `arn:${partition}:iot:${region}:${accountId}:authorizer/${physical}` };
    case "aws:iot/domainConfiguration:DomainConfiguration":
      return {
        name: physical,
        arn: `arn:${partition}:iot:${region}:${accountId}:domainconfiguration/${physical}/${suffix(physical)}`,
        domainType: inputs.domainName ? "CUSTOMER_MANAGED" : "AWS_MANAGED",
      };
    case "aws:cloudwatch/logGroup:LogGroup":
      return { name: physical, arn: `arn:${partition}:logs:${region}:${accountId}:log-group:${physical}` };
    case "aws:iam/role:Role":
      return {
        name: physical,
        arn: `arn:${partition}:iam::${accountId}:role/${physical}`,
        uniqueId: `AROA${suffix(physical).toUpperCase()}`,
      };
    case "aws:iam/rolePolicy:RolePolicy":
      return { name: physical };
    case "aws:ssm/parameter:Parameter":
      return {
        name: physical,
        arn: `arn:${partition}:ssm:${region}:${accountId}:parameter/${physical.replace(/^\//, "")}`,
        version: 1,
      };
    case "aws:lambda/permission:Permission":
      return { statementId: typeof inputs.statementId === "string" ? inputs.statementId : `${name}-${suffix(name)}` };
    case "aws:cognito/userPool:UserPool": {
      const id = `${region}_${suffix(name)}Ab`;
      return {
        id,
        name: physical,
        arn: `arn:${partition}:cognito-idp:${region}:${accountId}:userpool/${id}`,
        endpoint: `cognito-idp.${region}.amazonaws.com/${id}`,
      };
    }
    case "aws:cognito/userPoolClient:UserPoolClient": {
      // Cognito client ids are 26 lowercase letters and digits; secrets are only generated when asked for.
      const id = createHash("sha256").update(`client:${name}`).digest("hex").slice(0, 26);
      return {
        id,
        ...(inputs.generateSecret === true && { clientSecret: createHash("sha256").update(`secret:${name}`).digest("base64url") }),
      };
    }
    case "aws:cognito/userPoolDomain:UserPoolDomain":
      return {
        id: String(inputs.domain),
        ...(inputs.certificateArn !== undefined && { cloudfrontDistribution: `d${suffix(name)}.cloudfront.net` }),
      };
    case "random:index/randomId:RandomId": {
      const bytes = createHash("sha256")
        .update(`random:${name}`)
        .digest()
        .subarray(0, Number(inputs.byteLength ?? 8));
      return { hex: bytes.toString("hex"), b64Url: bytes.toString("base64url"), dec: BigInt(`0x${bytes.toString("hex")}`).toString() };
    }
    case "aws:cognito/resourceServer:ResourceServer":
      return { id: `${String(inputs.userPoolId)}|${String(inputs.identifier)}` };
    case "aws:dynamodb/table:Table":
      return { name: physical, arn: `arn:${partition}:dynamodb:${region}:${accountId}:table/${physical}` };
    case "aws:apigatewayv2/api:Api": {
      const id = suffix(name).padEnd(10, "x");
      return {
        id,
        name: physical,
        apiEndpoint: `https://${id}.execute-api.${region}.amazonaws.com`,
        executionArn: `arn:${partition}:execute-api:${region}:${accountId}:${id}`,
        arn: `arn:${partition}:apigateway:${region}::/apis/${id}`,
      };
    }
    case "aws:apigatewayv2/integration:Integration":
      return { id: suffix(name) };
    case "aws:apigatewayv2/route:Route":
      return { id: suffix(name) };
    case "aws:apigatewayv2/stage:Stage":
      return { id: String(inputs.name), name: physical };
    case "aws:apigatewayv2/domainName:DomainName":
      return {
        id: String(inputs.domainName),
        domainNameConfiguration: {
          ...(inputs.domainNameConfiguration as Record<string, unknown>),
          targetDomainName: `d-${suffix(name)}.execute-api.${region}.amazonaws.com`,
          hostedZoneId: "Z2FDTNDATAQYW2",
        },
      };
    case "aws:iot/provisioningTemplate:ProvisioningTemplate":
      return { name: physical, arn: `arn:${partition}:iot:${region}:${accountId}:provisioningtemplate/${physical}`, defaultVersionId: 1 };
    case "aws:iot/policy:Policy":
      return { name: physical, arn: `arn:${partition}:iot:${region}:${accountId}:policy/${physical}`, defaultVersionId: "1" };
    case "aws:apigatewayv2/authorizer:Authorizer":
      return { id: suffix(name) };
    case "aws:cognito/identityPool:IdentityPool": {
      const id = `${region}:${createHash("sha256").update(`pool:${name}`).digest("hex").slice(0, 8)}-0000-4000-8000-000000000000`;
      return { id, arn: `arn:${partition}:cognito-identity:${region}:${accountId}:identitypool/${id}` };
    }
    case "aws:kms/key:Key": {
      const keyId = `${suffix(name)}-0000-4000-8000-000000000000`;
      return { id: keyId, keyId, arn: `arn:${partition}:kms:${region}:${accountId}:key/${keyId}` };
    }
    case "aws:sns/topic:Topic":
      return { name: physical, arn: `arn:${partition}:sns:${region}:${accountId}:${physical}` };
    case "aws:cloudwatch/metricAlarm:MetricAlarm":
      return { name: physical, arn: `arn:${partition}:cloudwatch:${region}:${accountId}:alarm:${physical}` };
    case "aws:cloudwatch/dashboard:Dashboard":
      return { dashboardArn: `arn:${partition}:cloudwatch::${accountId}:dashboard/${String(inputs.dashboardName)}` };
    case "tls:index/privateKey:PrivateKey": {
      if (inputs.algorithm !== "RSA") throw new Error(`mock: only RSA keys are generated, got ${String(inputs.algorithm)}`);
      return { ...rsaKey(typeof inputs.rsaBits === "number" ? inputs.rsaBits : 2048) };
    }
    default:
      return {};
  }
}

/**
 * Installs the mocks and the stack configuration, and returns the recorder. Call it before the code under
 * test declares anything (in `beforeEach`), and import that code after it where the code reads config at load.
 * `runtime` is the Pulumi runtime to mock: this repository's by default, an installed package's own copy when the
 * package is tested from a program of its own (tests/package).
 */
export function setupMocks(
  opts: MockOptions = {},
  runtime: Pick<typeof pulumi.runtime, "setAllConfig" | "setMocks"> & Partial<Pick<typeof pulumi.runtime, "getMonitor">> = pulumi.runtime,
): MockRecorder {
  const accountId = opts.accountId ?? MOCK_ACCOUNT_ID;
  const region = opts.region ?? MOCK_REGION;
  const partition = MOCK_PARTITION;
  const resources: RecordedResource[] = [];
  const calls: RecordedCall[] = [];
  const project = opts.project ?? MOCK_PROJECT;
  const stack = opts.stack ?? MOCK_STACK;

  const config = Object.fromEntries(Object.entries(opts.config ?? {}).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  runtime.setAllConfig(config, opts.secretKeys ?? []);

  void runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
        const secretInputs = Object.entries(args.inputs)
          .filter(([, v]) => isSecretValue(v))
          .map(([k]) => k);
        const inputs = stripSecrets(args.inputs) as Record<string, unknown>;
        const computed = computedOutputs(args.type, args.name, inputs, { accountId, region, partition });
        const id = typeof computed.id === "string" ? computed.id : typeof computed.name === "string" ? computed.name : `${args.name}-id`;
        // Secret inputs stay secret in the state, as the engine keeps them.
        const state = { ...args.inputs, ...computed };
        const parent = registering.current;
        const urn = mockUrn(stack, project, parent, args.type, args.name);
        resources.push({
          type: args.type,
          name: args.name,
          inputs,
          secretInputs,
          secretPaths: secretPaths(args.inputs),
          urn,
          parent,
          id,
          state,
        });
        return { id, state };
      },
      call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        calls.push({ token: args.token, inputs: args.inputs });
        switch (args.token) {
          case "aws:index/getCallerIdentity:getCallerIdentity":
            return {
              accountId,
              arn: `arn:${partition}:iam::${accountId}:user/tester`,
              userId: "AIDAMOCKUSER",
              id: accountId,
            };
          case "aws:index/getRegion:getRegion":
            return {
              region,
              name: region,
              description: `Mock (${region})`,
              endpoint: `ec2.${region}.amazonaws.com`,
              id: region,
            };
          case "aws:index/getPartition:getPartition":
            return { partition, dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws", id: partition };
          case "aws:iot/getEndpoint:getEndpoint": {
            const endpointType = args.inputs.endpointType;
            if (endpointType !== "iot:Data-ATS") {
              throw new Error(`Mock not implemented: ${args.token} for endpointType ${String(endpointType)}`);
            }
            return { endpointAddress: `a1b2c3d4e5f6g7-ats.iot.${region}.amazonaws.com`, endpointType, id: endpointType };
          }
          case "aws:kms/getPublicKey:getPublicKey": {
            // A real public key of the key's spec, as KMS GetPublicKey answers for an asymmetric key.
            const key = resources.find((r) => r.type === "aws:kms/key:Key" && r.state.arn === args.inputs.keyId);
            if (!key) throw new Error(`Mock: no KMS key ${String(args.inputs.keyId)}`);
            const spec = String(key.inputs.customerMasterKeySpec);
            return { id: key.id, arn: key.state.arn, keyId: key.id, customerMasterKeySpec: spec, publicKeyPem: kmsPublicKeyPem(spec) };
          }
          default:
            throw new Error(`Mock not implemented: ${args.token}`);
        }
      },
    },
    project,
    stack,
    false,
  );
  const registering = captureParents(runtime);

  return {
    resources,
    calls,
    accountId,
    region,
    partition,
    byType: (type) => resources.filter((r) => r.type === type),
    one(type) {
      const found = resources.filter((r) => r.type === type);
      if (found.length !== 1) {
        throw new Error(`expected exactly one ${type}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
      }
      return found[0];
    },
    named(type, name) {
      const found = resources.find((r) => r.type === type && r.name === name);
      if (!found)
        throw new Error(
          `no ${type} named ${name}; recorded: ${resources
            .filter((r) => r.type === type)
            .map((r) => r.name)
            .join(", ")}`,
        );
      return found;
    },
  };
}

/**
 * The value of `output`, or a rejection naming the problem: unknown (a preview value), or not resolved
 * within `timeoutMs` (usually a property the mock state does not contain).
 */
export async function unwrap<T>(output: pulumi.Output<T> | pulumi.Input<T>, timeoutMs = 2_000): Promise<T> {
  if (!pulumi.Output.isInstance(output)) return (await output) as T;
  // `isKnown` and `promise()` are Output internals; unlike `apply`, they carry a failure through as a rejection.
  const internals = output as unknown as { isKnown: Promise<boolean>; promise(): Promise<T> };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`unwrap: the output did not resolve within ${timeoutMs} ms (is the property missing from the mock state?)`)),
      timeoutMs,
    );
  });
  const value = (async () => {
    const [isKnown, resolved] = await Promise.all([internals.isKnown, internals.promise()]);
    if (!isKnown) throw new Error("unwrap: the output is unknown (a preview value)");
    return resolved;
  })();
  try {
    return await Promise.race([value, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
