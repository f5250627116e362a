/**
 * The enterprise IdP stand-in's interactions: after a person confirms a device's code, oidc-provider sends them
 * here to sign in and then to consent, as OpenAM sends them to its login page and its consent screen. Served at
 * `<issuer>/interaction/<uid>` (GET: the page the interaction needs), `…/login`, `…/confirm` and `…/abort`
 * (POST: the form answers). Each answer ends with oidc-provider's `interactionFinished`, which redirects the
 * browser back into the device flow.
 *
 * Checks, besides oidc-provider's own (the interaction cookie, bound to this browser and this uid): a POST
 * must come from this IdP's origin when the browser says where it comes from; a password is compared in
 * constant time, with the same work whether or not the user exists; five failed sign-ins end the interaction
 * with `access_denied`. Bad requests get a page with the error, never a trace.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { type IncomingMessage, type ServerResponse } from "node:http";
import { consentPage, errorPage, loginPage, PAGE_HEADERS } from "./enterprise-idp-pages";
import { type IdpAccount } from "./enterprise-idp-provider";
import { inMainRealm, type InteractionDetails, type OidcProvider } from "./oidc-provider-module";

/** Failed sign-ins one interaction allows before it ends in `access_denied`. */
export const MAX_FAILED_SIGN_INS = 5;
const MAX_FORM_BYTES = 8 * 1024;
/** Interactions whose failed sign-ins are counted at once. */
const MAX_TRACKED = 10_000;

/** The IdP's users, shared by all its issuers (one realm). */
export class IdpAccounts {
  private readonly byUsername = new Map<string, IdpAccount>();
  private readonly bySub = new Map<string, IdpAccount>();

  add(account: IdpAccount): void {
    if (this.byUsername.has(account.username) || this.bySub.has(account.sub))
      throw new Error(`the IdP already has a user ${account.username}`);
    this.byUsername.set(account.username, account);
    this.bySub.set(account.sub, account);
  }

  findBySub(sub: string): IdpAccount | undefined {
    return this.bySub.get(sub);
  }

  /** The account when the password is right; the same hashing and comparison whether or not the user exists. */
  verify(username: string, password: string): IdpAccount | undefined {
    const account = this.byUsername.get(username);
    const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();
    const matches = timingSafeEqual(digest(password), digest(account?.password ?? `\u0000no such user ${username}`));
    return account !== undefined && matches ? account : undefined;
  }
}

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, PAGE_HEADERS).end(html);
}

/** The urlencoded form of a POST, or undefined when it is not one or is too large. */
async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  if (!(req.headers["content-type"] ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded")) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

/** The scopes a consent gives: the OpenID ones and those of the token's resource. */
function requestedScopes(details: InteractionDetails): string[] {
  const oidc = (details.prompt.details.missingOIDCScope as string[] | undefined) ?? [];
  const resource = Object.values((details.prompt.details.missingResourceScopes as Record<string, string[]> | undefined) ?? {}).flat();
  return [...new Set([...oidc, ...resource])];
}

export class InteractionRoutes {
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly provider: OidcProvider,
    /** The issuer's path, e.g. `/openam/oauth2`. */
    private readonly base: string,
    private readonly origin: string,
    private readonly accounts: IdpAccounts,
  ) {}

  /** Serves `rest` (the path below the issuer, `/interaction/<uid>[/<action>]`); false when it is not an interaction's. */
  async handle(req: IncomingMessage, res: ServerResponse, rest: string): Promise<boolean> {
    const match = /^\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|confirm|abort))?$/.exec(rest);
    if (!match) return false;
    const [, uid, action] = match;
    if ((action === undefined) !== (req.method === "GET") || (req.method !== "GET" && req.method !== "POST")) {
      send(res, 405, errorPage({ error: "invalid_request", error_description: "method not allowed" }));
      return true;
    }
    const origin = req.headers.origin;
    if (action !== undefined && origin !== undefined && origin !== this.origin) {
      send(res, 403, errorPage({ error: "invalid_request", error_description: "the form was not sent from this sign-in page" }));
      return true;
    }
    let details: InteractionDetails;
    try {
      details = await this.provider.interactionDetails(req, res);
    } catch {
      send(
        res,
        400,
        errorPage({ error: "invalid_request", error_description: "this sign-in has expired: start again with the code on your device" }),
      );
      return true;
    }
    if (details.uid !== uid) {
      send(res, 400, errorPage({ error: "invalid_request", error_description: "this sign-in belongs to another request" }));
      return true;
    }
    if (action === undefined) this.show(res, details);
    else if (action === "abort") await this.finish(req, res, { error: "access_denied", error_description: "End-User aborted interaction" });
    else if (action === "login") await this.login(req, res, details);
    else await this.consent(req, res, details);
    return true;
  }

  private paths(uid: string) {
    const at = `${this.base}/interaction/${uid}`;
    return { login: `${at}/login`, confirm: `${at}/confirm`, abort: `${at}/abort` };
  }

  private show(res: ServerResponse, details: InteractionDetails, failed = false, username?: string): void {
    const paths = this.paths(details.uid);
    const clientName = String(details.params.client_id ?? "the device");
    if (details.prompt.name === "login") {
      send(
        res,
        200,
        loginPage({ action: paths.login, abortAction: paths.abort, clientName, failed, ...(username !== undefined && { username }) }),
      );
      return;
    }
    const user = this.accounts.findBySub(details.session?.accountId ?? "");
    send(
      res,
      200,
      consentPage({
        action: paths.confirm,
        abortAction: paths.abort,
        clientName,
        username: user?.username ?? "",
        scopes: requestedScopes(details),
      }),
    );
  }

  private async finish(req: IncomingMessage, res: ServerResponse, result: Record<string, unknown>): Promise<void> {
    const options = { mergeWithLastSubmission: !("error" in result) };
    await this.provider.interactionFinished(req, res, inMainRealm(result), inMainRealm(options));
  }

  private async login(req: IncomingMessage, res: ServerResponse, details: InteractionDetails): Promise<void> {
    const form = await readForm(req);
    if (details.prompt.name !== "login" || form === undefined) {
      send(res, 400, errorPage({ error: "invalid_request", error_description: "expected the sign-in form" }));
      return;
    }
    const username = form.get("username") ?? "";
    const account = this.accounts.verify(username, form.get("password") ?? "");
    if (account !== undefined) {
      this.failures.delete(details.uid);
      await this.finish(req, res, { login: { accountId: account.sub } });
      return;
    }
    const failures = (this.failures.get(details.uid) ?? 0) + 1;
    // Bounded: past MAX_TRACKED interactions, the oldest count goes (an interaction lives an hour at most).
    if (!this.failures.has(details.uid) && this.failures.size >= MAX_TRACKED)
      this.failures.delete(this.failures.keys().next().value as string);
    this.failures.set(details.uid, failures);
    if (failures >= MAX_FAILED_SIGN_INS) {
      this.failures.delete(details.uid);
      await this.finish(req, res, { error: "access_denied", error_description: "too many failed sign-ins" });
      return;
    }
    this.show(res, details, true, username.slice(0, 128));
  }

  /** Allow: a grant of the scopes the request asked for (the OpenID ones and the resource's), as oidc-provider's example does. */
  private async consent(req: IncomingMessage, res: ServerResponse, details: InteractionDetails): Promise<void> {
    const form = await readForm(req);
    const accountId = details.session?.accountId;
    if (details.prompt.name !== "consent" || form === undefined || accountId === undefined) {
      send(res, 400, errorPage({ error: "invalid_request", error_description: "expected the consent form" }));
      return;
    }
    const { Grant } = this.provider;
    const existing = details.grantId !== undefined ? await Grant.find(details.grantId) : undefined;
    const grant = existing ?? new Grant(inMainRealm({ accountId, clientId: String(details.params.client_id) }));
    const prompt = details.prompt.details;
    const oidcScopes = prompt.missingOIDCScope as string[] | undefined;
    if (oidcScopes) grant.addOIDCScope(oidcScopes.join(" "));
    const claims = prompt.missingOIDCClaims as string[] | undefined;
    if (claims) grant.addOIDCClaims(inMainRealm(claims));
    const resourceScopes = prompt.missingResourceScopes as Record<string, string[]> | undefined;
    for (const [resource, scopes] of Object.entries(resourceScopes ?? {})) grant.addResourceScope(resource, scopes.join(" "));
    const grantId = await grant.save();
    await this.finish(req, res, existing ? { consent: {} } : { consent: { grantId } });
  }
}
