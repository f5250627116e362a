/**
 * `npm run demo` in process: the whole story holds on a fresh sandbox, step by step; and the demo can
 * fail: with grants that let a user publish anywhere, the refusal step fails and the run is not ok.
 */
import { DEMO_SETTINGS, runDemo } from "../../sandbox/demo";

describe("npm run demo", () => {
  it("tells the whole story, every step holding", async () => {
    const lines: string[] = [];
    const result = await runDemo({ log: (line) => lines.push(line) });
    expect(result.steps.map((s) => [s.name, s.ok, s.ok ? "" : s.detail])).toEqual([
      ["The sandbox starts", true, ""],
      ["The device signs in: device flow, a user approves at the IdP, the device's polling gets tokens", true, ""],
      [
        "The device publishes to its own topic (MQTT and HTTPS); another device of the user, subscribed over WebSocket, receives both",
        true,
        "",
      ],
      ["Another user's topic is refused: publish (HTTP 403) and subscribe (SUBACK 128)", true, ""],
      ["Unsigned and wrongly signed tokens never reach the authorizer", true, ""],
      ["The OpenAM walkthrough's story: a TV signs in with the enterprise IdP's device flow and gets an HS256 token", true, ""],
      [
        "The TV publishes to its own topic over HTTPS (as the walkthrough does) and MQTT; its listener, over WebSocket, receives both",
        true,
        "",
      ],
      ["One gateway, two stories: each device is refused on the other's topic", true, ""],
      ["An HS256 token signed with another secret is refused by the authorizer", true, ""],
      ["A request the user denies ends in access_denied", true, ""],
      ["A code nobody approves ends in expired_token", true, ""],
      ["Fleet provisioning: an installer signs in with the installers' app and gets a claim for a serial number", true, ""],
      ["The device exchanges the claim over MQTT/TLS: its own certificate, then RegisterThing through the hook", true, ""],
      ["The device connects with its own certificate and publishes on its own topic; another device's is refused", true, ""],
      ["The same claim again is rejected (one claim, one device); a token without iot/provision is refused", true, ""],
    ]);
    expect(result.ok).toBe(true);
    expect(lines).toHaveLength(16);
    expect(lines.slice(0, 11).every((l) => l.startsWith("[ ok ] "))).toBe(true);
    expect(lines[15]).toBe("The story holds: 15 steps passed.");
    expect(lines.join("\n")).toMatch(/HS256 token for openamdemo[\s\S]*over HTTPS and MQTT/);
    expect(lines.join("\n")).toMatch(/access_denied[\s\S]*expired_token/);
  });

  it("fails when the story does not hold: a grant on every topic lets the refusal step fail", async () => {
    const lines: string[] = [];
    const everywhere = {
      ...DEMO_SETTINGS,
      grants: [
        { actions: ["iot:Connect"], resources: ["client/{principal}", "client/{principal}-*"] },
        { actions: ["iot:Publish", "iot:Receive"], resources: ["topic/event/*"] },
        { actions: ["iot:Subscribe"], resources: ["topicfilter/event/*"] },
      ],
    };
    const result = await runDemo({ log: (line) => lines.push(line), sandbox: { settings: everywhere } });
    expect(result.ok).toBe(false);
    const refusal = result.steps.find((s) => s.name.startsWith("Another user's topic is refused"));
    expect(refusal).toMatchObject({ ok: false, detail: expect.stringMatching(/answered HTTP 200, not 403/) });
    expect(lines).toContainEqual(expect.stringMatching(/^\[FAIL\] Another user's topic is refused/));
    expect(lines).toContainEqual(expect.stringMatching(/^\[skip\] A code nobody approves/));
    expect(lines.at(-1)).toMatch(/^The story does not hold: \d+ of 15 steps failed\.$/);
  });
});
