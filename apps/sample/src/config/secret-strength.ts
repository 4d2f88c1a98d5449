/** Words that mark a value copied from an example rather than generated. */
const PLACEHOLDER = /change.?me|changeit|example|placeholder|secret|password|passw0rd|replace|your.?(token|secret)|xxxx|test|sample|default|0123456789|abcdef/i;

/** Bits of entropy of a value by its own character frequencies (Shannon): a generous upper bound for a human-made string. */
export function entropyBits(value: string): number {
  const counts = new Map<string, number>();
  for (const c of value) counts.set(c, (counts.get(c) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) perChar -= (n / value.length) * Math.log2(n / value.length);
  return perChar * value.length;
}

/**
 * Why a secret looks like a placeholder rather than a random value, or undefined: an example word in it, or
 * fewer than `minBits` bits by its character frequencies (`openssl rand -base64 32` gives about 150).
 */
export function weakSecretReason(value: string, minBits: number): string | undefined {
  if (PLACEHOLDER.test(value)) return 'looks like a placeholder (it contains an example word)';
  if (entropyBits(value) < minBits) return `looks hand-made (under ${minBits} bits of entropy by its characters)`;
  return undefined;
}
