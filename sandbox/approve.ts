/**
 * `npm run sandbox -- approve <user code>`: approves a device's login as the sandbox's test user, without a
 * browser, the way `npm run demo` does it: the scripted user (scripted-user.ts) opens the verification page
 * with the code, confirms it, presses Approve, signs in at the sandbox's cognito-local and follows the
 * redirect back to the callback. It reads what it needs (the device grant's URL, the test user's name and this
 * start's password) from the running sandbox's `sandbox.json`, which only its owner can read.
 *
 * With `--idp enterprise` it approves at the enterprise IdP stand-in instead (enterprise-approve.ts: its code
 * page, device confirmation, sign-in and consent), as the IdP's test user, whose password the same file holds.
 *
 * Everything goes through the service's real pages and their CSRF and state checks; nothing is approved that a
 * person at a browser could not approve.
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import path from "node:path";
import { approve, parseForms, ScriptedUser, visibleText } from "./scripted-user";
import { approveAtEnterpriseIdp } from "./enterprise-approve";

/** What approving needs from a sandbox: its device grant URL and its test user. */
export interface ApproveTarget {
  deviceGrantUrl: string;
  username: string;
  password: string;
  /** Set when the code is the enterprise IdP's (`--idp`): where its people enter codes; the user is its test user. */
  verificationUri?: string;
}

export const APPROVE_USAGE = `Usage: npm run sandbox -- approve <user code> [--idp enterprise] [--sandbox <sandbox.json>]

Approves the code a device shows (for example BCDF-GHJK) as the sandbox's test user: opens the
verification page, confirms the code, presses Approve and signs in at the sandbox's user directory.
With --idp enterprise, approves a code of the enterprise IdP (the stack's OpenAM issuer, stood in
for) as its test user: its code page, Continue, sign-in and Allow.
--sandbox names the running sandbox's file (default .sandbox/sandbox.json; with --data-dir, the
sandbox.json in that directory).
`;

/** The page's words, shortened, for an error message. */
function said(body: string): string {
  const text = visibleText(body);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** Approves `userCode` as the test user; resolves once the service has recorded the approval. */
export async function approveUserCode(target: ApproveTarget, userCode: string): Promise<void> {
  const user = new ScriptedUser();
  const page = await user.get(`${target.deviceGrantUrl}/device?user_code=${encodeURIComponent(userCode)}`);
  if (page.status !== 200) throw new Error(`the verification page answered HTTP ${page.status}: ${said(page.body)}`);
  const confirmation = await user.submit(page);
  const approvable = parseForms(confirmation.body, confirmation.url).some((f) =>
    f.submitters.some((b) => b.value.toLowerCase() === "approve"),
  );
  if (!approvable) throw new Error(`the sandbox did not offer to approve ${userCode}: ${said(confirmation.body)}`);
  const idpUrl = await approve(user, confirmation);
  const callbackUrl = await user.signInAtCognito(idpUrl, target.username, target.password);
  const done = await user.get(callbackUrl);
  if (done.status !== 200) throw new Error(`the callback answered HTTP ${done.status}: ${said(done.body)}`);
}

/** Reads the target out of a sandbox file, or throws saying what is missing. */
export async function approveTargetFrom(file: string, idp?: string): Promise<ApproveTarget> {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      code === "ENOENT"
        ? `no sandbox file at ${file}: is the sandbox running (npm start)?`
        : `cannot read ${file}: ${(err as Error).message}`,
    );
  }
  const { deviceGrantUrl, username, password } = json;
  if (typeof deviceGrantUrl !== "string" || typeof username !== "string" || typeof password !== "string") {
    throw new Error(`${file} has no deviceGrantUrl, username and password: was it written by this version of npm start?`);
  }
  if (idp === undefined || idp === "cognito") return { deviceGrantUrl, username, password };
  const entry = (json.idps as Record<string, Record<string, unknown>> | undefined)?.[idp];
  if (typeof entry?.verificationUri !== "string" || typeof entry.username !== "string" || typeof entry.password !== "string") {
    throw new Error(
      `${file} lists no identity provider ${JSON.stringify(idp)} (it has ${Object.keys(json.idps ?? {}).join(", ") || "none"})`,
    );
  }
  return { deviceGrantUrl, username: entry.username, password: entry.password, verificationUri: entry.verificationUri };
}

/** The `approve` command line; resolves with the exit code. */
export async function approveMain(args: string[], defaultFile: string, io = { out: process.stdout, err: process.stderr }): Promise<number> {
  const options = { sandbox: { type: "string" }, idp: { type: "string" }, help: { type: "boolean", short: "h" } } as const;
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true });
  } catch (err) {
    io.err.write(`error: ${(err as Error).message}\n${APPROVE_USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    io.out.write(APPROVE_USAGE);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    io.err.write(`error: give exactly one user code\n${APPROVE_USAGE}`);
    return 2;
  }
  const [userCode] = parsed.positionals;
  const file = path.resolve(parsed.values.sandbox ?? defaultFile);
  try {
    const target = await approveTargetFrom(file, parsed.values.idp);
    if (target.verificationUri !== undefined)
      await approveAtEnterpriseIdp({ ...target, verificationUri: target.verificationUri }, userCode);
    else await approveUserCode(target, userCode);
    io.out.write(`Approved ${userCode} as ${target.username}: the device's next poll gets its tokens.\n`);
    return 0;
  } catch (err) {
    io.err.write(`error: ${(err as Error).message}\n`);
    return 1;
  }
}
