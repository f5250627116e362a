/**
 * The enterprise IdP stand-in's own pages, as a person sees them on a phone or laptop: the code form, the
 * device confirmation, the sign-in form, the consent screen, the success page and the error page. Separate
 * from the server (enterprise-idp.ts) and the interactions (enterprise-idp-interactions.ts), as the device
 * grant keeps its views in `functions/device-grant/pages.ts`, whose escaping they share. No script, one inline
 * stylesheet allowed by its hash; every interpolated value escaped; oidc-provider's own form fragments (its CSRF token and code
 * field) are kept whole, with the buttons put inside them so that a browser without `form=` support works.
 */
import { createHash } from "node:crypto";
import { escapeHtml } from "../functions/device-grant/pages";

/** What every page of the IdP says it is, so that nobody mistakes it for the device grant's pages. */
export const IDP_TITLE = "Enterprise IdP (OpenAM stand-in)";

const STYLE = [
  ":root{color-scheme:light dark;font-family:system-ui,sans-serif;line-height:1.5}",
  "body{margin:0;padding:1rem;display:flex;justify-content:center}main{width:100%;max-width:28rem}",
  "h1{font-size:1.5rem;margin:.5rem 0 1rem}label{display:block;font-weight:600;margin-top:.5rem}",
  "input{box-sizing:border-box;width:100%;font-size:1.25rem;padding:.5rem}",
  "button{font-size:1.1rem;padding:.75rem 1.25rem;margin:.75rem .5rem 0 0;min-width:8rem;border-radius:.4rem;border:1px solid currentColor}",
  "button.primary{background:#7a3cff;color:#fff;border-color:#7a3cff}",
  ".code{font-family:ui-monospace,monospace;font-size:1.75rem;letter-spacing:.1em}.error{border-left:.3rem solid #c00;padding:.25rem .75rem}",
].join("");
const STYLE_HASH = `'sha256-${createHash("sha256").update(STYLE, "utf8").digest("base64")}'`;

/**
 * Headers of every page: no caching, no framing, the stylesheet only by its hash, forms only to this origin (the
 * redirects that follow them stay on it too).
 */
export const PAGE_HEADERS: Record<string, string> = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": `default-src 'none'; style-src ${STYLE_HASH}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
  "x-frame-options": "DENY",
};

function page(heading: string, body: string): string {
  return [
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(heading)} · ${escapeHtml(IDP_TITLE)}</title><style>${STYLE}</style></head>`,
    `<body><main><p>${escapeHtml(IDP_TITLE)}</p><h1>${escapeHtml(heading)}</h1>${body}</main></body></html>`,
  ].join("");
}

/** Puts `html` just before the end of an oidc-provider form fragment. */
function insideForm(form: string, html: string): string {
  const end = form.lastIndexOf("</form>");
  return end === -1 ? `${form}${html}` : `${form.slice(0, end)}${html}${form.slice(end)}`;
}

/** Step 1: the code the device shows (oidc-provider's form, with its CSRF token). */
export function userCodeInputPage(form: string, problem: "wrong-code" | "aborted" | "other" | undefined): string {
  const said = {
    "wrong-code": "That code is not valid (it may have expired). Check the code on your device and try again.",
    aborted: "The sign-in was cancelled.",
    other: "Something went wrong. Start again with the code on your device.",
  };
  const message = problem ? `<p class="error">${escapeHtml(said[problem])}</p>` : "<p>Enter the code displayed on your device.</p>";
  return page("Connect a device", `${message}${insideForm(form, '<button class="primary" type="submit">Continue</button>')}`);
}

/** Step 2: is this the device you mean? Continue signs in; Deny ends the device's request. */
export function userCodeConfirmPage(form: string, clientName: string, userCode: string): string {
  return page(
    "Confirm the device",
    `<p><strong>${escapeHtml(clientName)}</strong> asks to sign in as you. Your device should show this code:</p>` +
      `<p class="code">${escapeHtml(userCode)}</p>` +
      "<p>If you did not start this, or the code differs, press Deny.</p>" +
      insideForm(
        form,
        '<button class="primary" type="submit">Continue</button><button type="submit" name="abort" value="yes">Deny</button>',
      ),
  );
}

/** The end of a successful approval. */
export function successPage(clientName: string): string {
  return page("Device connected", `<p>${escapeHtml(clientName)} is signed in. You can close this page.</p>`);
}

/** The sign-in form of an interaction, with a Cancel that ends it. */
export function loginPage(options: {
  action: string;
  abortAction: string;
  clientName: string;
  username?: string;
  failed?: boolean;
}): string {
  const error = options.failed ? '<p class="error">Incorrect username or password.</p>' : "";
  return page(
    "Sign in",
    `<p>Sign in to connect <strong>${escapeHtml(options.clientName)}</strong>.</p>${error}` +
      `<form method="post" action="${escapeHtml(options.action)}">` +
      '<label for="username">Username</label>' +
      `<input id="username" type="text" name="username" autocomplete="username" value="${escapeHtml(options.username ?? "")}">` +
      '<label for="password">Password</label><input id="password" type="password" name="password" autocomplete="current-password">' +
      '<button class="primary" type="submit">Sign in</button></form>' +
      `<form method="post" action="${escapeHtml(options.abortAction)}"><button type="submit">Cancel</button></form>`,
  );
}

/** The consent screen: what the device gets (its scopes), Allow or Deny. */
export function consentPage(options: {
  action: string;
  abortAction: string;
  clientName: string;
  username: string;
  scopes: string[];
}): string {
  const scopes = options.scopes.length > 0 ? options.scopes.map((s) => `<li>${escapeHtml(s)}</li>`).join("") : "<li>(none)</li>";
  return page(
    "Allow access",
    `<p>Signed in as <strong>${escapeHtml(options.username)}</strong>. <strong>${escapeHtml(options.clientName)}</strong> asks for:</p>` +
      `<ul>${scopes}</ul>` +
      `<form method="post" action="${escapeHtml(options.action)}"><button class="primary" type="submit" name="decision" value="allow">Allow</button></form>` +
      `<form method="post" action="${escapeHtml(options.abortAction)}"><button type="submit" name="decision" value="deny">Deny</button></form>`,
  );
}

/** oidc-provider's error page (its `renderError`): the OAuth error and its description, escaped. */
export function errorPage(out: { error?: unknown; error_description?: unknown }): string {
  const error = typeof out.error === "string" ? out.error : "server_error";
  const description = typeof out.error_description === "string" ? out.error_description : "";
  return page("Something went wrong", `<p class="error">${escapeHtml(error)}${description ? `: ${escapeHtml(description)}` : ""}</p>`);
}
