/**
 * A person approving a device's code at the enterprise IdP stand-in, scripted: opens the verification page with
 * the code, continues on the device confirmation, signs in with the test user's name and password, and allows
 * the consent, through the IdP's real pages, cookies and CSRF tokens (a `ScriptedUser` is a browser without
 * JavaScript). `npm run sandbox -- approve <code> --idp enterprise`, the demo and the tests use it; it is what
 * the OpenAM walkthrough's reader does in a browser.
 */
import { parseForms, type Page, ScriptedUser, visibleText } from "./scripted-user";

export interface EnterpriseApproveTarget {
  /** The IdP's `verification_uri` (`<issuer>/device`). */
  verificationUri: string;
  username: string;
  password: string;
}

/** The page's words, shortened, for an error message (never a code or a token: the pages show neither but the user code). */
function said(page: Page): string {
  const text = visibleText(page.body);
  return `HTTP ${page.status}: ${text.length > 300 ? `${text.slice(0, 300)}…` : text}`;
}

function heading(page: Page): string {
  return visibleText(/<h1>([\s\S]*?)<\/h1>/.exec(page.body)?.[1] ?? "");
}

function expectPage(page: Page, wanted: string, step: string): void {
  if (page.status !== 200 || heading(page) !== wanted) throw new Error(`${step}: expected the "${wanted}" page, got ${said(page)}`);
}

/**
 * Approves (or, with `decision: "deny"`, denies on the device confirmation) `userCode` as the given user;
 * resolves once the IdP has recorded the answer (the device's next poll gets tokens, or `access_denied`).
 */
export async function approveAtEnterpriseIdp(
  target: EnterpriseApproveTarget,
  userCode: string,
  options: { decision?: "approve" | "deny"; user?: ScriptedUser } = {},
): Promise<void> {
  const user = options.user ?? new ScriptedUser();
  // With the code in the link, oidc-provider answers a page that posts it back (with its CSRF token) at once: a
  // browser with JavaScript never sees it, one without shows its Continue button, which is what is pressed here.
  const link = await user.get(`${target.verificationUri}?user_code=${encodeURIComponent(userCode)}`);
  if (link.status !== 200 || parseForms(link.body, link.url).length === 0) throw new Error(`the verification link: ${said(link)}`);
  const confirmation = await user.submit(link);
  expectPage(confirmation, "Confirm the device", `entering ${userCode}`);
  if (options.decision === "deny") {
    const denied = await user.submit(confirmation, {}, { submitter: "deny" });
    if (denied.status >= 500) throw new Error(`Deny: ${said(denied)}`);
    return;
  }
  const login = await user.submit(confirmation);
  expectPage(login, "Sign in", "continuing on the device confirmation");
  const formIndex = parseForms(login.body, login.url).findIndex((f) => f.fields.some(([name]) => name === "username"));
  const consent = await user.submit(login, { username: target.username, password: target.password }, { formIndex });
  if (heading(consent) === "Sign in") throw new Error(`the IdP did not sign in ${target.username}: ${said(consent)}`);
  expectPage(consent, "Allow access", "signing in");
  const done = await user.submit(consent, {}, { submitter: "allow" });
  expectPage(done, "Device connected", "allowing access");
}
