/**
 * A scripted user: a browser reduced to what the device grant's pages and an IdP's login form need. Plain
 * HTTP with `fetch` and `redirect: "manual"`, so every hop is visible and recorded; a cookie jar; a small
 * HTML form reader. No JavaScript, no CSS, no sub-resources: the pages must work without them.
 *
 * Browser behaviour it keeps, because the service's security depends on it:
 * - Cookies go back only to their host (or domain) and path, never after expiry, and `Secure` ones only to
 *   https or loopback (browsers treat http://localhost and 127.0.0.1 as secure contexts). `__Host-` and
 *   `__Secure-` cookies breaking their prefix rules are dropped, as a browser drops them.
 * - `SameSite=Lax` (the default) and `Strict` cookies are not sent on a cross-site POST, and `Strict` ones
 *   not on a navigation a cross-site page started. A site is scheme and host, ports ignored, as in a
 *   browser: every server on http://127.0.0.1 is the same site, so an IdP there redirecting back to the
 *   service's callback is a same-site navigation in these tests (on AWS it is cross-site, which is why
 *   the service must not need a `Strict` cookie on its callback).
 * - A POST carries `Origin` (the page's origin) and `Sec-Fetch-Site`; 301/302/303 after a POST become a GET.
 *
 * One file because it is one concept, a browser: its cookie jar, its form reader and its navigation only make
 * sense together, and no function in it is long.
 */

/** One request and its answer. */
export interface Hop {
  method: string;
  url: string;
  status: number;
  /** Absolute `Location`, on a redirect. */
  location?: string;
}

export interface Page {
  /** Where the last hop went (after any redirects followed). */
  url: string;
  status: number;
  headers: Headers;
  body: string;
  /** Every hop of this navigation, in order. */
  chain: Hop[];
}

export interface HtmlForm {
  /** Absolute URL the form submits to (the page's URL when `action` is missing). */
  action: string;
  /** Upper case: `GET` or `POST`. */
  method: string;
  /** Successful controls in document order: inputs (checked boxes only), textareas, selects. */
  fields: [string, string][];
  /** Named submit buttons (`<button name value>`, `<input type=submit name value>`): the one clicked is sent. */
  submitters: { name: string; value: string; label: string }[];
}

export interface NavigationOptions {
  /**
   * Called with each redirect target before it is requested: `false` stops there (the page returned is the
   * redirect itself; its `Location` is `chain.at(-1).location`). All redirects are followed by default.
   */
  follow?: (url: URL) => boolean;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

const MAX_REDIRECTS = 20;
const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;

interface StoredCookie {
  name: string;
  value: string;
  /** Host the cookie came from (host-only) or the `Domain` attribute (without a leading dot). */
  domain: string;
  hostOnly: boolean;
  path: string;
  secure: boolean;
  sameSite: "strict" | "lax" | "none";
  /** Epoch ms; undefined for a session cookie. */
  expiresAt?: number;
}

/** A cookie jar (RFC 6265 subset). */
export class CookieJar {
  private cookies: StoredCookie[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** Stores the cookies of one response. */
  store(url: URL, setCookieHeaders: string[]): void {
    for (const header of setCookieHeaders) {
      const cookie = parseSetCookie(header, url, this.now());
      if (!cookie) continue;
      this.cookies = this.cookies.filter((c) => !(c.name === cookie.name && c.domain === cookie.domain && c.path === cookie.path));
      if (cookie.expiresAt === undefined || cookie.expiresAt > this.now()) this.cookies.push(cookie);
    }
  }

  /** The `Cookie` header for a request, or undefined when there is none to send. */
  header(url: URL, context: { crossSite: boolean; method: string; topLevel: boolean }): string | undefined {
    const host = url.hostname.toLowerCase();
    const now = this.now();
    this.cookies = this.cookies.filter((c) => c.expiresAt === undefined || c.expiresAt > now);
    const matching = this.cookies.filter((c) => {
      if (c.hostOnly ? host !== c.domain : !(host === c.domain || host.endsWith(`.${c.domain}`))) return false;
      if (!pathMatches(url.pathname, c.path)) return false;
      if (c.secure && !isSecureContext(url)) return false;
      if (context.crossSite) {
        if (c.sameSite === "strict") return false;
        if (c.sameSite === "lax" && !(context.topLevel && (context.method === "GET" || context.method === "HEAD"))) return false;
      }
      return true;
    });
    matching.sort((a, b) => b.path.length - a.path.length);
    return matching.length > 0 ? matching.map((c) => `${c.name}=${c.value}`).join("; ") : undefined;
  }

  /** The value of a cookie for a URL (for assertions). */
  get(url: string, name: string): string | undefined {
    const u = new URL(url);
    return this.cookies.find((c) => c.name === name && (c.hostOnly ? c.domain === u.hostname : u.hostname.endsWith(c.domain)))?.value;
  }

  /** Names of all stored cookies (for assertions). */
  names(): string[] {
    return this.cookies.map((c) => c.name);
  }

  clear(): void {
    this.cookies = [];
  }
}

function isSecureContext(url: URL): boolean {
  return url.protocol === "https:" || LOOPBACK.test(url.hostname);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith("/") || requestPath[cookiePath.length] === "/";
}

function defaultPath(url: URL): string {
  const p = url.pathname;
  if (!p.startsWith("/") || p.lastIndexOf("/") === 0) return "/";
  return p.slice(0, p.lastIndexOf("/"));
}

function parseSetCookie(header: string, url: URL, now: number): StoredCookie | undefined {
  const [pair, ...attributes] = header.split(";");
  const eq = pair.indexOf("=");
  if (eq <= 0) return undefined;
  const name = pair.slice(0, eq).trim();
  const value = pair.slice(eq + 1).trim();
  const host = url.hostname.toLowerCase();
  const cookie: StoredCookie = { name, value, domain: host, hostOnly: true, path: defaultPath(url), secure: false, sameSite: "lax" };
  let maxAge: number | undefined;
  let expires: number | undefined;
  for (const attribute of attributes) {
    const i = attribute.indexOf("=");
    const key = (i < 0 ? attribute : attribute.slice(0, i)).trim().toLowerCase();
    const val = i < 0 ? "" : attribute.slice(i + 1).trim();
    if (key === "domain" && val !== "") {
      const domain = val.replace(/^\./, "").toLowerCase();
      if (!(host === domain || host.endsWith(`.${domain}`))) return undefined; // a browser refuses a foreign Domain
      cookie.domain = domain;
      cookie.hostOnly = false;
    } else if (key === "path" && val.startsWith("/")) cookie.path = val;
    else if (key === "secure") cookie.secure = true;
    else if (key === "max-age" && /^-?\d+$/.test(val)) maxAge = Number(val);
    else if (key === "expires") {
      const t = Date.parse(val);
      if (!Number.isNaN(t)) expires = t;
    } else if (key === "samesite") {
      const s = val.toLowerCase();
      cookie.sameSite = s === "strict" ? "strict" : s === "none" ? "none" : "lax";
    }
  }
  if (maxAge !== undefined) cookie.expiresAt = maxAge <= 0 ? 0 : now + maxAge * 1000;
  else if (expires !== undefined) cookie.expiresAt = expires;
  if (cookie.secure && !isSecureContext(url)) return undefined;
  if (cookie.sameSite === "none" && !cookie.secure) return undefined;
  if (name.startsWith("__Secure-") && !cookie.secure) return undefined;
  if (name.startsWith("__Host-") && (!cookie.secure || !cookie.hostOnly || cookie.path !== "/")) return undefined;
  return cookie;
}

/** Registrable "site" for SameSite: the scheme and host (ports do not count; no public-suffix list needed on loopback). */
function siteOf(url: URL): string {
  return `${url.protocol}//${url.hostname}`;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

/** Decodes the HTML character references that escaped attribute values and text use. */
export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] === "#") {
      const code = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[ref.toLowerCase()] ?? whole;
  });
}

function attributesOf(tag: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  const inner = tag.replace(/^<\s*[a-z0-9]+/i, "").replace(/\/?>$/, "");
  for (const m of inner.matchAll(/([^\s"'=<>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g)) {
    const name = m[1].toLowerCase();
    if (name in attributes) continue; // the first occurrence wins, as in HTML
    attributes[name] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? "");
  }
  return attributes;
}

function textOf(html: string): string {
  return decodeEntities(html.replace(/<[^>]*>/g, " "))
    .replace(/\s+/g, " ")
    .trim();
}

/** Reads the forms of a page: enough HTML for server-rendered forms, hidden CSRF fields included. */
export function parseForms(html: string, pageUrl: string): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const formMatch of html.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form\s*>/gi)) {
    const formTag = formMatch[0].slice(0, formMatch[0].indexOf(">") + 1);
    const formAttributes = attributesOf(formTag);
    const body = formMatch[1];
    const fields: [string, string][] = [];
    const submitters: HtmlForm["submitters"] = [];
    const controls = /<(input|button|textarea|select)\b[^>]*>(?:([\s\S]*?)<\/\1\s*>)?/gi;
    for (const m of body.matchAll(controls)) {
      const kind = m[1].toLowerCase();
      const openTag = m[0].slice(0, m[0].indexOf(">") + 1);
      const a = attributesOf(openTag);
      if ("disabled" in a) continue;
      const name = a.name;
      if (kind === "input") {
        const type = (a.type ?? "text").toLowerCase();
        if (type === "submit" || type === "image") {
          if (name) submitters.push({ name, value: a.value ?? "", label: a.value ?? "" });
          continue;
        }
        if (!name || type === "button" || type === "reset" || type === "file") continue;
        if ((type === "checkbox" || type === "radio") && !("checked" in a)) continue;
        fields.push([name, a.value ?? (type === "checkbox" || type === "radio" ? "on" : "")]);
        // A void <input> never has content: give back what the regex may have swallowed.
        if (m[2] !== undefined) controls.lastIndex = (m.index ?? 0) + openTag.length;
      } else if (kind === "button") {
        const type = (a.type ?? "submit").toLowerCase();
        if (type === "submit" && name) submitters.push({ name, value: a.value ?? "", label: textOf(m[2] ?? "") });
      } else if (kind === "textarea") {
        if (name) fields.push([name, decodeEntities((m[2] ?? "").replace(/^\r?\n/, ""))]);
      } else if (kind === "select" && name) {
        const options = [...(m[2] ?? "").matchAll(/<option\b[^>]*>([^<]*)/gi)].map((o) => {
          const oa = attributesOf(o[0].slice(0, o[0].indexOf(">") + 1));
          return { value: oa.value ?? textOf(o[1]), selected: "selected" in oa };
        });
        const chosen = options.find((o) => o.selected) ?? options[0];
        if (chosen) fields.push([name, chosen.value]);
      }
    }
    forms.push({
      action: new URL(formAttributes.action || pageUrl, pageUrl).toString(),
      method: (formAttributes.method ?? "GET").toUpperCase(),
      fields,
      submitters,
    });
  }
  return forms;
}

/** The page's visible text, tags removed (for assertions about what a user reads). */
export function visibleText(html: string): string {
  return textOf(html.replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, " ").replace(/<head\b[\s\S]*?<\/head\s*>/i, " "));
}

export class ScriptedUser {
  readonly cookies: CookieJar;
  /** Every hop since this user was created. */
  readonly history: Hop[] = [];
  /** The URL of the last page shown (a non-redirect answer): the origin of the next form POST. */
  currentUrl: string | undefined;
  userAgent = "Mozilla/5.0 (Linux; Android 14) ScriptedUser/1.0 Mobile";

  constructor(options: { now?: () => number } = {}) {
    this.cookies = new CookieJar(options.now);
  }

  /** Loads a page, following redirects (see `NavigationOptions.follow`). */
  get(url: string, options: NavigationOptions = {}): Promise<Page> {
    return this.navigate("GET", url, undefined, options);
  }

  /** Submits form fields (`application/x-www-form-urlencoded`) as a POST from the current page. */
  postForm(url: string, fields: Record<string, string> | [string, string][], options: NavigationOptions = {}): Promise<Page> {
    const body = new URLSearchParams(Array.isArray(fields) ? fields : Object.entries(fields));
    return this.navigate("POST", url, body, options);
  }

  /**
   * Fills and submits a form of `page`, like a user clicking a button: the form's own fields (hidden ones
   * included), `values` overriding or adding fields, and the named submit button `submitter` (matched by
   * value or label, e.g. "approve") when given. `formIndex` picks the form when the page has several;
   * by default, the first form with that submitter, or the first form.
   */
  async submit(
    page: Page,
    values: Record<string, string> = {},
    options: NavigationOptions & { submitter?: string; formIndex?: number } = {},
  ): Promise<Page> {
    const forms = parseForms(page.body, page.url);
    const wanted = options.submitter?.toLowerCase();
    const matchesSubmitter = (f: HtmlForm) =>
      f.submitters.find((s) => s.value.toLowerCase() === wanted || s.label.toLowerCase() === wanted);
    const form =
      options.formIndex !== undefined ? forms[options.formIndex] : wanted !== undefined ? forms.find((f) => matchesSubmitter(f)) : forms[0];
    if (!form) throw new Error(`no form${wanted ? ` with a "${options.submitter}" button` : ""} on ${page.url} (${forms.length} form(s))`);
    const fields = form.fields.filter(([name]) => !(name in values));
    fields.push(...Object.entries(values));
    if (wanted !== undefined) {
      const button = matchesSubmitter(form);
      if (!button) throw new Error(`the form on ${page.url} has no "${options.submitter}" button`);
      fields.push([button.name, button.value]);
    }
    if (form.method === "POST") return this.postForm(form.action, fields, options);
    const target = new URL(form.action);
    target.search = new URLSearchParams(fields).toString();
    return this.get(target.toString(), options);
  }

  /**
   * Signs in at cognito-local's hosted login form: loads `authorizeUrl` (the form), submits the credentials
   * and returns the URL cognito-local redirects to (the app's callback with `code` and `state`), without
   * requesting it: the caller decides whether to follow it (`user.get(url)`). Throws with cognito-local's
   * message when it refuses the request or the credentials.
   */
  async signInAtCognito(authorizeUrl: string, username: string, password: string): Promise<string> {
    const cognitoOrigin = new URL(authorizeUrl).origin;
    const sameIdp = (u: URL) => u.origin === cognitoOrigin;
    const loginPage = await this.get(authorizeUrl, { follow: sameIdp });
    const redirectedAway = loginPage.chain.at(-1)?.location;
    if (redirectedAway) return redirectedAway; // e.g. an error redirect straight back to the app
    if (loginPage.status !== 200)
      throw new Error(`cognito-local refused the authorization request: HTTP ${loginPage.status} ${loginPage.body.slice(0, 300)}`);
    const formIndex = parseForms(loginPage.body, loginPage.url).findIndex((f) => f.fields.some(([n]) => n === "username"));
    if (formIndex < 0) throw new Error(`no login form at ${loginPage.url}`);
    const answer = await this.submit(loginPage, { username, password }, { formIndex, follow: sameIdp });
    const location = answer.chain.at(-1)?.location;
    if (location) return location;
    const message = /<p[^>]*color:\s*red[^>]*>([\s\S]*?)<\/p>/i.exec(answer.body)?.[1];
    throw new Error(
      `cognito-local did not sign in ${username}: HTTP ${answer.status} ${message ? textOf(message) : answer.body.slice(0, 300)}`,
    );
  }

  private async navigate(method: string, url: string, body: URLSearchParams | undefined, options: NavigationOptions): Promise<Page> {
    const chain: Hop[] = [];
    let target = new URL(url);
    let initiator = this.currentUrl ? new URL(this.currentUrl) : undefined;
    for (let i = 0; ; i++) {
      if (i > MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects from ${url}`);
      const crossSite = initiator !== undefined && siteOf(initiator) !== siteOf(target);
      const headers: Record<string, string> = {
        accept: "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8",
        "user-agent": this.userAgent,
        "sec-fetch-mode": "navigate",
        "sec-fetch-site":
          initiator === undefined ? "none" : crossSite ? "cross-site" : initiator.origin === target.origin ? "same-origin" : "same-site",
        ...options.headers,
      };
      const cookie = this.cookies.header(target, { crossSite, method, topLevel: true });
      if (cookie) headers.cookie = cookie;
      if (method === "POST") {
        headers["content-type"] = "application/x-www-form-urlencoded";
        headers.origin = initiator ? initiator.origin : "null";
      }
      const response = await fetch(target, { method, headers, body: method === "POST" ? body : undefined, redirect: "manual" });
      this.cookies.store(target, response.headers.getSetCookie());
      const text = await response.text();
      const hop: Hop = { method, url: target.toString(), status: response.status };
      const locationHeader = response.headers.get("location");
      const isRedirect = [301, 302, 303, 307, 308].includes(response.status) && locationHeader !== null;
      if (isRedirect) hop.location = new URL(locationHeader, target).toString();
      chain.push(hop);
      this.history.push(hop);
      if (!isRedirect || !hop.location || (options.follow && !options.follow(new URL(hop.location)))) {
        if (!isRedirect) this.currentUrl = target.toString();
        return { url: target.toString(), status: response.status, headers: response.headers, body: text, chain };
      }
      // A redirect keeps the navigation's initiator for SameSite; 301/302/303 turn a POST into a GET (307/308 keep it).
      if (method === "POST" && response.status !== 307 && response.status !== 308) {
        method = "GET";
        body = undefined;
      }
      initiator = initiator ?? target;
      target = new URL(hop.location);
    }
  }
}

// The user's side of the device grant, for the demo and the tests.

/** Opens `verification_uri_complete` and submits the pre-filled form: the confirmation page. */
export async function openConfirmation<A extends { verification_uri_complete: string }>(
  user: ScriptedUser,
  authorization: A,
): Promise<Page> {
  const form = await user.get(authorization.verification_uri_complete);
  if (form.status !== 200) throw new Error(`GET /device answered ${form.status}`);
  return user.submit(form);
}

/** The user approves on the confirmation page; returns the IdP URL the service redirected to. */
export async function approve(user: ScriptedUser, confirmation: Page): Promise<string> {
  const answer = await user.submit(confirmation, {}, { submitter: "approve", follow: () => false });
  const location = answer.chain.at(-1)?.location;
  if (answer.status !== 303 || !location) throw new Error(`Approve answered ${answer.status}: ${answer.body.slice(0, 300)}`);
  return location;
}
