/**
 * The policy pack as the Pulumi CLI runs it for `pulumi preview --policy-pack policy`: its `pulumi-analyzer-policy`
 * plugin starts `@pulumi/pulumi/cmd/run-policy-pack` with node in the pack's folder (type-checking the TypeScript
 * with ts-node), the pack prints the port of its gRPC analyzer server, and the engine calls GetAnalyzerInfo, Analyze
 * (each resource's inputs) and AnalyzeStack (all resources). This starts the pack that way and plays the engine.
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import {
  AnalyzeRequest,
  AnalyzerResource,
  AnalyzerResourceOptions,
  AnalyzeStackRequest,
  type AnalyzeDiagnostic,
} from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { REPO_ROOT } from "../../infra/repo-root";

export interface Diagnostic {
  policy: string;
  enforcementLevel: "advisory" | "mandatory" | "disabled" | "remediate";
  message: string;
  urn: string;
}

const LEVELS = ["advisory", "mandatory", "disabled", "remediate"] as const;

export interface Resource {
  type: string;
  name: string;
  props: Record<string, unknown>;
  parent?: string;
}

export class PackUnderAnalyzer {
  private constructor(
    private readonly child: ChildProcess,
    private readonly client: AnalyzerClient,
  ) {}

  /** Starts the pack as the CLI's analyzer plugin does; resolves once it serves. */
  static async start(packDir = path.join(REPO_ROOT, "policy")): Promise<PackUnderAnalyzer> {
    const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [packDir] });
    const child = spawn(process.execPath, [runner, "127.0.0.1:0", "."], { cwd: packDir, stdio: ["ignore", "pipe", "pipe"] });
    const port = await new Promise<string>((resolve, reject) => {
      let out = "";
      let err = "";
      child.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /^(\d+)\s*$/m.exec(out);
        if (m) resolve(m[1]);
      });
      child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
      child.on("exit", (code) => reject(new Error(`the pack exited with ${code} before serving: ${err}`)));
    });
    return new PackUnderAnalyzer(child, new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure()));
  }

  stop(): void {
    this.client.close();
    this.child.kill();
  }

  info(): Promise<{ name: string; version: string; policies: { name: string; enforcementLevel: string; configKeys: string[] }[] }> {
    return new Promise((resolve, reject) =>
      this.client.getAnalyzerInfo(new Empty(), (err, info) => {
        if (err) return reject(err);
        resolve({
          name: info.getName(),
          version: info.getVersion(),
          policies: info.getPoliciesList().map((p) => ({
            name: p.getName(),
            enforcementLevel: LEVELS[p.getEnforcementlevel()],
            configKeys: Object.keys(p.getConfigschema()?.getProperties()?.toJavaScript() ?? {}).sort(),
          })),
        });
      }),
    );
  }

  private static urn(r: Resource): string {
    return `urn:pulumi:dev::iot-enterprise-auth::${r.type}::${r.name}`;
  }

  analyze(r: Resource): Promise<Diagnostic[]> {
    const req = new AnalyzeRequest();
    req.setType(r.type);
    req.setName(r.name);
    req.setUrn(PackUnderAnalyzer.urn(r));
    req.setProperties(Struct.fromJavaScript(r.props as never));
    req.setOptions(new AnalyzerResourceOptions());
    return new Promise((resolve, reject) =>
      this.client.analyze(req, (err, resp) => (err ? reject(err) : resolve(resp.getDiagnosticsList().map(diagnostic)))),
    );
  }

  analyzeStack(resources: Resource[]): Promise<Diagnostic[]> {
    const req = new AnalyzeStackRequest();
    req.setResourcesList(
      resources.map((r) => {
        const resource = new AnalyzerResource();
        resource.setType(r.type);
        resource.setName(r.name);
        resource.setUrn(PackUnderAnalyzer.urn(r));
        resource.setProperties(Struct.fromJavaScript(r.props as never));
        resource.setOptions(new AnalyzerResourceOptions());
        return resource;
      }),
    );
    return new Promise((resolve, reject) =>
      this.client.analyzeStack(req, (err, resp) => (err ? reject(err) : resolve(resp.getDiagnosticsList().map(diagnostic)))),
    );
  }
}

function diagnostic(d: AnalyzeDiagnostic): Diagnostic {
  return { policy: d.getPolicyname(), enforcementLevel: LEVELS[d.getEnforcementlevel()], message: d.getMessage(), urn: d.getUrn() };
}
