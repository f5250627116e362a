/**
 * Code generation and user-code handling: the format language, uniformity (a chi-square test on a seeded
 * source, so it cannot flake, and shown to catch modulo bias), rejection sampling, entropy, and the
 * normalisation properties RFC 8628 §6.1 relies on.
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import {
  FORMAT_CLASSES,
  SPECIAL_CHARACTERS,
  alphabetOf,
  cryptoRandom,
  entropyBits,
  formatUserCode,
  generateCode,
  hashSecret,
  joinCredential,
  splitCredential,
  normalizeUserCode,
  unknownFormatLetters,
} from "../../functions/device-grant/codes";
import { type RandomSource } from "../../functions/device-grant/model";

/** Deterministic bytes: SHA-256 in counter mode over a seed. Same seed, same codes, every run. */
function seededRandom(seed: string): RandomSource {
  let counter = 0;
  let pool = Buffer.alloc(0);
  return {
    bytes(n) {
      while (pool.length < n) pool = Buffer.concat([pool, createHash("sha256").update(`${seed}:${counter++}`).digest()]);
      const out = pool.subarray(0, n);
      pool = pool.subarray(n);
      return Buffer.from(out);
    },
  };
}

/** Serves the given bytes, in chunks of whatever size is asked for, then fails the test if asked for more. */
function scriptedRandom(bytes: number[]): RandomSource & { requested: number[] } {
  let offset = 0;
  const requested: number[] = [];
  return {
    requested,
    bytes(n) {
      requested.push(n);
      if (offset >= bytes.length) throw new Error("script exhausted");
      const out = Buffer.from(bytes.slice(offset, offset + n));
      offset += n;
      return out;
    },
  };
}

/** Pearson's chi-square statistic of character counts against the uniform distribution over `alphabet`. */
function chiSquare(text: string, alphabet: string): number {
  const counts = new Map<string, number>([...alphabet].map((ch) => [ch, 0]));
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const expected = text.length / alphabet.length;
  let sum = 0;
  for (const count of counts.values()) sum += (count - expected) ** 2 / expected;
  return sum;
}

/**
 * Upper bound for the chi-square statistic with `df` degrees of freedom at roughly p = 1e-6
 * (Wilson–Hilferty approximation, z = 4.75): generous, yet far below what a modulo bias produces.
 */
function chiSquareBound(df: number): number {
  const z = 4.75;
  return df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
}

const formatArb = fc
  .uniqueArray(fc.constantFrom(...Object.keys(FORMAT_CLASSES)), { minLength: 1, maxLength: 6 })
  .map((letters) => letters.join(""));

describe("the format language", () => {
  it("has the AWS sample's classes, with the 20 RFC 8628 consonants", () => {
    expect(alphabetOf("#")).toBe("0123456789");
    expect(alphabetOf("a")).toBe("abcdefghijklmnopqrstuvwxyz");
    expect(alphabetOf("A")).toBe("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    expect(alphabetOf("b")).toBe("bcdfghjklmnpqrstvwxz");
    expect(alphabetOf("B")).toBe("BCDFGHJKLMNPQRSTVWXZ");
    expect(alphabetOf("!")).toBe(SPECIAL_CHARACTERS);
  });

  it("keeps special characters safe in URLs and forms, and away from what user-code entry ignores", () => {
    for (const ch of SPECIAL_CHARACTERS) {
      expect(encodeURIComponent(ch)).toBe(ch);
      expect(normalizeUserCode(ch)).toBe(ch);
      expect("&=+%#?/\\\"'<> -").not.toContain(ch);
    }
  });

  it("unites classes in format order without repeats", () => {
    expect(alphabetOf("#aA")).toBe("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
    expect(alphabetOf("ab")).toBe(alphabetOf("a"));
    expect(alphabetOf("ba")).toBe("bcdfghjklmnpqrstvwxzaeiouy");
    expect(alphabetOf("##B")).toBe("0123456789BCDFGHJKLMNPQRSTVWXZ");
    fc.assert(
      fc.property(formatArb, (format) => {
        const alphabet = alphabetOf(format);
        expect(new Set(alphabet).size).toBe(alphabet.length);
        expect(new Set(alphabet)).toEqual(new Set([...format].flatMap((l) => [...FORMAT_CLASSES[l]])));
      }),
    );
  });

  it("names unknown letters and refuses them, and refuses an empty format", () => {
    expect(unknownFormatLetters("#xAx?")).toEqual(["x", "?"]);
    expect(unknownFormatLetters("#aAbB!")).toEqual([]);
    expect(() => alphabetOf("#z")).toThrow(/"z"/);
    expect(() => alphabetOf("")).toThrow(/empty/);
  });
});

describe("generateCode", () => {
  it("gives exactly `length` characters, all from the alphabet", () => {
    fc.assert(
      fc.property(formatArb, fc.integer({ min: 1, max: 200 }), fc.string({ minLength: 1 }), (format, length, seed) => {
        const code = generateCode(format, length, seededRandom(seed));
        const alphabet = alphabetOf(format);
        expect(code).toHaveLength(length);
        for (const ch of code) expect(alphabet).toContain(ch);
      }),
    );
  });

  it("uses the CSPRNG by default", () => {
    const a = generateCode("#aA", 64);
    const b = generateCode("#aA", 64, cryptoRandom);
    expect(a).toMatch(/^[0-9a-zA-Z]{64}$/);
    expect(a).not.toBe(b);
  });

  it.each(["#aA", "B", "#", "!", "#aAbB!", "b#"])("draws %s uniformly (chi-square on a seeded source)", (format) => {
    const alphabet = alphabetOf(format);
    const text = generateCode(format, alphabet.length * 500, seededRandom(`uniform-${format}`));
    expect(chiSquare(text, alphabet)).toBeLessThan(chiSquareBound(alphabet.length - 1));
  });

  it("has a uniformity check that catches plain modulo bias", () => {
    // What generateCode would give without rejection: byte % 62 favours the first 8 characters (5/256 vs 4/256).
    const alphabet = alphabetOf("#aA");
    const bytes = seededRandom("biased").bytes(alphabet.length * 500);
    const biased = [...bytes].map((b) => alphabet[b % alphabet.length]).join("");
    expect(chiSquare(biased, alphabet)).toBeGreaterThan(chiSquareBound(alphabet.length - 1));
  });

  it("rejects exactly the bytes at or above the largest multiple of the alphabet size", () => {
    // B has 20 characters: 240 is the largest multiple of 20 up to 256, so bytes 240-255 are skipped.
    const alphabet = alphabetOf("B");
    const random = scriptedRandom([255, 240, 0, 239, 20, 241, 19, 40, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(generateCode("B", 5, random)).toBe([0, 19, 0, 19, 0].map((i) => alphabet[i]).join(""));
  });

  it("matches a reference rejection sampler for any byte stream and any alphabet size", () => {
    fc.assert(
      fc.property(
        formatArb,
        fc.integer({ min: 1, max: 40 }),
        fc.uint8Array({ minLength: 2048, maxLength: 2048 }),
        (format, length, bytes) => {
          const alphabet = alphabetOf(format);
          const limit = Math.floor(256 / alphabet.length) * alphabet.length;
          const usable = [...bytes].filter((b) => b < limit);
          fc.pre(usable.length >= length);
          // Served in arbitrary chunk sizes, the stream must still be consumed in order.
          const expected = usable
            .slice(0, length)
            .map((b) => alphabet[b % alphabet.length])
            .join("");
          expect(generateCode(format, length, scriptedRandom([...bytes]))).toBe(expected);
        },
      ),
    );
  });

  it("asks for more bytes when a draw was mostly rejected", () => {
    const random = scriptedRandom([...Array<number>(12).fill(255), ...Array<number>(100).fill(7)]);
    expect(generateCode("B", 8, random)).toBe("K".repeat(8));
    expect(random.requested.length).toBeGreaterThan(1);
  });

  it("fails instead of hanging on a source that never yields a usable byte", () => {
    const stuck: RandomSource = { bytes: (n) => Buffer.alloc(n, 255) };
    expect(() => generateCode("B", 8, stuck)).toThrow(/unusable/);
  });

  it("refuses lengths that are not positive integers", () => {
    for (const length of [0, -1, 1.5, Number.NaN]) expect(() => generateCode("B", length)).toThrow(RangeError);
  });
});

describe("entropyBits", () => {
  it("computes length × log2(alphabet)", () => {
    expect(entropyBits("B", 8)).toBeCloseTo(34.58, 2);
    expect(entropyBits("#aA", 64)).toBeCloseTo(381.07, 2);
    expect(entropyBits("#aA", 16)).toBeCloseTo(95.27, 2);
    expect(entropyBits("#", 6)).toBeCloseTo(19.93, 2);
  });

  it("folds case for case-insensitive matching", () => {
    expect(entropyBits("aA", 8, { caseInsensitive: true })).toBeCloseTo(8 * Math.log2(26), 10);
    expect(entropyBits("bB", 8, { caseInsensitive: true })).toBeCloseTo(entropyBits("B", 8), 10);
    expect(entropyBits("aB", 8, { caseInsensitive: true })).toBeCloseTo(8 * Math.log2(26), 10);
    expect(entropyBits("#aA", 10, { caseInsensitive: true })).toBeCloseTo(10 * Math.log2(36), 10);
    expect(entropyBits("B!", 8, { caseInsensitive: true })).toBeCloseTo(entropyBits("B!", 8), 10);
  });
});

describe("user codes", () => {
  const userCodeArb = fc.string({ unit: fc.constantFrom(...alphabetOf("#B!")), minLength: 1, maxLength: 16 });
  const separatorArb = fc.constantFrom("", "", "-", " ", "  ", "\t", "\u2013", "\u00a0", "\u3000", "\n");

  it("normalises what people type", () => {
    expect(normalizeUserCode("bcdf-ghjk")).toBe("BCDFGHJK");
    expect(normalizeUserCode("  BcDf ghJK\n")).toBe("BCDFGHJK");
    expect(normalizeUserCode("ＢＣＤＦ－ＧＨＪＫ")).toBe("BCDFGHJK"); // full-width, as some phone keyboards type
    expect(normalizeUserCode("BCDF\u2014GHJK")).toBe("BCDFGHJK"); // an em dash a word processor made of "-"
    expect(normalizeUserCode("")).toBe("");
  });

  it("is idempotent on any input", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (input) => {
        const once = normalizeUserCode(input);
        expect(normalizeUserCode(once)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });

  it("ignores case, dashes and whitespace", () => {
    fc.assert(
      fc.property(
        userCodeArb,
        fc.array(separatorArb, { minLength: 20, maxLength: 20 }),
        fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
        (code, seps, lower) => {
          const typed = [...code].map((ch, i) => (lower[i] ? ch.toLowerCase() : ch) + seps[i]).join("");
          expect(normalizeUserCode(seps[19] + typed)).toBe(normalizeUserCode(code));
          expect(normalizeUserCode(code)).toBe(code.toUpperCase());
        },
      ),
    );
  });

  it("formats with the mask and reads back through normalisation", () => {
    expect(formatUserCode("BCDFGHJK", "####-####")).toBe("BCDF-GHJK");
    expect(formatUserCode("BCDFGHJKL", "### ### ###")).toBe("BCD FGH JKL");
    const maskFor = (length: number, group: number, sep: string) =>
      Array.from({ length: Math.ceil(length / group) }, (_, i) => "#".repeat(Math.min(group, length - i * group))).join(sep);
    fc.assert(
      fc.property(userCodeArb, fc.integer({ min: 1, max: 6 }), fc.constantFrom("-", " ", " - "), (code, group, sep) => {
        const shown = formatUserCode(code, maskFor(code.length, group, sep));
        expect(normalizeUserCode(shown)).toBe(code);
      }),
    );
  });

  it("refuses a mask whose slots do not match the code", () => {
    expect(() => formatUserCode("BCDFGHJK", "###-####")).toThrow(/7 # slot\(s\) for a 8-character code/);
    expect(() => formatUserCode("BCD", "####")).toThrow(RangeError);
  });
});

describe("hashSecret", () => {
  it("is SHA-256 in lower-case hex", () => {
    expect(hashSecret("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hashSecret(generateCode("#aA", 64))).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("credentials that name their request", () => {
  it("join a user code and a secret with a dash, and split back at the first dash whatever the secret holds", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("B", "#B", "B!", "#"),
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom("#aA", "!", "#aA!", "b"),
        (userFormat, length, secretFormat) => {
          const userCode = normalizeUserCode(generateCode(userFormat, length));
          const secret = generateCode(secretFormat, 40);
          expect(splitCredential(joinCredential(userCode, secret))).toEqual({ userCode, secret });
        },
      ),
    );
    // A state's secret is base64url, which has dashes of its own: only the first one splits.
    expect(splitCredential("BCDFGHJK-ab-c_d")).toEqual({ userCode: "BCDFGHJK", secret: "ab-c_d" });
  });

  it("refuse what cannot be one: no dash, an empty part, a key that is not a normalised code, an over-long key", () => {
    for (const value of ["nodash", "-secret", "BCDF-", "bcdf-secret", "BC DF-secret", "ＢＣ-secret", `${"B".repeat(65)}-secret`, ""]) {
      expect(splitCredential(value)).toBeUndefined();
    }
  });
});
